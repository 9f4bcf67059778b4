// The job store: the one interface every backend (SQLite, PostgreSQL)
// implements, and the only code that touches the database.
//
// Delivery promise (enforced here, relied on everywhere else):
// - At least once. A job is claimed with a lease (locked_by, lease_expires_at)
//   and a new attempt number. If its worker dies, the lease runs out and
//   rescue_expired() hands the job back (counting a retry), so it runs again.
//   It is worse to lose a job than to run it twice.
// - Never twice at once. A claim is one atomic statement, so one PENDING job
//   goes to one claimer. complete/fail/heartbeat/release take effect only for
//   the holder of the current attempt: a worker whose lease was taken away
//   changes nothing (fencing).
// - Durable on return. enqueue() returns after the commit; with
//   synchronous=FULL (the SQLite default) that survives power loss.
//
// Thread safety: a store is used by one thread at a time (the store actor).
// Every method is blocking.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/error.hpp>
#include <caf/expected.hpp>

#include "storage/clock.hpp"
#include "storage/errors.hpp"
#include "storage/job.hpp"

namespace jobd {

/// The largest page list() returns.
constexpr int32_t max_list_limit = 500;

/// How long the record of a deleted job (a tombstone) is kept for the
/// change feed: prune() drops older ones. A reader further behind gets
/// change_page::gap.
constexpr ms_t tombstone_keep_ms = 600'000;

/// The largest maxRetries a job may ask for.
constexpr int32_t max_max_retries = 100;

class job_store {
public:
  virtual ~job_store() = default;

  /// Stores new jobs as PENDING, all in one transaction, and returns them as
  /// stored (ids, timestamps). scheduled_for 0 means now.
  /// Errors: invalid (empty type, maxRetries outside 0..100; nothing stored),
  /// busy, io.
  virtual caf::expected<std::vector<job>>
  enqueue(const std::vector<new_job>& jobs) = 0;

  /// Claims up to `limit` due PENDING jobs (scheduled_for <= now) for
  /// `worker`, highest priority first, then earliest scheduled_for, then
  /// oldest; each becomes PROCESSING with attempt+1, started_at = now and a
  /// lease until now + lease_ms. Returns them in that order (may be empty).
  /// Jobs scheduled in the future are never claimed.
  /// Errors: busy, io (nothing claimed).
  virtual caf::expected<std::vector<job>>
  claim(const std::string& worker, int32_t limit, ms_t lease_ms) = 0;

  /// Claims as claim() does, but only due jobs of `types` (each a type
  /// name; empty claims nothing), paused types excepted, whether or not
  /// they are marked external: how external workers fetch (POST
  /// /api/worker/fetch) their jobs, `worker` being the external worker's
  /// id. Errors: busy, io (nothing claimed).
  virtual caf::expected<std::vector<job>>
  claim_types(const std::string& worker, const std::vector<std::string>& types,
              int32_t limit, ms_t lease_ms)
    = 0;

  /// Marks the job types external workers serve (`external`; handler =
  /// external in the config): claim() leaves their jobs alone, in every
  /// process, from the commit on. Types this process runs itself
  /// (`in_process`) lose such a mark, so a type moved back into jobd runs
  /// again. Persisted ("JobTypeExternal"); every process of a deployment
  /// is meant to declare the same. Errors: invalid (a type name empty, over
  /// 100 bytes or with control characters), busy, io (nothing changed).
  virtual caf::error declare_types(const std::vector<std::string>& external,
                                   const std::vector<std::string>& in_process)
    = 0;

  /// The types marked external, by name. Errors: busy, io.
  virtual caf::expected<std::vector<std::string>> external_types() = 0;

  /// Records that external workers called, in one transaction: each one's
  /// lastSeenAt becomes now; a new one gets firstSeenAt = now; a host or
  /// types given (not empty) replace the stored ones. Workers not seen for
  /// worker_forget_ms are forgotten in the same transaction. Errors:
  /// invalid (validate_worker_seen names the field; nothing written),
  /// busy, io (nothing written).
  virtual caf::error see_workers(const std::vector<worker_info>& seen) = 0;

  /// The external workers seen within worker_forget_ms, most recently seen
  /// first (at most max_workers_listed), each with the jobs it holds now
  /// and whether it is online, as of the database's now. Errors: busy, io.
  virtual caf::expected<worker_list> workers() = 0;

  /// Marks the attempt COMPLETED with `result_json` (JSON text).
  /// Returns false, changing nothing, if `worker` no longer holds this
  /// attempt (lease lost, job released, deleted). Errors: busy, io.
  virtual caf::expected<bool> complete(const lease_ref& ref,
                                       const std::string& worker,
                                       const std::string& result_json) = 0;

  /// Completes several attempts, each as complete() does, in one
  /// transaction (PostgreSQL: one statement, so one network round trip
  /// however many). Returns the ids applied, in the order given; stale
  /// attempts are skipped. Errors: busy, io (none applied). Default:
  /// complete() for each inside batch().
  virtual caf::expected<std::vector<std::string>>
  complete_all(const std::string& worker, const std::vector<completion>& done);

  /// Records a failed attempt with `error`. If `permanent` or the job has
  /// used its retries (retry_count >= max_retries) it becomes FAILED;
  /// otherwise PENDING again with retry_count+1 and scheduled_for = now +
  /// retry_delay_ms. Returns applied=false, changing nothing, for a stale
  /// attempt (see complete). Errors: busy, io.
  virtual caf::expected<fail_outcome>
  fail(const lease_ref& ref, const std::string& worker,
       const std::string& error, bool permanent, ms_t retry_delay_ms)
    = 0;

  /// Extends the leases of the attempts `worker` still holds to now +
  /// lease_ms. Returns the ids it renewed; the others were lost.
  /// Errors: busy, io.
  virtual caf::expected<std::vector<std::string>>
  heartbeat(const std::string& worker, const std::vector<lease_ref>& refs,
            ms_t lease_ms)
    = 0;

  /// Stores the progress of running attempts (each its handler's latest
  /// report, cleaned by progress_text/progress_fraction): fraction, message
  /// and progressAt = updatedAt = now, all in one transaction. It is a
  /// change (the change feed and the events show it), unlike a heartbeat.
  /// Only attempts `worker` still holds are written, as for heartbeat;
  /// returns the ids written, in the order given. Errors: busy, io
  /// (nothing written).
  virtual caf::expected<std::vector<std::string>>
  progress(const std::string& worker,
           const std::vector<progress_update>& updates)
    = 0;

  /// Hands unfinished attempts back (graceful shutdown): PENDING, due now,
  /// retry_count unchanged, lease cleared. Stale refs are skipped. Returns
  /// how many were released. Errors: busy, io.
  virtual caf::expected<int64_t>
  release(const std::string& worker, const std::vector<lease_ref>& refs)
    = 0;

  /// Rescues PROCESSING jobs whose lease ran out (their worker died or hung):
  /// each becomes PENDING, due now, with retry_count+1 and error "lease
  /// expired ..." (naming the worker and attempt), or FAILED if it had used
  /// its retries. Returns how many it changed; `rescued`, when given, gets
  /// each of them as it is now (for the log). Errors: busy, io.
  virtual caf::expected<int64_t>
  rescue_expired(std::vector<job>* rescued = nullptr) = 0;

  /// The job with this id. Errors: not_found, busy, io.
  virtual caf::expected<job> get(const std::string& id) = 0;

  /// Job `id`'s attempts, oldest first: the newest `limit` (1..
  /// max_attempts_listed; truncated says older ones exist), each with its
  /// worker, start, end, outcome and error. An attempt that ended other
  /// than by completing was recorded in the transaction that ended it
  /// (fail, rescue_expired, release, and a cancel or other change by hand
  /// of a running job); the running attempt of a PROCESSING job and the
  /// completing attempt of a COMPLETED one are read from the job's row
  /// (assemble_history). Deleting a job deletes its attempts. Errors:
  /// not_found, busy, io.
  virtual caf::expected<attempt_history>
  attempts(const std::string& id, int32_t limit = max_attempts_listed) = 0;

  /// The job with this id, as get(), and inside batch() locked against
  /// other writers until the batch ends, so a decision made on what it
  /// reads still holds when the batch writes the job (bulk() re-reads each
  /// job so). Errors: not_found, busy, io. Default: get() (SQLite: a
  /// batch holds the database's write lock already).
  virtual caf::expected<job> get_for_update(const std::string& id) {
    return get(id);
  }

  /// Jobs matching the filter, newest first, at most filter.limit (1..500),
  /// continuing after filter.cursor. Errors: invalid (bad status, limit or
  /// cursor; names the field), busy, io.
  virtual caf::expected<job_page> list(const job_filter& filter) = 0;

  /// Puts a FAILED job back to PENDING, due now, with retry_count 0 and the
  /// error cleared. Errors: not_found; conflict (the job is not FAILED).
  virtual caf::expected<job> retry(const std::string& id) = 0;

  /// Deletes a job. Errors: not_found; conflict (PROCESSING: its worker is
  /// still running it).
  virtual caf::error remove(const std::string& id) = 0;

  /// Applies a patch by hand. Allowed status changes: PENDING<->FAILED,
  /// PENDING/FAILED -> COMPLETED, COMPLETED -> PENDING (run again), and
  /// PROCESSING -> COMPLETED/FAILED (an operator settles a job; its worker's
  /// later outcome is then fenced off). Priority, scheduledFor, maxRetries
  /// change only on a job that is not PROCESSING.
  /// Errors: not_found; conflict (transition not allowed; names both states);
  /// invalid (names the field).
  virtual caf::expected<job> update(const std::string& id,
                                    const job_patch& patch)
    = 0;

  /// Cancels a job by hand. A PENDING or PROCESSING job becomes CANCELLED
  /// at once: completedAt = now, error = `note` (cancel_note: who and why),
  /// its lease taken away. A running attempt is fenced off from then on,
  /// like one settled by update(): its worker's outcome changes nothing,
  /// and its next heartbeat renews nothing, which stops the handler (the
  /// worker of this process is told at once: actors/store_actor.hpp).
  /// CANCELLED is final: never claimed, retried or rescued; it lets go of
  /// its unique key; retention prunes it like a finished job.
  /// Errors: not_found; conflict (not PENDING or PROCESSING). Default:
  /// update() with that status and error.
  virtual caf::expected<job> cancel(const std::string& id,
                                    const std::string& note);

  /// Applies one action to the jobs matching `r` (bulk_request: status,
  /// type, finished_before), status by status in bulk_statuses' order and
  /// newest first within each, at most r.max of them, each
  /// exactly as the single operation does it: retry() (FAILED -> PENDING;
  /// one whose unique key another job holds is skipped), cancel() with
  /// r.note (a running attempt is fenced off; the caller tells its worker,
  /// see actors/store_actor.hpp), remove() (finished jobs only). The jobs
  /// are found by list()'s reads outside any transaction, then changed
  /// bulk_batch_rows to a transaction, each re-read inside it
  /// (get_for_update) and skipped
  /// if it no longer matches; so no transaction holds the write lock for
  /// long, and JobCount stays exact as for every single change. Returns
  /// the counts (matched = changed + skipped), whether more jobs match
  /// than max allowed, and the retried or cancelled jobs as they are now.
  /// Errors: invalid (validate_bulk: names the field; nothing changed);
  /// busy, io (the failing batch changed nothing, earlier batches stay
  /// committed: call again to go on). Default: as said, over list(),
  /// get_for_update(), retry(), cancel() and remove() inside batch().
  virtual caf::expected<bulk_result> bulk(const bulk_request& r);

  /// One transaction of bulk(), for a caller that does other work between
  /// them (the store actor: its other writes get in between): reads on
  /// from `at`, acts on up to bulk_batch_rows matching jobs in one
  /// transaction and adds what it did to `out` (counts, jobs); sets
  /// at.done once nothing is left or max is reached (out.more then says
  /// whether others match). bulk() is this until done. Errors: as bulk();
  /// `at` and `out` then hold what the earlier steps did.
  caf::error bulk_step(const bulk_request& r, bulk_progress& at,
                       bulk_result& out);

  /// Pauses a job type in the database, for every process and across
  /// restarts: claim() takes none of its jobs until resume_type(). Jobs
  /// already claimed (running, or prefetched by a worker) finish; its jobs
  /// can still be enqueued. Pausing a paused type changes nothing and
  /// returns the pause as it was. Returns the pause as stored.
  /// Errors: invalid (validate_pause: names the field), busy, io.
  virtual caf::expected<type_pause> pause_type(const std::string& type,
                                               const std::string& note)
    = 0;

  /// Lets claim() take a paused type's jobs again. Returns whether it was
  /// paused (false: nothing changed). Errors: busy, io.
  virtual caf::expected<bool> resume_type(const std::string& type) = 0;

  // -- recurring schedules ----------------------------------------------------

  /// Creates a schedule, or redefines the one of that name (cron, zone, job,
  /// missed-run policy, source), keeping its pause, last run and creation
  /// time. Returns it as stored. Errors: invalid (validate_schedule names
  /// the field; nothing stored), busy, io.
  virtual caf::expected<schedule> put_schedule(const schedule& s) = 0;

  /// Every schedule, by name. Errors: busy, io.
  virtual caf::expected<std::vector<schedule>> schedules() = 0;

  /// Deletes a schedule; the jobs its runs created stay. Returns whether it
  /// existed. Errors: busy, io.
  virtual caf::expected<bool> remove_schedule(const std::string& name) = 0;

  /// Pauses (no run is created until resumed) or resumes a schedule.
  /// Returns it as stored. Errors: not_found, busy, io.
  virtual caf::expected<schedule> pause_schedule(const std::string& name,
                                                 bool paused) = 0;

  /// Creates the job of schedule `name`'s run at `run_at` (ms), at most once
  /// however many processes ask: the run's "ScheduleRun" row (primary key
  /// schedule + runAt) and the job are written in one transaction. The job
  /// is the schedule's type, payload, priority and maxRetries as stored
  /// now, due at run_at. A cron run moves the schedule's last run forward;
  /// `by_hand` (run now: run_at is the time asked) leaves it and also runs
  /// a paused schedule. Returns the job created, or nothing when the run
  /// was created before, the schedule is gone, or (cron runs) paused.
  /// Errors: busy, io.
  virtual caf::expected<std::vector<job>>
  fire_schedule(const std::string& name, ms_t run_at, bool by_hand) = 0;

  /// Counts by (status, type), and the paused types. Errors: busy, io.
  virtual caf::expected<job_counts> counts() = 0;

  /// The position of the newest committed change in the database's change
  /// history (0 for a new database): changes(position) returns only what
  /// is committed later. Errors: busy, io.
  virtual caf::expected<int64_t> change_position() = 0;

  /// The change feed: every job changed (enqueued, claimed, finished,
  /// retried, released, rescued, updated) or deleted (by hand, by
  /// retention) by a transaction committed after position `after`, by any
  /// process, in commit order, each job once and as it is now (a job that
  /// changed twice since `after` appears once, at its later position).
  /// A heartbeat is not a change. At most `limit` entries (1..500) unless
  /// one transaction changed more: a page never splits a transaction.
  /// Errors: invalid (limit), busy, io.
  virtual caf::expected<change_page> changes(int64_t after, int32_t limit)
    = 0;

  /// Runs `fn`, which calls other methods of this store, in one
  /// transaction, so many small writes share one commit (group commit).
  /// Returns fn's error, or the commit's; on any error nothing fn did is
  /// kept, and the results the inner calls returned must be discarded.
  virtual caf::error batch(const std::function<caf::error()>& fn) = 0;

  /// Deletes up to `batch` COMPLETED/FAILED jobs whose completed_at is older
  /// than `older_than` (none when batch <= 0). Returns how many it deleted.
  /// Also drops the change feed's records of jobs deleted over
  /// tombstone_keep_ms ago. Errors: busy, io.
  virtual caf::expected<int64_t> prune(ms_t older_than, int32_t batch) = 0;

  // -- maintenance (defaults for backends that need none) --------------------

  /// Copies the write-ahead log into the database and truncates it to zero
  /// bytes (SQLite `wal_checkpoint(TRUNCATE)`), so an idle or stopped
  /// process leaves no WAL behind. Another process reading or writing the
  /// file makes it a no-op (not an error). Must not be called inside
  /// batch(). Errors: io, full. Default: nothing to do.
  virtual caf::error checkpoint() { return {}; }

  /// Bytes available to the database on its file system (statvfs of the
  /// file's directory), or -1 when unknown (a database server). Default -1.
  virtual int64_t free_bytes() { return -1; }
};

/// The declarations a backend writes to implement the job operations of
/// job_store (enqueue .. prune): one list, so the backends' headers do not
/// repeat it. batch, checkpoint and free_bytes each backend declares with
/// its own notes.
#define JOBD_JOB_STORE_OPERATIONS                                             \
  caf::expected<std::vector<job>> enqueue(const std::vector<new_job>& jobs)   \
    override;                                                                 \
  caf::expected<std::vector<job>> claim(const std::string& worker,            \
                                        int32_t limit, ms_t lease_ms)         \
    override;                                                                 \
  caf::expected<std::vector<job>> claim_types(                                \
    const std::string& worker, const std::vector<std::string>& types,         \
    int32_t limit, ms_t lease_ms) override;                                   \
  caf::error declare_types(const std::vector<std::string>& external,          \
                           const std::vector<std::string>& in_process)        \
    override;                                                                 \
  caf::expected<std::vector<std::string>> external_types() override;          \
  caf::error see_workers(const std::vector<worker_info>& seen) override;     \
  caf::expected<worker_list> workers() override;                              \
  caf::expected<bool> complete(const lease_ref& ref,                          \
                               const std::string& worker,                     \
                               const std::string& result_json) override;      \
  caf::expected<fail_outcome> fail(const lease_ref& ref,                      \
                                   const std::string& worker,                 \
                                   const std::string& error, bool permanent,  \
                                   ms_t retry_delay_ms) override;             \
  caf::expected<std::vector<std::string>> heartbeat(                          \
    const std::string& worker, const std::vector<lease_ref>& refs,            \
    ms_t lease_ms) override;                                                  \
  caf::expected<std::vector<std::string>> progress(                           \
    const std::string& worker, const std::vector<progress_update>& updates)   \
    override;                                                                 \
  caf::expected<int64_t> release(const std::string& worker,                   \
                                 const std::vector<lease_ref>& refs)          \
    override;                                                                 \
  caf::expected<int64_t> rescue_expired(std::vector<job>* rescued = nullptr) \
    override;                                                                 \
  caf::expected<job> get(const std::string& id) override;                     \
  caf::expected<attempt_history> attempts(const std::string& id,              \
                                          int32_t limit) override;            \
  caf::expected<job_page> list(const job_filter& filter) override;            \
  caf::expected<job> retry(const std::string& id) override;                   \
  caf::error remove(const std::string& id) override;                          \
  caf::expected<job> update(const std::string& id, const job_patch& patch)    \
    override;                                                                 \
  caf::expected<type_pause> pause_type(const std::string& type,              \
                                       const std::string& note) override;    \
  caf::expected<bool> resume_type(const std::string& type) override;         \
  caf::expected<schedule> put_schedule(const schedule& s) override;           \
  caf::expected<std::vector<schedule>> schedules() override;                  \
  caf::expected<bool> remove_schedule(const std::string& name) override;      \
  caf::expected<schedule> pause_schedule(const std::string& name,             \
                                         bool paused) override;               \
  caf::expected<std::vector<job>> fire_schedule(                              \
    const std::string& name, ms_t run_at, bool by_hand) override;             \
  caf::expected<job_counts> counts() override;                                \
  caf::expected<int64_t> prune(ms_t older_than, int32_t batch) override;     \
  caf::expected<int64_t> change_position() override;                          \
  caf::expected<change_page> changes(int64_t after, int32_t limit) override

/// How to open a store.
struct store_options {
  /// A file path (SQLite) or a postgresql:// URL.
  std::string url = "jobd.db";
  /// SQLite `PRAGMA synchronous`: "FULL" (an acknowledged write survives
  /// power loss), "NORMAL" (survives a crash of jobd, not of the machine),
  /// or "OFF".
  std::string synchronous = "FULL";
  /// How long SQLite waits for another process's write lock, per try.
  int32_t busy_timeout_ms = 5000;
  /// A read-only connection, for a read pool (actors/reader_actor.hpp):
  /// it creates and migrates nothing (the file or database must already
  /// hold jobd's current schema), never checkpoints, and every write
  /// method fails (errc::io) with nothing changed. SQLite needs a file
  /// (not ":memory:"). Default false.
  bool read_only = false;
  /// storage.read_connections: how many read-only connections `jobd serve`
  /// opens for the API's reads (GET, list, stats, metrics), so they never
  /// wait behind the store actor's writes; 0 = reads go through the store
  /// actor. Not used by open_store itself. Default 2.
  int32_t read_connections = 2;
  /// PostgreSQL only: a session of jobd's that sits idle inside a
  /// transaction this long (its process cut off from the server between a
  /// statement and its COMMIT) is ended by the server, releasing its row
  /// locks so the jobs can be rescued (idle_in_transaction_session_timeout);
  /// and data the server has not acknowledged for this long ends the
  /// connection (libpq tcp_user_timeout). 0 = the server's and the OS's
  /// defaults (hours). A URL that sets either keeps its own value. jobd
  /// derives it as worker.lease / 2. Default 15 s.
  int32_t pg_session_timeout_ms = 15'000;
};

/// The pause of `type` as `st` holds it (for pause_type's reply).
/// Errors: io (none stored), as counts().
caf::expected<type_pause> stored_pause(job_store& st, const std::string& type);

/// Schedule `name` as `st` holds it (for the replies of put_schedule and
/// pause_schedule). Errors: not_found, as schedules().
caf::expected<schedule> stored_schedule(job_store& st, const std::string& name);

/// Whether a second connection to `url` sees the same jobs, so a read
/// pool can serve reads: true for a postgresql:// URL and a SQLite file;
/// false for ":memory:", "" and a "file:" URI.
bool supports_read_pool(const std::string& url);

/// Opens (creating and migrating) the store `opts.url` names.
/// Errors: schema (file newer than this binary), io, unavailable.
caf::expected<std::unique_ptr<job_store>>
open_store(const store_options& opts, std::shared_ptr<const clock_source> clk);

} // namespace jobd
