// The job record (table `ContentJob`) and the values that travel with it.
//
// Times are milliseconds since the Unix epoch, UTC (`ms_t`); 0 means "not set"
// (null in the API). JSON columns (payload, result) are kept as JSON text:
// jobd never needs to look inside a payload except in the job's handler.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <caf/meta/type_name.hpp>

namespace jobd {

/// Milliseconds since the Unix epoch (UTC). 0 means "not set".
using ms_t = int64_t;

/// Life cycle: PENDING -> PROCESSING -> COMPLETED, or back to PENDING for a
/// retry (with a later scheduledFor), or FAILED once retries are used up or
/// the failure is permanent. A FAILED job returns to PENDING only by hand.
/// CANCELLED (an addition to the seed's four): cancelled by hand while
/// PENDING or PROCESSING; final (never retried; delete it or enqueue anew).
enum class job_status : uint8_t {
  pending,
  processing,
  completed,
  failed,
  cancelled,
};

/// "PENDING", "PROCESSING", "COMPLETED", "FAILED" or "CANCELLED".
const char* to_string(job_status s);

/// Parses the names above (exact, upper case). Returns false for anything else.
bool parse_status(std::string_view text, job_status& out);

/// One row of ContentJob.
struct job {
  std::string id;            ///< ULID: 26 chars, URL-safe, sorts by creation
  std::string type;          ///< handler name, e.g. "ECHO"
  job_status status = job_status::pending;
  std::string payload;       ///< JSON text
  std::string result;        ///< JSON text; empty = null
  std::string error;         ///< last error message; empty = null
  int32_t retry_count = 0;   ///< failures so far that led to a retry
  int32_t max_retries = 3;   ///< retries allowed after the first run
  int32_t priority = 0;      ///< higher runs sooner
  ms_t scheduled_for = 0;    ///< not claimed before this time
  ms_t started_at = 0;       ///< when the current/last attempt was claimed
  ms_t completed_at = 0;     ///< when it became COMPLETED or FAILED
  ms_t created_at = 0;
  ms_t updated_at = 0;
  // -- reliability columns ---------------------------------------------------
  int32_t attempt = 0;       ///< claims so far; the fencing token
  std::string locked_by;     ///< worker id holding the lease; empty = none
  ms_t lease_expires_at = 0; ///< a PROCESSING job is rescued after this
  // -- uniqueness (see new_job::unique_key) ---------------------------------
  std::string unique_key;    ///< empty = not unique
  int32_t unique_states = 0; ///< status_bit()s in which the key is taken
  ms_t unique_until = 0;     ///< end of the key's period; 0 = no period
  /// How long one attempt may run before the pool stops it and fails the
  /// attempt (retryably); 0 = the type's default (pool_config).
  ms_t timeout_ms = 0;
  /// The worker that claimed the current/last attempt (set by each claim,
  /// kept after the attempt ends, unlike locked_by); empty = never claimed
  /// (or claimed before schema version 9). The attempt history reads it.
  std::string worked_by;
  // -- progress (job_store::progress) ---------------------------------------
  /// The running attempt's last reported fraction done, 0..1; negative =
  /// none reported (or only a message). Cleared when the job is claimed.
  double progress = -1;
  std::string progress_message; ///< its short message; empty = none
  ms_t progress_at = 0;      ///< when it was stored; 0 = no progress
  /// Not stored: enqueue() sets it when this is an existing job returned in
  /// place of a new one with the same unique key.
  bool duplicate = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job& x) {
  return f(caf::meta::type_name("jobd::job"), x.id, x.type, x.status,
           x.payload, x.result, x.error, x.retry_count, x.max_retries,
           x.priority, x.scheduled_for, x.started_at, x.completed_at,
           x.created_at, x.updated_at, x.attempt, x.locked_by,
           x.lease_expires_at, x.unique_key, x.unique_states, x.unique_until,
           x.timeout_ms, x.worked_by, x.progress, x.progress_message,
           x.progress_at, x.duplicate);
}

/// The bit of a status in a set of statuses (job::unique_states):
/// PENDING 1, PROCESSING 2, COMPLETED 4, FAILED 8.
constexpr int32_t status_bit(job_status s) {
  return int32_t{1} << static_cast<int>(s);
}

/// The statuses a unique key may be taken in (not CANCELLED: a cancelled
/// job lets go of its key), and those it is taken in by default.
constexpr int32_t all_status_bits = 0xF;

/// The statuses a unique key is always taken in: a job that is waiting or
/// running never has a twin, so no claim, retry or rescue can run into a
/// duplicate (only a change by hand can, and is refused).
constexpr int32_t active_status_bits
  = status_bit(job_status::pending) | status_bit(job_status::processing);

/// The longest unique key (bytes).
constexpr size_t max_unique_key_bytes = 255;

/// The longest unique period: 366 days.
constexpr ms_t max_unique_period_ms = 366LL * 24 * 3600 * 1000;

/// The longest timeout an attempt may be given: 7 days.
constexpr ms_t max_job_timeout_ms = 7LL * 24 * 3600 * 1000;

/// What a client asks for when it enqueues.
struct new_job {
  std::string type;
  std::string payload = "{}"; ///< JSON text, already validated
  int32_t priority = 0;
  ms_t scheduled_for = 0;     ///< 0 = now
  int32_t max_retries = 3;
  /// Idempotency: while a job with this key is in one of `unique_states`
  /// (and, with a period, was created in the same period), enqueueing
  /// another returns that job (duplicate = true) and stores nothing.
  /// Enforced by a unique index, so it holds across processes. Empty = no
  /// key.
  std::string unique_key{};
  /// status_bit()s; must include active_status_bits. 0 = all_status_bits
  /// (a key is taken for as long as its job exists).
  int32_t unique_states = 0;
  /// 0 = no period; else the key is taken only within the same period of
  /// this many ms, counted from the epoch (86'400'000: one per UTC day).
  ms_t unique_period_ms = 0;
  /// How long one attempt may run (job::timeout_ms): 1..max_job_timeout_ms, or
  /// 0 for the type's default.
  ms_t timeout_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, new_job& x) {
  return f(caf::meta::type_name("jobd::new_job"), x.type, x.payload,
           x.priority, x.scheduled_for, x.max_retries, x.unique_key,
           x.unique_states, x.unique_period_ms, x.timeout_ms);
}

/// Identifies one attempt of one job: the fencing token. A worker may change
/// a job only while the row still carries this attempt and its lease.
struct lease_ref {
  std::string id;
  int32_t attempt = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, lease_ref& x) {
  return f(caf::meta::type_name("jobd::lease_ref"), x.id, x.attempt);
}

/// A finished attempt to record (job_store::complete_all): the pool sends
/// those that finished while its previous completions were being written,
/// in one message.
struct completion {
  lease_ref ref;
  std::string result; ///< JSON
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, completion& x) {
  return f(caf::meta::type_name("jobd::completion"), x.ref, x.result);
}

/// A running attempt's progress to store (job_store::progress): the latest
/// report of its handler, already cut and cleaned (progress_text()).
struct progress_update {
  lease_ref ref;
  double fraction = -1;  ///< 0..1; negative = unknown (a message only)
  std::string message;   ///< at most max_progress_message_bytes, one line
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, progress_update& x) {
  return f(caf::meta::type_name("jobd::progress_update"), x.ref, x.fraction,
           x.message);
}

/// How an attempt ended (attempt_record::outcome).
enum class attempt_outcome : uint8_t {
  running,       ///< not ended: the job is PROCESSING under this attempt
  completed,     ///< its handler succeeded (or it was completed by hand)
  failed,        ///< its handler failed or timed out (or failed by hand)
  lease_expired, ///< its worker stopped renewing the lease (rescued)
  released,      ///< handed back unfinished at a graceful stop
  cancelled,     ///< cancelled by hand while it ran
};

/// "running", "completed", "failed", "lease_expired", "released" or
/// "cancelled".
const char* to_string(attempt_outcome o);

/// Parses the names above. Returns false for anything else.
bool parse_attempt_outcome(std::string_view text, attempt_outcome& out);

/// One attempt of a job (job_store::attempts): who ran it, when, how it
/// ended. Recorded in the transaction that ends it when it ends other than
/// by completing (the completing attempt is read from the job row, so a
/// completion writes nothing more); deleted with its job.
struct attempt_record {
  int32_t attempt = 0;  ///< the fencing token it ran under (1, 2, ...)
  std::string worker;   ///< the worker id that claimed it; empty = unknown
  ms_t started_at = 0;  ///< when it was claimed
  ms_t ended_at = 0;    ///< when it ended; 0 = running
  attempt_outcome outcome = attempt_outcome::running;
  std::string error;    ///< why it ended, if not completed; empty = none
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, attempt_record& x) {
  return f(caf::meta::type_name("jobd::attempt_record"), x.attempt, x.worker,
           x.started_at, x.ended_at, x.outcome, x.error);
}

/// The most attempts job_store::attempts returns (the newest ones).
constexpr int32_t max_attempts_listed = 100;

/// A job's attempts, oldest first (job_store::attempts).
struct attempt_history {
  std::vector<attempt_record> attempts;
  /// True when older attempts exist than those listed (more than
  /// max_attempts_listed).
  bool truncated = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, attempt_history& x) {
  return f(caf::meta::type_name("jobd::attempt_history"), x.attempts,
           x.truncated);
}

/// An external worker (one that runs jobs over POST /api/worker/*) as the
/// database last saw it (job_store::see_workers, job_store::workers).
struct worker_info {
  std::string id;                  ///< the worker id its calls carry
  std::string host;                ///< where it says it runs (its fetch's
                                   ///< "host", else the address it called
                                   ///< from); empty = not known yet
  std::vector<std::string> types;  ///< the types its last fetch asked for
  ms_t first_seen_at = 0;          ///< its first call (since it was last
                                   ///< forgotten: worker_forget_ms)
  ms_t last_seen_at = 0;           ///< its latest call, to within
                                   ///< worker_seen_every_ms
  /// The jobs it holds now (PROCESSING under its id), oldest claim first,
  /// at most max_worker_jobs_listed; read side only.
  std::vector<std::string> jobs;
  /// Seen within worker_online_ms, or holding a job (read side only).
  bool online = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, worker_info& x) {
  return f(caf::meta::type_name("jobd::worker_info"), x.id, x.host, x.types,
           x.first_seen_at, x.last_seen_at, x.jobs, x.online);
}

/// How often a process writes that a worker it serves is still calling
/// (a worker's lastSeenAt lags its latest call by at most this).
constexpr ms_t worker_seen_every_ms = 5'000;
/// A worker seen within this long counts as online (as does one holding a
/// job): a long-polling worker is seen every worker_seen_every_ms while
/// it waits, a busy one at each heartbeat.
constexpr ms_t worker_online_ms = 30'000;
/// A worker not seen for this long is forgotten (its row deleted).
constexpr ms_t worker_forget_ms = 86'400'000;
/// The most workers job_store::workers lists (the most recently seen).
constexpr int32_t max_workers_listed = 500;
/// The most jobs listed per worker (worker_info::jobs).
constexpr int32_t max_worker_jobs_listed = 100;
/// The longest host a worker may name (bytes).
constexpr size_t max_worker_host_bytes = 255;

/// The external workers seen within worker_forget_ms (job_store::workers),
/// most recently seen first.
struct worker_list {
  std::vector<worker_info> workers;
  ms_t as_of = 0;          ///< the database's "now" the list was read at
  bool truncated = false;  ///< more workers exist than max_workers_listed
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, worker_list& x) {
  return f(caf::meta::type_name("jobd::worker_list"), x.workers, x.as_of,
           x.truncated);
}

/// The longest progress message (bytes).
constexpr size_t max_progress_message_bytes = 200;

/// Filter and page for listing jobs, newest first.
struct job_filter {
  std::string status;  ///< empty = any; else one of the status names
  std::string type;    ///< empty = any
  std::string cursor;  ///< empty = first page; else the id the last page ended on
  int32_t limit = 50;
  /// Search: empty = none; else jobs whose id starts with it (any case),
  /// or, among the newest max_search_scan jobs, whose payload or error
  /// contains it (exact bytes).
  std::string q;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_filter& x) {
  return f(caf::meta::type_name("jobd::job_filter"), x.status, x.type,
           x.cursor, x.limit, x.q);
}

struct job_page {
  std::vector<job> jobs;
  std::string next_cursor; ///< empty = no more
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_page& x) {
  return f(caf::meta::type_name("jobd::job_page"), x.jobs, x.next_cursor);
}

/// Where a failure left the job.
struct fail_outcome {
  bool applied = false;       ///< false: the attempt was stale, nothing changed
  job_status status = job_status::failed; ///< PENDING (retry) or FAILED
  ms_t scheduled_for = 0;     ///< when the retry is due (PENDING only)
  int32_t retry_count = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, fail_outcome& x) {
  return f(caf::meta::type_name("jobd::fail_outcome"), x.applied, x.status,
           x.scheduled_for, x.retry_count);
}

/// A job type paused by hand (job_store::pause_type): no process claims
/// its jobs until it is resumed.
struct type_pause {
  std::string type;
  /// When it was paused (ms since the epoch).
  ms_t paused_at = 0;
  /// Who and why, as given ("" = nothing said).
  std::string note;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, type_pause& x) {
  return f(caf::meta::type_name("jobd::type_pause"), x.type, x.paused_at,
           x.note);
}

/// A recurring schedule (job_store::put_schedule): a cron expression in a
/// time zone and the job each run creates. Every process that runs workers
/// fires it (the schedule actor); the store creates each (name, run time)
/// once, whichever process asks first.
struct schedule {
  /// 1..100 bytes of letters, digits, '.', '_', '-'.
  std::string name;
  /// Five cron fields or an alias (storage/cron.hpp).
  std::string cron;
  /// IANA zone the cron fields are read in.
  std::string time_zone = "UTC";
  /// The job each run creates.
  std::string type;
  std::string payload = "{}"; ///< JSON object text
  int32_t priority = 0;
  int32_t max_retries = 3;
  /// What a run found late does (by the processes' absence): "skip" (a run
  /// more than schedule_grace_ms late is not created) or "catch_up" (runs
  /// missed within catch_up_ms are created, oldest first).
  std::string missed = "skip";
  ms_t catch_up_ms = 3'600'000;
  /// Paused by hand: no run is created until resumed (run_now still is).
  bool paused = false;
  /// Where it was defined: "config" (a [schedule.NAME] section, written at
  /// each start) or "api" (HTTP or CLI).
  std::string source = "api";
  ms_t created_at = 0;
  ms_t updated_at = 0;
  /// The latest cron run time created (0: none yet); runs by hand do not
  /// move it.
  ms_t last_run_at = 0;
  /// The job of the latest run, by cron or by hand ("" = none yet).
  std::string last_job_id;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, schedule& x) {
  return f(caf::meta::type_name("jobd::schedule"), x.name, x.cron,
           x.time_zone, x.type, x.payload, x.priority, x.max_retries,
           x.missed, x.catch_up_ms, x.paused, x.source, x.created_at,
           x.updated_at, x.last_run_at, x.last_job_id);
}

/// Counts for the dashboard and `jobd jobs stats`.
struct job_counts {
  /// (status, type, count) rows.
  std::vector<std::string> status;
  std::vector<std::string> type;
  std::vector<int64_t> count;
  /// The paused types, by name.
  std::vector<type_pause> paused;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_counts& x) {
  return f(caf::meta::type_name("jobd::job_counts"), x.status, x.type,
           x.count, x.paused);
}

/// One entry of the change feed (job_store::changes): a job as it is now,
/// or its deletion.
struct job_change {
  /// The position of the transaction that last changed (or deleted) the
  /// job in the database's change history: positions grow in commit order
  /// across every process.
  int64_t seq = 0;
  /// The job was deleted (by hand or by retention); only `job.id` is set.
  bool deleted = false;
  jobd::job job;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_change& x) {
  return f(caf::meta::type_name("jobd::job_change"), x.seq, x.deleted, x.job);
}

/// A page of the change feed.
struct change_page {
  /// In commit order (by seq); each job at most once, as it is now.
  std::vector<job_change> changes;
  /// The position to read on from (the last entry's seq, or the position
  /// asked for when nothing changed).
  int64_t next = 0;
  /// The page is full: read on from `next` (more changes may follow).
  bool more = false;
  /// Deletions after the position asked for are no longer all known (their
  /// records outlived tombstone_keep_ms and were dropped): a reader that
  /// mirrors jobs must reload them.
  bool gap = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, change_page& x) {
  return f(caf::meta::type_name("jobd::change_page"), x.changes, x.next,
           x.more, x.gap);
}

/// What a bulk action (job_store::bulk) does to each job it matches.
enum class bulk_action : uint8_t {
  retry,  ///< FAILED -> PENDING, as job_store::retry
  cancel, ///< PENDING/PROCESSING -> CANCELLED, as job_store::cancel
  remove, ///< deletes a finished job, as job_store::remove
};

/// "retry", "cancel" or "delete" (the API's and the CLI's words).
const char* to_string(bulk_action a);

/// Parses the names above. Returns false for anything else.
bool parse_bulk_action(std::string_view text, bulk_action& out);

/// The most jobs one bulk call changes when it does not say (max).
constexpr int32_t default_bulk_max = 1000;
/// The most jobs one bulk call may change (max).
constexpr int32_t max_bulk_max = 10'000;
/// Rows per transaction of a bulk call: each batch holds the write lock
/// only as long as 500 single changes take, so workers' claims and
/// completions get in between.
constexpr int32_t bulk_batch_rows = 500;

/// A bulk action and the jobs it applies to (job_store::bulk).
struct bulk_request {
  bulk_action action = bulk_action::retry;
  /// Only jobs in this status; empty = every status the action applies to
  /// (retry: FAILED; cancel: PENDING and PROCESSING; delete: COMPLETED,
  /// FAILED and CANCELLED).
  std::string status;
  /// Only jobs of this type; empty = any.
  std::string type;
  /// delete only: only jobs whose completedAt is before this time; 0 = any.
  ms_t finished_before = 0;
  /// The most jobs to act on: 1..max_bulk_max. Default default_bulk_max.
  int32_t max = default_bulk_max;
  /// cancel only: the cancelled jobs' error (cancel_note: who and why).
  std::string note;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bulk_request& x) {
  return f(caf::meta::type_name("jobd::bulk_request"), x.action, x.status,
           x.type, x.finished_before, x.max, x.note);
}

/// What a bulk call did.
struct bulk_result {
  bulk_action action = bulk_action::retry;
  /// Jobs that matched the filter and were acted on (at most max).
  int64_t matched = 0;
  /// Of those, how many changed (retried, cancelled, deleted).
  int64_t changed = 0;
  /// Of those, how many were left as they were: a retry whose unique key
  /// another job holds, or a job that changed in between (no longer
  /// matching).
  int64_t skipped = 0;
  /// More jobs match than max allowed: call again for the rest.
  bool more = false;
  /// retry and cancel: the changed jobs as they are now (delete: none).
  std::vector<job> jobs;
};

/// Where a bulk call stands between its transactions (job_store::bulk_step).
struct bulk_progress {
  /// The status being read, an index into bulk_statuses().
  size_t status_index = 0;
  /// The last job read in it (a list cursor); empty = from the newest.
  std::string cursor;
  /// Nothing left to do.
  bool done = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, bulk_result& x) {
  return f(caf::meta::type_name("jobd::bulk_result"), x.action, x.matched,
           x.changed, x.skipped, x.more, x.jobs);
}

/// Changes PATCH /api/jobs/{id} may make; each `has_*` says the field is set.
struct job_patch {
  bool has_status = false;
  job_status status = job_status::pending;
  bool has_priority = false;
  int32_t priority = 0;
  bool has_scheduled_for = false;
  ms_t scheduled_for = 0;
  bool has_max_retries = false;
  int32_t max_retries = 3;
  bool has_result = false;
  std::string result; ///< JSON text
  bool has_error = false;
  std::string error;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, job_patch& x) {
  return f(caf::meta::type_name("jobd::job_patch"), x.has_status, x.status,
           x.has_priority, x.priority, x.has_scheduled_for, x.scheduled_for,
           x.has_max_retries, x.max_retries, x.has_result, x.result,
           x.has_error, x.error);
}

/// Claim order: higher priority first, then earlier scheduledFor, then
/// older createdAt (then id, for a total order). Every backend claims in it.
bool claims_before(const job& a, const job& b);

/// A new job id: a ULID (48-bit ms time + 80 random bits, Crockford base32).
/// Ids made later in one process sort after earlier ones.
std::string make_job_id(ms_t now);

/// True if `id` has the shape of a job id (so it is safe in URLs and SQL).
bool is_job_id(std::string_view id);

/// ISO-8601 UTC with milliseconds: "2026-11-29T03:38:11.123Z"; "" for 0.
std::string format_time(ms_t t);

/// The range parse_time accepts: 1970-01-01T00:00:00.000Z (ms 0, which
/// reads as "not set", i.e. now: due at once either way) through
/// 9999-12-31T23:59:59.999Z.
constexpr int min_time_year = 1970;
constexpr ms_t max_time_ms = 253'402'300'799'999;

/// Parses an RFC 3339 date-time, plus two ISO-8601 forms RFC 3339 leaves
/// out (a date alone, a time without seconds):
///   YYYY-MM-DD                          a date alone: midnight UTC
///   YYYY-MM-DD"T"hh:mm[:ss[.f]]ZONE     ZONE is "Z" or +hh:mm / -hh:mm
/// "T" may also be "t" or one space; "Z" may be "z"; seconds left out are
/// :00; the fraction has 1..9 digits, kept to the millisecond
/// (further digits are truncated). Every field must exist on the calendar:
/// month 01..12, day 01..28/29/30/31 for that month (leap years by the
/// Gregorian rule: 2028-02-29 yes, 2030-02-29 and 2100-02-29 no), hour
/// 00..23 (no 24:00), minute 00..59, second 00..59 (no leap second 60);
/// an offset within -23:59..+23:59 ("-00:00" reads as UTC). The resulting
/// instant must lie in [0, max_time_ms]. Nothing is ever shifted into
/// range: a time that does not exist is refused. No leading or trailing
/// whitespace, no basic format ("20300101"), no week or ordinal dates, and
/// no time without a zone (its meaning would depend on the server's zone).
/// Returns true and sets `out` (ms since the epoch, UTC) on success; else
/// returns false, leaves `out` unchanged and, if `why` is given, sets it
/// to a one-line reason ("day 30 does not exist in 2030-02 (it has 28
/// days)").
bool parse_time(std::string_view text, ms_t& out, std::string* why = nullptr);

} // namespace jobd
