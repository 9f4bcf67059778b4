// The store actor: owns the process's one database connection. Every other
// actor reaches the database only through it. It runs detached (blocking
// SQLite work on its own thread) and groups writes that arrive together
// into one transaction (group commit), so concurrent clients share commits.
#pragma once

#include <functional>
#include <memory>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/expected.hpp>
#include <caf/typed_actor.hpp>

#include "actors/type_ids.hpp"
#include "storage/job.hpp"

namespace jobd {

/// Where the result of an enqueue goes when the caller is not an actor (an
/// HTTP session): a function the store actor calls on its own thread once
/// the write's transaction committed or failed, so no actor or scheduler
/// hop sits between the commit and the caller. Called exactly once: with
/// the stored jobs, with the write's error, or with errc::shutting_down if
/// the message is dropped unread (the store actor ended). Copies share one
/// call. Local only: never serialised.
class enqueue_reply {
public:
  using fn_type = std::function<void(caf::expected<std::vector<job>>)>;
  enqueue_reply() = default;
  explicit enqueue_reply(fn_type fn);
  /// Calls the function unless it was called before.
  void operator()(caf::expected<std::vector<job>> res) const;

private:
  struct once;
  std::shared_ptr<once> once_;
};

/// Where changes go when the listener is not an actor (the HTTP server's
/// live updates and metrics): a function the store actor calls on its own
/// thread after each commit, once per changed job, so no thread is woken
/// for it. It must be quick and must not block. Local only.
struct change_observer {
  std::function<void(const job&)> fn;
};

/// Where the change feed goes (job_store::changes: the changes of every
/// process, in commit order): the HTTP server's live updates. The store
/// actor reads the feed only while `wanted` says so (an SSE stream is
/// open), right after its own commits and every store_actor_config::
/// feed_poll_ms otherwise, and calls `fn` on its own thread with each
/// page; it must be quick and must not block. Local only.
struct feed_observer {
  /// Whether anyone reads the feed now. Called on the store's thread.
  std::function<bool()> wanted;
  /// A page of changes, in commit order. A page with `gap` set means
  /// changes were missed (the store fell over tombstone_keep_ms behind):
  /// a mirror of the jobs must reload.
  std::function<void(const change_page&)> fn;
};

/// A live stream joining the change feed (an SSE stream opening), handled
/// on the store's thread so that it misses nothing between its replay and
/// its first live page:
/// 1. if `after` >= 0 (the stream resumes: SSE Last-Event-ID), `replay`
///    gets the changes committed after it, page by page; a page with
///    `gap` set instead if they cannot all be given (further back than
///    the feed keeps, more than 10,000, `after` ahead of the feed, or the
///    read failed): the stream must reload;
/// 2. then `join` is called: from here on the stream gets the live pages
///    (it registers with the feed's observer); changes up to `join`'s
///    argument it already has from the replay.
/// Local only.
struct feed_resume {
  int64_t after = -1;
  std::function<void(const change_page&)> replay;
  std::function<void(int64_t replayed_through)> join;
};

using store_actor = caf::typed_actor<
  // Stores new jobs (one transaction per message, shared with other writes
  // in flight) and wakes the registered actors. Errors: invalid, busy, io.
  caf::replies_to<enqueue_atom, std::vector<new_job>>::with<std::vector<job>>,
  // The same, answered by calling the reply instead of a response message
  // (see enqueue_reply): the HTTP API's enqueue path.
  caf::reacts_to<enqueue_atom, std::vector<new_job>, enqueue_reply>,
  // Claims up to N due jobs for this process (its worker id and lease).
  caf::replies_to<claim_atom, int32_t>::with<std::vector<job>>,
  // Completes an attempt with a JSON result; false if the attempt was stale.
  caf::replies_to<complete_atom, lease_ref, std::string>::with<bool>,
  // Completes several attempts in one write; replies how many were applied
  // (stale ones are skipped, as above). Errors: busy, io (none applied).
  caf::replies_to<complete_atom, std::vector<completion>>::with<int64_t>,
  // Records a failure: (ref, error, permanent, retry delay ms).
  caf::replies_to<fail_atom, lease_ref, std::string, bool,
                  ms_t>::with<fail_outcome>,
  // Renews the leases of running attempts; replies with the ids renewed.
  caf::replies_to<heartbeat_atom,
                  std::vector<lease_ref>>::with<std::vector<std::string>>,
  // External workers (POST /api/worker/*): the same operations under the
  // external worker's own id, each fenced by id + attempt + worker.
  // Fetch: claims up to N due jobs of the types given for `worker` with a
  // lease of lease_ms (0: this process's lease; job_store::claim_types).
  caf::replies_to<claim_atom, std::string, std::vector<std::string>, int32_t,
                  ms_t>::with<std::vector<job>>,
  // Records that external workers called (job_store::see_workers: their
  // lastSeenAt, host and types), in the next write batch; replies true.
  // Errors: invalid (names the field; nothing written).
  caf::replies_to<workers_atom, std::vector<worker_info>>::with<bool>,
  // The external workers seen lately, each with the jobs it holds (read
  // here only without a read pool; job_store::workers).
  caf::replies_to<workers_atom>::with<worker_list>,
  // Completes `worker`'s attempt; false if it no longer holds it.
  caf::replies_to<complete_atom, std::string, lease_ref,
                  std::string>::with<bool>,
  // Completes several of `worker`'s attempts in one transaction; replies
  // with the ids completed (the others it no longer held).
  caf::replies_to<complete_atom, std::string,
                  std::vector<completion>>::with<std::vector<std::string>>,
  // Records `worker`'s failed attempt (worker, ref, error, permanent,
  // retry_after_ms): retried after max(the backoff for its retry count,
  // retry_after_ms) unless permanent or out of retries; applied = false if
  // it no longer holds the attempt.
  caf::replies_to<fail_atom, std::string, lease_ref, std::string, bool,
                  ms_t>::with<fail_outcome>,
  // Renews `worker`'s leases to now + lease_ms (0: this process's lease);
  // replies with the ids
  // renewed (the others were lost: cancelled, settled, or taken).
  caf::replies_to<heartbeat_atom, std::string, std::vector<lease_ref>,
                  ms_t>::with<std::vector<std::string>>,
  // Stores the progress of running attempts (the pool's latest reports,
  // sent at most once per worker.progress_interval); replies with the ids
  // written (attempts this process still holds). A change: live updates
  // and the change feed show it.
  caf::replies_to<progress_atom, std::vector<progress_update>>::with<
    std::vector<std::string>>,
  // Hands unfinished attempts back to PENDING (shutdown); replies the count.
  caf::replies_to<release_atom, std::vector<lease_ref>>::with<int64_t>,
  // Rescues jobs whose lease expired; replies how many.
  caf::replies_to<rescue_atom>::with<int64_t>,
  // One job by id. Errors: not_found.
  caf::replies_to<caf::get_atom, std::string>::with<job>,
  // A job's attempts, oldest first (the newest max_attempts_listed; read
  // here only without a read pool). Errors: not_found.
  caf::replies_to<attempts_atom, std::string>::with<attempt_history>,
  // A page of jobs, newest first. Errors: invalid (names the field).
  caf::replies_to<list_atom, job_filter>::with<job_page>,
  // Puts a FAILED job back to PENDING. Errors: not_found, conflict.
  caf::replies_to<retry_atom, std::string>::with<job>,
  // Deletes a job. Errors: not_found, conflict (PROCESSING).
  caf::replies_to<caf::delete_atom, std::string>::with<bool>,
  // Applies a manual patch. Errors: not_found, conflict, invalid. A job
  // left not PROCESSING is announced to the settle listeners.
  caf::replies_to<caf::update_atom, std::string, job_patch>::with<job>,
  // Cancels a job (id, note: cancel_note's who and why): PENDING or
  // PROCESSING -> CANCELLED; a running attempt is announced to the settle
  // listeners, so this process's pool stops it at once (other processes'
  // pools at their next heartbeat). Errors: not_found, conflict.
  caf::replies_to<cancel_atom, std::string, std::string>::with<job>,
  // Pauses a job type (type, note: who and why) for every process: no
  // claim takes its jobs until it is resumed; claimed ones finish. A
  // paused type stays as it was. Errors: invalid (names the field).
  caf::replies_to<pause_atom, std::string, std::string>::with<type_pause>,
  // Resumes a job type; replies whether it was paused. Wakes the
  // scheduler and the other processes: its jobs may be due.
  caf::replies_to<resume_atom, std::string>::with<bool>,
  // Applies a bulk action to the jobs matching a filter (job_store::bulk:
  // up to max, bulk_batch_rows per transaction), one transaction per turn
  // with the other messages served in between; replies the counts (its
  // jobs list empty). After each transaction: a retry wakes the scheduler
  // and the other processes (jobs are due); each cancelled job that has
  // run is announced to the settle listeners, so this process's pool stops
  // it at once, and other processes are told (SQLite: wake_jobs_settled;
  // PostgreSQL: NOTIFY jobd_settled from the update itself); live updates
  // get the retried and cancelled jobs. Errors: invalid (names the field;
  // nothing done), busy, io (what earlier transactions did stays done).
  caf::replies_to<bulk_atom, bulk_request>::with<bulk_result>,
  // Internal: the next transaction of the bulk call in progress.
  caf::reacts_to<bulk_atom>,
  // Every recurring schedule, by name.
  caf::replies_to<schedules_atom>::with<std::vector<schedule>>,
  // Creates or redefines a schedule (job_store::put_schedule); replies it
  // as stored. Errors: invalid (names the field).
  caf::replies_to<schedules_atom, schedule>::with<schedule>,
  // Deletes a schedule; replies whether it existed.
  caf::replies_to<schedules_atom, caf::delete_atom, std::string>::with<bool>,
  // Pauses (true) or resumes (false) a schedule; replies it as stored.
  // Errors: not_found.
  caf::replies_to<schedules_atom, pause_atom, std::string, bool>::with<
    schedule>,
  // Registers an actor to receive (wake_atom) after a schedule is created,
  // redefined, resumed or deleted through this process: the schedule
  // actor, which looks again at once. Removed when it terminates.
  caf::reacts_to<schedules_atom, wake_listener>,
  // Creates the job of a schedule's run at a time, once across processes
  // (job_store::fire_schedule: name, run time, by hand); replies the job
  // created, or none. Wakes the scheduler and the other processes.
  caf::replies_to<schedules_atom, run_atom, std::string, ms_t, bool>::with<
    std::vector<job>>,
  // Counts by status and type, and the paused types.
  caf::replies_to<stats_atom>::with<job_counts>,
  // Deletes finished jobs older than a time, in batches; replies the count.
  caf::replies_to<prune_atom, ms_t, int32_t>::with<int64_t>,
  // Registers an actor to receive (wake_atom) after jobs are enqueued,
  // retried or released, i.e. whenever work may have become due; removed
  // when it terminates.
  caf::reacts_to<wake_atom, wake_listener>,
  // Registers an actor to receive (changed_atom, job) after each change
  // this process makes (for live updates); removed when it terminates.
  caf::reacts_to<caf::subscribe_atom, change_listener>,
  // Registers an actor to receive (cancel_atom, ref) after this process
  // cancelled or settled a job by hand: the pool, which stops the attempt
  // if it runs it. Removed when it terminates.
  caf::reacts_to<caf::subscribe_atom, settle_listener>,
  // The same for a function (see change_observer), called for as long as
  // the store actor runs.
  caf::reacts_to<caf::subscribe_atom, change_observer>,
  // Registers a change feed observer (see feed_observer), for as long as
  // the store actor runs.
  caf::reacts_to<caf::subscribe_atom, feed_observer>,
  // Internal timer: reads the change feed if an observer wants it, and
  // keeps reading every feed_poll_ms while one does.
  caf::reacts_to<feed_atom>,
  // A stream joins the change feed (see feed_resume).
  caf::reacts_to<feed_atom, feed_resume>,
  // Internal: commits the writes queued so far in one transaction.
  caf::reacts_to<flush_atom>,
  // Storage health: replies (reason, free bytes). The reason is "" when
  // healthy, else one line: a write failed within storage.
  // write_error_window, or free space is under storage.min_free_bytes.
  // Free bytes is -1 when unknown (PostgreSQL). Errors: the database
  // cannot be read (busy, unavailable, io).
  caf::replies_to<health_atom>::with<std::string, int64_t>,
  // Internal timer: checkpoint the WAL if no write came since write number
  // N (the store has been idle for storage.checkpoint_idle).
  caf::reacts_to<checkpoint_atom, uint64_t>>;

} // namespace jobd

// A function travels only between threads of this process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobd::enqueue_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobd::change_observer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobd::feed_observer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobd::feed_resume)
