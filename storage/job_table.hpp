// The ContentJob table as every backend sees it: its schema, the column
// list and the row reader, the claim order and the SQL both backends run
// word for word. Written once here so the backends cannot drift apart;
// each backend adds only what genuinely differs (column types, parameter
// spelling, locking, notifications).
//
// Identifiers are double-quoted throughout: PostgreSQL folds unquoted names
// to lower case, SQLite reads quoted and unquoted names alike.
#pragma once

#include <cstdint>
#include <string>

#include "storage/job.hpp"

namespace jobd {

/// The columns every job query returns, in this order (see job_column and
/// read_job).
#define JOBD_JOB_COLUMNS                                                       \
  "id, type, status, payload, result, error, \"retryCount\", "                 \
  "\"maxRetries\", priority, \"scheduledFor\", \"startedAt\", "                \
  "\"completedAt\", \"createdAt\", \"updatedAt\", attempt, \"lockedBy\", "     \
  "\"leaseExpiresAt\", \"uniqueKey\", \"uniqueStates\", \"uniqueUntil\", "  \
  "\"progressPpm\", \"progressMessage\", \"progressAt\", \"timeoutMs\", "   \
  "\"workedBy\""

/// Claim order in SQL: higher priority first, then earlier scheduledFor,
/// then older createdAt (claims_before is the same order in C++). The claim
/// index is built in this order, so a claim reads it front to back.
#define JOBD_CLAIM_ORDER "priority DESC, \"scheduledFor\", \"createdAt\""

/// The error a rescued job carries. lockedBy is never NULL on a PROCESSING
/// row; the COALESCE keeps the message whole should one ever be. The sweep
/// cannot tell a worker that died running the job from one cut off before
/// it started it: both spend a retry, so a job that kills its worker cannot
/// retry for ever. The message says both. (A claim whose reply was lost is
/// handed back without a retry when its worker reconnects in time; see
/// pg_store::release_in_doubt.)
#define JOBD_RESCUE_ERROR                                                      \
  "'lease expired: worker ' || COALESCE(\"lockedBy\", '?') || "                \
  "' stopped renewing attempt ' || attempt || ' (killed, hung, or cut off "    \
  "from the database; it may not have started the job)'"

/// Positions in JOBD_JOB_COLUMNS.
enum job_column : int {
  col_id,
  col_type,
  col_status,
  col_payload,
  col_result,
  col_error,
  col_retry_count,
  col_max_retries,
  col_priority,
  col_scheduled_for,
  col_started_at,
  col_completed_at,
  col_created_at,
  col_updated_at,
  col_attempt,
  col_locked_by,
  col_lease_expires_at,
  col_unique_key,
  col_unique_states,
  col_unique_until,
  col_progress_ppm,
  col_progress_message,
  col_progress_at,
  col_timeout_ms,
  col_worked_by,
  job_column_count,
};

/// A fraction (job::progress) as the column "progressPpm" stores it: in
/// millionths, -1 for none or unknown (an integer, so both backends read
/// and compare it exactly).
int64_t ppm_of_progress(double fraction);

/// The fraction of a "progressPpm" value (-1 when negative).
double progress_of_ppm(int64_t ppm);

/// Reads one row of JOBD_JOB_COLUMNS (starting at column 0). `Row` is a
/// backend's small adapter: `std::string text(int)` (empty for NULL) and
/// `int64_t i64(int)` (0 for NULL).
template <class Row>
job read_job(Row& r) {
  job j;
  j.id = r.text(col_id);
  j.type = r.text(col_type);
  parse_status(r.text(col_status), j.status);
  j.payload = r.text(col_payload);
  j.result = r.text(col_result);
  j.error = r.text(col_error);
  j.retry_count = static_cast<int32_t>(r.i64(col_retry_count));
  j.max_retries = static_cast<int32_t>(r.i64(col_max_retries));
  j.priority = static_cast<int32_t>(r.i64(col_priority));
  j.scheduled_for = r.i64(col_scheduled_for);
  j.started_at = r.i64(col_started_at);
  j.completed_at = r.i64(col_completed_at);
  j.created_at = r.i64(col_created_at);
  j.updated_at = r.i64(col_updated_at);
  j.attempt = static_cast<int32_t>(r.i64(col_attempt));
  j.locked_by = r.text(col_locked_by);
  j.lease_expires_at = r.i64(col_lease_expires_at);
  j.unique_key = r.text(col_unique_key);
  j.unique_states = static_cast<int32_t>(r.i64(col_unique_states));
  j.unique_until = r.i64(col_unique_until);
  j.progress = progress_of_ppm(r.i64(col_progress_ppm));
  j.progress_message = r.text(col_progress_message);
  j.progress_at = r.i64(col_progress_at);
  j.timeout_ms = r.i64(col_timeout_ms);
  j.worked_by = r.text(col_worked_by);
  return j;
}

/// The column types a backend names in the schema.
struct sql_types {
  const char* id;    ///< the primary key (text that sorts bytewise)
  const char* text;  ///< other text
  const char* int32; ///< counters, priority
  const char* time;  ///< ms since the epoch (64 bits)
};

/// Schema version 1: the ContentJob table and its indexes, in the
/// backend's column types. Times are ms since the epoch (UTC). scheduledFor
/// is never NULL: a job without a run time is due from its creation, which
/// keeps the claim index simple.
std::string job_schema_v1(const sql_types& types);


/// True when a row's unique key is taken: its status is among its
/// "uniqueStates" (status_bit). The unique index's condition; a query that
/// looks a key up repeats it word for word, so the planner uses the index.
#define JOBD_UNIQUE_HOLDS                                                      \
  "\"uniqueKey\" IS NOT NULL AND (\"uniqueStates\" & CASE status "             \
  "WHEN 'PENDING' THEN 1 WHEN 'PROCESSING' THEN 2 WHEN 'COMPLETED' THEN 4 "    \
  "WHEN 'FAILED' THEN 8 ELSE 0 END) <> 0"

/// Schema version 4: unique keys. "uniqueKey" (NULL: none), "uniqueStates"
/// (the status_bit()s it is taken in) and "uniqueUntil" (the end of its
/// period, 0: none), and the partial unique index that makes a second job
/// with a taken key impossible, whichever process writes it. Rows from
/// before have no key. `if_not_exists`: add the columns only where missing
/// (PostgreSQL; SQLite cannot say so, and runs it inside the transaction
/// that sets its version).
std::string unique_schema_v4(const sql_types& types, bool if_not_exists);

/// The finished statuses (COMPLETED, FAILED, CANCELLED): what retention
/// prunes (by completedAt, through the index ContentJob_done, which has
/// this condition). Said as NOT IN two values: SQLite tests a list of up to
/// two values in place but builds a lookup table for a longer one, on each
/// run of each statement that maintains the index (every claim and
/// completion): that cost W2 a quarter of its rate when it read IN
/// ('COMPLETED', 'FAILED', 'CANCELLED').
#define JOBD_FINISHED "status NOT IN ('PENDING', 'PROCESSING')"

/// Schema version 5, shared part: retention's index covers CANCELLED jobs
/// too (ContentJob_done replaces ContentJob_finished). Each backend also
/// lets the status CHECK accept 'CANCELLED' in its own way.
extern const char* const done_index_schema_v5;

/// Schema version 6: how far an attempt got. "progressPpm" (the fraction
/// in millionths; -1: none), "progressMessage" (NULL: none) and
/// "progressAt" (NULL: none stored), written by job_store::progress and
/// cleared by each claim. `if_not_exists` as for unique_schema_v4.
std::string progress_schema_v6(const sql_types& types, bool if_not_exists);

/// Schema version 7: how long an attempt may take, and paused types.
/// "timeoutMs" (NULL: the type's default); the "JobTypePause" table (type,
/// "pausedAt", note), one row per paused type (job_store::pause_type).
/// `if_not_exists` as for unique_schema_v4.
std::string timeout_schema_v7(const sql_types& types, bool if_not_exists);

/// The claim condition that leaves paused types' jobs alone (a claim
/// reads the few rows of "JobTypePause" once).
#define JOBD_NOT_PAUSED "type NOT IN (SELECT type FROM \"JobTypePause\")"

/// What an in-process claim (job_store::claim) leaves alone: paused types
/// and types served by external workers ("JobTypeExternal"), both read
/// once per claim from their few rows.
#define JOBD_IN_PROCESS_CLAIMABLE                                              \
  "type NOT IN (SELECT type FROM \"JobTypePause\" UNION ALL SELECT type "      \
  "FROM \"JobTypeExternal\")"



/// The SET list a claim adds so a new attempt starts without the last
/// one's progress.
#define JOBD_CLEAR_PROGRESS                                                    \
  "\"progressPpm\" = -1, \"progressMessage\" = NULL, \"progressAt\" = NULL"

/// How a backend spells query parameter n (1-based): "?n" or "$n".
using sql_param = std::string (*)(int n);

/// Schema version 2: "JobCount", the jobs by (status, type) kept exact in
/// the transaction of every change (a process adds its deltas to its own
/// `slot`, so writers on many machines do not wait on one row), filled
/// from the rows once when a version-1 database is migrated. counts()
/// sums the slots: it reads a handful of rows however large ContentJob is.
std::string job_counts_schema_v2(const sql_types& types);

/// Adds ?1/$1 status, ?2/$2 type, ?3/$3 slot, ?4/$4 delta to JobCount.
std::string job_count_add_sql(sql_param param);

/// The same for several rows at once: `rows` is "(status, type, slot,
/// delta), ..." (SQL values, each key once).
std::string job_count_add_rows_sql(const std::string& rows);

/// (status, type, sum) per pair with a non-zero sum, ordered by both.
extern const char* const job_counts_sql;

/// Which list query serves a filter: bit 0 status, bit 1 type, bit 2
/// cursor, bit 3 search (so 16 statements, each using its index).
int list_shape(const job_filter& f);

/// How many list shapes there are.
constexpr int list_shape_count = 16;

/// How many of the newest jobs a search reads for text in the payload or
/// error (an id prefix is looked up among all jobs through the primary
/// key): a search costs at most this many rows, however large the table.
constexpr int max_search_scan = 10'000;

/// The list query for a shape: the set filters' parameters first (status,
/// type, cursor, in that order), then for a search the id range (from, to)
/// and the text, then the row limit; newest first. `contains` is the
/// backend's substring function taking (haystack, needle) and returning a
/// position > 0 when found (SQLite instr, PostgreSQL strpos).
std::string list_sql(int shape, sql_param param, const char* contains);

/// The id range a search's text selects as an id prefix: [from, to).
std::pair<std::string, std::string> search_id_range(const std::string& q);

/// Cuts a list result fetched with limit + 1 rows to `limit`, setting the
/// next page's cursor when there was a further row.
void finish_page(job_page& page, int32_t limit);

/// Pausing (parameters: 1 now as the backend binds it, 2 type, 3 note;
/// `now` the expression of parameter 1): keeps an existing pause.
std::string pause_insert_sql(sql_param p, const std::string& now);
/// Resuming (parameter 1: type).
std::string pause_delete_sql(sql_param p);
/// The pauses (type, pausedAt, note), by type.
extern const char* const pauses_sql;

/// Schema version 8: recurring schedules. "Schedule" (one row per
/// schedule: its definition, pause and last run) and "ScheduleRun" (one row
/// per (schedule, runAt) created: its primary key is what makes a run
/// create one job, whichever processes fire it; written in the job's own
/// transaction, pruned with retention).
std::string schedule_schema_v8(const sql_types& types);

/// The columns every schedule query returns, in this order (read_schedule).
#define JOBD_SCHEDULE_COLUMNS                                                  \
  "name, cron, \"timeZone\", type, payload, priority, \"maxRetries\", "       \
  "missed, \"catchUpMs\", paused, source, \"createdAt\", \"updatedAt\", "      \
  "\"lastRunAt\", \"lastJobId\""

/// A row of JOBD_SCHEDULE_COLUMNS (Row as for read_job).
template <class Row>
schedule read_schedule(Row& r) {
  schedule s;
  s.name = r.text(0);
  s.cron = r.text(1);
  s.time_zone = r.text(2);
  s.type = r.text(3);
  s.payload = r.text(4);
  s.priority = static_cast<int32_t>(r.i64(5));
  s.max_retries = static_cast<int32_t>(r.i64(6));
  s.missed = r.text(7);
  s.catch_up_ms = r.i64(8);
  s.paused = r.i64(9) != 0;
  s.source = r.text(10);
  s.created_at = r.i64(11);
  s.updated_at = r.i64(12);
  s.last_run_at = r.i64(13);
  s.last_job_id = r.text(14);
  return s;
}

/// Creating or redefining a schedule: parameters 1 name, 2 cron, 3 time
/// zone, 4 type, 5 payload, 6 priority, 7 maxRetries, 8 missed,
/// 9 catchUpMs, 10 source, 11 now. A redefinition keeps the pause, the
/// last run and the creation time.
std::string schedule_put_sql(sql_param p);
/// Parameter 1 name: the schedule.
std::string schedule_get_sql(sql_param p);
/// Every schedule, by name.
extern const char* const schedules_sql;
/// Parameter 1 name.
std::string schedule_delete_sql(sql_param p);
/// Parameters 1 name, 2 paused (0/1), 3 now.
std::string schedule_pause_sql(sql_param p);
/// Parameters 1 name, 2 runAt, 3 jobId: claims the run; a conflict (the
/// run exists) inserts nothing.
std::string schedule_run_insert_sql(sql_param p);
/// After a run's job is stored: parameters 1 name, 2 job id, 3 runAt of a
/// cron run (0 for a run by hand, which leaves lastRunAt).
std::string schedule_fired_sql(sql_param p);
/// Parameter 1: drops runs older than this (ms), the retention age.
std::string schedule_runs_prune_sql(sql_param p);

/// Schema version 9: attempt history. ContentJob."workedBy" (the worker
/// of the current/last attempt; set by each claim, never cleared) and the
/// "JobAttempt" table: one row per attempt that ended other than by
/// completing (failed, timed out, lease expired, released, cancelled; and
/// a completed attempt whose job is later run again by hand), primary key
/// ("jobId", attempt), written in the transaction that ends the attempt.
/// `job_ref` ends the "jobId" column's definition: PostgreSQL's foreign
/// key deleting a job's attempts with it; SQLite adds a trigger instead
/// (attempt_cascade_sqlite), as its foreign keys are off by default.
/// `if_not_exists` as for unique_schema_v4.
std::string attempt_schema_v9(const sql_types& types, bool if_not_exists,
                              const char* job_ref);

/// SQLite's half of deleting a job's attempts with the job: a trigger on
/// every DELETE from ContentJob (by hand, bulk, retention).
extern const char* const attempt_cascade_sqlite;

/// The columns an attempt query returns, in this order (read_attempt).
#define JOBD_ATTEMPT_COLUMNS                                                   \
  "attempt, worker, \"startedAt\", \"endedAt\", outcome, error"

/// A row of JOBD_ATTEMPT_COLUMNS (Row as for read_job).
template <class Row>
attempt_record read_attempt(Row& r) {
  attempt_record a;
  a.attempt = static_cast<int32_t>(r.i64(0));
  a.worker = r.text(1);
  a.started_at = r.i64(2);
  a.ended_at = r.i64(3);
  parse_attempt_outcome(r.text(4), a.outcome);
  a.error = r.text(5);
  return a;
}

/// Records an ended attempt: parameters 1 job id, 2 attempt, 3 worker,
/// 4 startedAt, 5 endedAt, 6 outcome, 7 error (NULL: none). An attempt
/// already recorded is left as it is.
std::string attempt_insert_sql(sql_param p);

/// A job's recorded attempts, newest first: parameters 1 job id, 2 limit.
std::string attempts_sql(sql_param p);

/// Schema version 10: "JobTypeExternal" (type, "declaredAt"), one row per
/// job type served by external workers over HTTP (job_store::
/// declare_types): claim() never takes their jobs, claim_types() does.
std::string external_schema_v10(const sql_types& types);

/// Marking a type external (parameters: 1 now as the backend binds it,
/// 2 type; `now` the expression of parameter 1): keeps an existing mark's
/// time.
std::string external_insert_sql(sql_param p, const std::string& now);
/// Unmarking (parameter 1: type).
std::string external_delete_sql(sql_param p);
/// The external types, by name.
extern const char* const external_types_sql;

/// Schema version 11: "JobWorker" (id, host, types, "firstSeenAt",
/// "lastSeenAt"), one row per external worker seen within
/// worker_forget_ms (job_store::see_workers, job_store::workers); types
/// as join_worker_types writes them.
std::string worker_schema_v11(const sql_types& types);

/// A worker seen (parameters: 1 now as the backend binds it, 2 id, 3 host,
/// 4 types; `now` the expression of parameter 1): a new row, or the
/// existing one's lastSeenAt moved to now, its host and types replaced
/// when given (not empty).
std::string worker_seen_sql(sql_param p, const std::string& now);
/// Forgets the workers last seen before parameter 1.
std::string workers_forget_sql(sql_param p);
/// The workers seen since parameter 1, most recently first, at most
/// parameter 2: id, host, types, firstSeenAt, lastSeenAt.
std::string workers_sql(sql_param p);
/// The running jobs of the workers seen since parameter 1: (worker id,
/// job id), oldest claim first. Reads PROCESSING rows only (an index).
std::string worker_jobs_sql(sql_param p);

} // namespace jobd
