#include "storage/postgres/pg_store.hpp"

#include "storage/postgres/pg_tx.hpp"

#include "storage/job_table.hpp"
#include "storage/rules.hpp"

#include <algorithm>
#include <optional>
#include <random>
#include <set>
#include <utility>
#include <vector>

#include <pqxx/pqxx>

namespace jobd {

namespace {

// The first line of a (libpq or server) message, trimmed: our errors are
// one line.
std::string first_line(const std::string& msg) {
  auto end = msg.find('\n');
  auto line = msg.substr(0, end);
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r'
                           || line.back() == '\t'))
    line.pop_back();
  if (line.rfind("ERROR:  ", 0) == 0 || line.rfind("FATAL:  ", 0) == 0)
    line = line.substr(8);
  return line;
}

} // namespace

// -- SQL ------------------------------------------------------------------------

namespace {

// "Now" in milliseconds: the injected clock's value when $1 is set, else the
// database clock. statement_timestamp() is fixed for one statement, so every
// use within a statement agrees, and advances between the statements of a
// batch.
#define PG_NOW                                                                 \
  "COALESCE($1::bigint, "                                                      \
  "floor(extract(epoch FROM statement_timestamp()) * 1000)::bigint)"

#define PG_NOTIFY "pg_notify('jobd_jobs', '')"

// A claim ($1 now, $2 worker, $3 lease, $4 limit): the jobs it may take
// follow PG_CLAIM_DUE, then PG_CLAIM_END.
#define PG_CLAIM_DUE                                                           \
  "UPDATE \"ContentJob\" SET status = 'PROCESSING', attempt = attempt + 1, "   \
  "\"lockedBy\" = $2, \"workedBy\" = $2, "                                     \
  "\"leaseExpiresAt\" = " PG_NOW " + $3::bigint, "                             \
  "\"startedAt\" = " PG_NOW ", \"updatedAt\" = " PG_NOW ", "                   \
  JOBD_CLEAR_PROGRESS ", \"changeXid\" = " PG_XID " "                          \
  "WHERE id = ANY (ARRAY(SELECT id FROM \"ContentJob\" "                       \
  "WHERE status = 'PENDING' AND \"scheduledFor\" <= " PG_NOW " AND "
#define PG_CLAIM_END                                                           \
  " ORDER BY " JOBD_CLAIM_ORDER " LIMIT $4::int FOR UPDATE SKIP LOCKED)) "     \
  "RETURNING " JOBD_JOB_COLUMNS

// The transaction writing: every statement that changes a job stamps the
// row with it, and the transaction's JobTxn row maps it to its feed
// position (see pg_store.hpp).
#define PG_XID "pg_current_xact_id()"

// The head of a data-modifying CTE recording ended attempts (its SELECT
// gives job id, attempt, worker, startedAt, endedAt, outcome, error).
#define JOBD_PG_RECORD_ATTEMPT                                                 \
  "INSERT INTO \"JobAttempt\" (\"jobId\", attempt, worker, \"startedAt\", "     \
  "\"endedAt\", outcome, error)"

// An arbitrary constant that names "jobd's schema migration" among the
// advisory locks of the database ('jobd' in ASCII).
constexpr int64_t migration_lock_key = 0x6a6f6264;

// The schema's column types (see job_schema_v1). Times are bigint ms since
// the epoch. id sorts bytewise (COLLATE "C") so list order and cursors do
// not depend on the database's locale.
const sql_types pg_types{"text COLLATE \"C\"", "text", "integer", "bigint"};

// Schema version 3: the change feed (see pg_store.hpp). "changeXid" is
// NULL on rows last changed before version 3: they are in no transaction
// of the feed. IF NOT EXISTS throughout, as in versions 1 and 2, so a
// version number set back by hand migrates again without error.
const char* const feed_schema_v3 = R"sql(
ALTER TABLE "ContentJob" ADD COLUMN IF NOT EXISTS "changeXid" xid8;
CREATE INDEX IF NOT EXISTS "ContentJob_changeXid"
  ON "ContentJob" ("changeXid");
-- One row per committed transaction that changed or deleted jobs: seq is
-- its position, dense and in commit order; at is when (the store's now).
CREATE TABLE IF NOT EXISTS "JobTxn" (
  seq bigint PRIMARY KEY,
  xid xid8 NOT NULL UNIQUE,
  at  bigint NOT NULL
);
-- prune() drops the transactions older than tombstone_keep_ms.
CREATE INDEX IF NOT EXISTS "JobTxn_at" ON "JobTxn" (at);
-- The newest seq handed out, and the highest seq prune() dropped: a
-- reader asking from before it may have missed deletions (gap).
CREATE TABLE IF NOT EXISTS "JobClock" (
  id              integer PRIMARY KEY CHECK (id = 0),
  seq             bigint NOT NULL,
  "prunedThrough" bigint NOT NULL
);
INSERT INTO "JobClock" (id, seq, "prunedThrough") VALUES (0, 0, 0)
  ON CONFLICT (id) DO NOTHING;
-- The deleted jobs, by the transaction that deleted them (at: when, the
-- store's now). prune() drops them with that transaction's JobTxn row.
CREATE TABLE IF NOT EXISTS "JobTombstone" (
  xid xid8 NOT NULL,
  id  text COLLATE "C" NOT NULL,
  at  bigint NOT NULL
);
CREATE INDEX IF NOT EXISTS "JobTombstone_xid" ON "JobTombstone" (xid);
)sql";

// Parameter n as PostgreSQL spells it.
std::string pg_param(int n) {
  std::string out{"$"}; // not "$" + ...: GCC 12's -Wrestrict false alarm
  out += std::to_string(n);
  return out;
}

// Every statement the store runs but the lists (see all_statements),
// prepared on each connection. $1 is "now" (NULL: the database clock)
// wherever a statement needs the time.
const std::pair<const char*, const char*> fixed_statements[] = {
  {"now", "SELECT " PG_NOW},
  // One statement for the whole batch (arrays zipped by unnest); the
  // data-modifying CTE always runs to completion, the outer query notifies
  // once if anything was inserted.
  // $8 timeouts (0: the type's default, stored as NULL).
  {"enqueue",
   "WITH ins AS (INSERT INTO \"ContentJob\" (id, type, status, payload, "
   "\"retryCount\", \"maxRetries\", priority, \"scheduledFor\", "
   "\"createdAt\", \"updatedAt\", \"changeXid\", \"timeoutMs\") "
   "SELECT i, t, 'PENDING', p, 0, m, pr, s, $1::bigint, $1::bigint, "
   PG_XID ", NULLIF(tm, 0) "
   "FROM unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::int[], "
   "$7::bigint[], $8::bigint[]) AS n(i, t, p, m, pr, s, tm) RETURNING 1) "
   "SELECT " PG_NOTIFY " FROM ins LIMIT 1"},
  // enqueue for jobs with a unique key ($8 keys, $9 states, $10 period
  // ends, $11 timeouts): a job whose key is taken is not inserted (ON CONFLICT on the
  // unique index, which also catches a key taken earlier in the same
  // batch, or by another transaction: the insert waits for it to end).
  // Returns the ids inserted.
  {"enqueue_unique",
   "WITH ins AS (INSERT INTO \"ContentJob\" (id, type, status, payload, "
   "\"retryCount\", \"maxRetries\", priority, \"scheduledFor\", "
   "\"createdAt\", \"updatedAt\", \"changeXid\", \"uniqueKey\", "
   "\"uniqueStates\", \"uniqueUntil\", \"timeoutMs\") "
   "SELECT i, t, 'PENDING', p, 0, m, pr, s, $1::bigint, $1::bigint, "
   PG_XID ", k, us, uu, NULLIF(tm, 0) "
   "FROM unnest($2::text[], $3::text[], $4::text[], $5::int[], $6::int[], "
   "$7::bigint[], $8::text[], $9::int[], $10::bigint[], $11::bigint[]) "
   "AS n(i, t, p, m, pr, s, k, us, uu, tm) "
   "ON CONFLICT DO NOTHING RETURNING id) "
   "SELECT id, " PG_NOTIFY " FROM ins"},
  // The jobs holding the keys $1 with period ends $2 (through the unique
  // index: the condition repeats the index's word for word).
  {"key_holders",
   "SELECT " JOBD_JOB_COLUMNS " FROM \"ContentJob\" "
   "WHERE (\"uniqueKey\", \"uniqueUntil\") IN "
   "(SELECT * FROM unnest($1::text[], $2::bigint[])) AND " JOBD_UNIQUE_HOLDS},
  // ARRAY(...) makes the locking subquery run exactly once (an IN join
  // could be re-scanned); SKIP LOCKED lets concurrent claimers pass each
  // other instead of queueing on the same rows. The rows it returns stay
  // locked, so the outer WHERE needs only the ids (and then reads the
  // primary key; a status test there could lure the planner onto the
  // status index, reading every PENDING row).
  {"claim", PG_CLAIM_DUE JOBD_IN_PROCESS_CLAIMABLE PG_CLAIM_END},
  // claim for external workers: only jobs of the types $5.
  {"claim_types",
   PG_CLAIM_DUE "type = ANY ($5::text[]) AND " JOBD_NOT_PAUSED PG_CLAIM_END},
  {"complete",
   "UPDATE \"ContentJob\" SET status = 'COMPLETED', result = $2, error = "
   "NULL, \"completedAt\" = " PG_NOW ", \"updatedAt\" = " PG_NOW ", "
   "\"lockedBy\" = NULL, \"leaseExpiresAt\" = NULL, "
   "\"changeXid\" = " PG_XID " "
   "WHERE id = $3 AND attempt = $4::int AND \"lockedBy\" = $5 "
   "AND status = 'PROCESSING' RETURNING type"},
  // complete() for many attempts: arrays zipped by unnest, one row each.
  {"complete_all",
   "UPDATE \"ContentJob\" AS j SET status = 'COMPLETED', result = r.result, "
   "error = NULL, \"completedAt\" = " PG_NOW ", \"updatedAt\" = " PG_NOW ", "
   "\"lockedBy\" = NULL, \"leaseExpiresAt\" = NULL, "
   "\"changeXid\" = " PG_XID " "
   "FROM unnest($2::text[], $3::int[], $4::text[]) AS r(id, attempt, result) "
   "WHERE j.id = r.id AND j.attempt = r.attempt AND j.\"lockedBy\" = $5 "
   "AND j.status = 'PROCESSING' RETURNING j.id, j.type"},
  // One statement, so the fencing check and the change cannot be split by
  // a concurrent writer (READ COMMITTED re-checks WHERE on the new row).
  // All CASE arms read the row's old values.
  // The attempt is recorded by the same statement (JobAttempt).
  {"fail",
   "WITH u AS (UPDATE \"ContentJob\" SET "
   "status = CASE WHEN $6::boolean OR \"retryCount\" >= \"maxRetries\" "
   "THEN 'FAILED' ELSE 'PENDING' END, "
   "\"retryCount\" = CASE WHEN $6::boolean OR \"retryCount\" >= "
   "\"maxRetries\" THEN \"retryCount\" ELSE \"retryCount\" + 1 END, "
   "\"scheduledFor\" = CASE WHEN $6::boolean OR \"retryCount\" >= "
   "\"maxRetries\" THEN \"scheduledFor\" ELSE " PG_NOW " + $7::bigint END, "
   "\"completedAt\" = CASE WHEN $6::boolean OR \"retryCount\" >= "
   "\"maxRetries\" THEN " PG_NOW " ELSE \"completedAt\" END, "
   "error = $2, \"updatedAt\" = " PG_NOW ", \"lockedBy\" = NULL, "
   "\"leaseExpiresAt\" = NULL, \"changeXid\" = " PG_XID " "
   "WHERE id = $3 AND attempt = $4::int AND \"lockedBy\" = $5 "
   "AND status = 'PROCESSING' "
   "RETURNING id, attempt, \"workedBy\", \"startedAt\", status, "
   "\"retryCount\", \"scheduledFor\", "
   "CASE WHEN status = 'PENDING' THEN " PG_NOTIFY " END AS n, type), "
   "a AS (" JOBD_PG_RECORD_ATTEMPT " SELECT id, attempt, \"workedBy\", "
   "\"startedAt\", " PG_NOW ", 'failed', $2 FROM u ON CONFLICT DO NOTHING) "
   "SELECT status, \"retryCount\", \"scheduledFor\", n, type FROM u"},
  // Not a change: the row keeps its changeXid.
  {"heartbeat",
   "UPDATE \"ContentJob\" AS j SET \"leaseExpiresAt\" = " PG_NOW
   " + $2::bigint "
   "FROM unnest($3::text[], $4::int[]) AS r(id, attempt) "
   "WHERE j.id = r.id AND j.attempt = r.attempt AND j.\"lockedBy\" = $5 "
   "AND j.status = 'PROCESSING' RETURNING j.id"},
  // A change (unlike a heartbeat): progress reaches the feed. An empty
  // message is stored as NULL.
  {"progress",
   "UPDATE \"ContentJob\" AS j SET \"progressPpm\" = r.ppm, "
   "\"progressMessage\" = NULLIF(r.message, ''), \"progressAt\" = " PG_NOW
   ", \"updatedAt\" = " PG_NOW ", \"changeXid\" = " PG_XID " "
   "FROM unnest($2::text[], $3::int[], $4::int[], $5::text[]) "
   "AS r(id, attempt, ppm, message) "
   "WHERE j.id = r.id AND j.attempt = r.attempt AND j.\"lockedBy\" = $6 "
   "AND j.status = 'PROCESSING' RETURNING j.id"},
  {"release",
   "WITH u AS (UPDATE \"ContentJob\" AS j SET status = 'PENDING', "
   "\"lockedBy\" = NULL, "
   "\"leaseExpiresAt\" = NULL, \"updatedAt\" = " PG_NOW ", "
   "\"changeXid\" = " PG_XID " "
   "FROM unnest($2::text[], $3::int[]) AS r(id, attempt) "
   "WHERE j.id = r.id AND j.attempt = r.attempt AND j.\"lockedBy\" = $4 "
   "AND j.status = 'PROCESSING' RETURNING " PG_NOTIFY " AS n, j.type, j.id, "
   "j.attempt, j.\"startedAt\"), "
   "a AS (" JOBD_PG_RECORD_ATTEMPT " SELECT id, attempt, $4, \"startedAt\", "
   PG_NOW ", 'released', NULL FROM u ON CONFLICT DO NOTHING) "
   "SELECT n, type FROM u"},
  // The outer WHERE repeats the condition: rows locked by the subquery
  // cannot change, but it keeps the statement right on its own.
  {"rescue",
   "WITH u AS (UPDATE \"ContentJob\" SET "
   "status = CASE WHEN \"retryCount\" < \"maxRetries\" THEN 'PENDING' "
   "ELSE 'FAILED' END, "
   "\"retryCount\" = CASE WHEN \"retryCount\" < \"maxRetries\" "
   "THEN \"retryCount\" + 1 ELSE \"retryCount\" END, "
   "\"completedAt\" = CASE WHEN \"retryCount\" < \"maxRetries\" THEN NULL "
   "ELSE " PG_NOW " END, "
   "error = " JOBD_RESCUE_ERROR ", "
   "\"scheduledFor\" = " PG_NOW ", \"updatedAt\" = " PG_NOW ", "
   "\"lockedBy\" = NULL, \"leaseExpiresAt\" = NULL, "
   "\"changeXid\" = " PG_XID " "
   "WHERE id = ANY (ARRAY(SELECT id FROM \"ContentJob\" "
   "WHERE status = 'PROCESSING' AND \"leaseExpiresAt\" < " PG_NOW " "
   "FOR UPDATE SKIP LOCKED)) "
   "AND status = 'PROCESSING' AND \"leaseExpiresAt\" < " PG_NOW " "
   "RETURNING " JOBD_JOB_COLUMNS ", "
   "CASE WHEN status = 'PENDING' THEN " PG_NOTIFY " END AS notified), "
   "a AS (" JOBD_PG_RECORD_ATTEMPT " SELECT id, attempt, \"workedBy\", "
   "\"startedAt\", \"updatedAt\", 'lease_expired', error FROM u "
   "ON CONFLICT DO NOTHING) "
   "SELECT * FROM u"},
  {"get", "SELECT " JOBD_JOB_COLUMNS " FROM \"ContentJob\" WHERE id = $1"},
  {"retry",
   "UPDATE \"ContentJob\" SET status = 'PENDING', \"retryCount\" = 0, "
   "error = NULL, \"completedAt\" = NULL, \"scheduledFor\" = " PG_NOW ", "
   "\"updatedAt\" = " PG_NOW ", \"changeXid\" = " PG_XID " "
   "WHERE id = $2 AND status = 'FAILED' AND (\"uniqueKey\" IS NULL OR NOT "
   "EXISTS (SELECT 1 FROM \"ContentJob\" o WHERE o.\"uniqueKey\" = "
   "\"ContentJob\".\"uniqueKey\" AND o.\"uniqueUntil\" = "
   "\"ContentJob\".\"uniqueUntil\" AND o.id <> \"ContentJob\".id AND "
   JOBD_UNIQUE_HOLDS ")) "
   "RETURNING " JOBD_JOB_COLUMNS ", " PG_NOTIFY},
  // A deletion leaves a tombstone for the change feed (so does prune).
  {"remove",
   "WITH d AS (DELETE FROM \"ContentJob\" WHERE id = $2 "
   "AND status <> 'PROCESSING' RETURNING id, status, type), "
   "t AS (INSERT INTO \"JobTombstone\" (xid, id, at) "
   "SELECT " PG_XID ", id, " PG_NOW " FROM d) "
   "SELECT status, type FROM d"},
  // update(): read under a row lock, decide in C++, write back.
  {"lock_for_update", "SELECT " JOBD_JOB_COLUMNS ", " PG_NOW
                      " FROM \"ContentJob\" WHERE id = $2 FOR UPDATE"},
  {"update",
   "UPDATE \"ContentJob\" SET status = $2, priority = $3::int, "
   "\"scheduledFor\" = $4::bigint, \"maxRetries\" = $5::int, result = $6, "
   "error = $7, \"retryCount\" = $8::int, \"completedAt\" = $9::bigint, "
   "\"lockedBy\" = $10, \"leaseExpiresAt\" = $11::bigint, "
   "\"updatedAt\" = $12::bigint, \"changeXid\" = " PG_XID " WHERE id = $1 "
   "RETURNING CASE WHEN status = 'PENDING' THEN " PG_NOTIFY " "
   "WHEN status <> 'PROCESSING' AND attempt > 0 THEN "
   "pg_notify('jobd_settled', '') END"},
  {"counts", job_counts_sql},
  {"prune",
   "WITH d AS (DELETE FROM \"ContentJob\" WHERE id = ANY (ARRAY(SELECT id "
   "FROM \"ContentJob\" WHERE " JOBD_FINISHED " AND "
   "\"completedAt\" < $2::bigint LIMIT $3::int FOR UPDATE SKIP LOCKED)) "
   "AND " JOBD_FINISHED " AND \"completedAt\" < $2::bigint "
   "RETURNING id, status, type), "
   "t AS (INSERT INTO \"JobTombstone\" (xid, id, at) "
   "SELECT " PG_XID ", id, " PG_NOW " FROM d) "
   "SELECT status, type FROM d"},
  // -- the change feed (see pg_store.hpp) --
  // Drops the transactions older than the feed keeps ($2 ms) with their
  // tombstones; returns the highest seq dropped (NULL: none). Tombstones go
  // with their transaction's row, never before it, so a deletion is never
  // lost from the feed without "prunedThrough" covering it.
  {"feed_prune",
   "WITH t AS (DELETE FROM \"JobTxn\" WHERE at < " PG_NOW " - $2::bigint "
   "RETURNING seq, xid), "
   "d AS (DELETE FROM \"JobTombstone\" WHERE xid IN (SELECT xid FROM t)) "
   "SELECT max(seq) FROM t"},
  {"feed_pruned",
   "UPDATE \"JobClock\" SET \"prunedThrough\" = "
   "GREATEST(\"prunedThrough\", $1::bigint) WHERE id = 0"},
  // The last statement of a transaction that changed jobs: the clock's row
  // lock, held from here through COMMIT, orders the transactions of every
  // process, so seqs are dense and grow in commit order.
  {"feed_commit",
   "WITH c AS (UPDATE \"JobClock\" SET seq = seq + 1 WHERE id = 0 "
   "RETURNING seq) "
   "INSERT INTO \"JobTxn\" (seq, xid, at) "
   "SELECT seq, " PG_XID ", " PG_NOW " FROM c"},
  {"feed_position", "SELECT seq FROM \"JobClock\" WHERE id = 0"},
};

std::string text_of(const pqxx::field& f) {
  if (f.is_null())
    return {};
  return std::string{f.c_str(), f.size()};
}

// A result row as read_job (storage/job_table.hpp) reads it.
struct pg_row {
  const pqxx::row& r;
  std::string text(int i) const { return text_of(r[i]); }
  int64_t i64(int i) const { return r[i].as<int64_t>(0); }
};

job read_pg_job(const pqxx::row& r) {
  pg_row row{r};
  return read_job(row);
}

// The change feed's entries of the transactions `where` picks from JobTxn
// (alias x): each job the transaction changed and no later one did, then
// each job it deleted (only the id set). Columns: JOBD_JOB_COLUMNS,
// deleted, seq. One JobTxn row at a time, through the indexes on
// "changeXid" and on the tombstones' xid, so a LIMIT stops the scan early.
std::string feed_entries_sql(const std::string& where) {
  std::string tombstone = "id";
  for (int i = 1; i < job_column_count; ++i)
    tombstone += ", NULL";
  return "SELECT f.*, x.seq FROM \"JobTxn\" x CROSS JOIN LATERAL ("
         "SELECT " JOBD_JOB_COLUMNS ", false AS deleted FROM \"ContentJob\" "
         "WHERE \"changeXid\" = x.xid UNION ALL SELECT " + tombstone
         + ", true FROM \"JobTombstone\" WHERE xid = x.xid) f WHERE " + where;
}

// Positions in a feed_entries_sql row after the job columns.
constexpr int feed_col_deleted = job_column_count;
constexpr int feed_col_seq = job_column_count + 1;
constexpr int feed_col_pruned = job_column_count + 2; // "changes" only

// Every statement: the fixed ones, then one list statement per filter shape
// ("list0".."list7"), so each uses its index, then the feed's reads.
const std::vector<std::pair<std::string, std::string>>& all_statements() {
  static const auto all = [] {
    std::vector<std::pair<std::string, std::string>> v;
    for (auto& [name, sql] : fixed_statements)
      v.emplace_back(name, sql);
    for (int shape = 0; shape < list_shape_count; ++shape)
      v.emplace_back("list" + std::to_string(shape),
                     list_sql(shape, pg_param, "strpos"));
    // $1 now, $2 type, $3 note.
    v.emplace_back("pause", pause_insert_sql(pg_param, PG_NOW));
    // $1 type; a resumed type's jobs may be due: wake the workers.
    v.emplace_back("resume", "WITH d AS (" + pause_delete_sql(pg_param)
                               + " RETURNING type) SELECT " PG_NOTIFY
                                 " FROM d");
    v.emplace_back("pauses", pauses_sql);
    // Recurring schedules (storage/job_table.hpp has the parameters).
    v.emplace_back("schedule_put", schedule_put_sql(pg_param));
    v.emplace_back("schedules", schedules_sql);
    v.emplace_back("schedule_delete", schedule_delete_sql(pg_param));
    v.emplace_back("schedule_pause", schedule_pause_sql(pg_param));
    // Under the schedule's row lock, so the processes firing one schedule
    // take turns: the run's look-up, job and row commit together.
    v.emplace_back("schedule_lock", schedule_get_sql(pg_param) + " FOR UPDATE");
    v.emplace_back("schedule_run_exists",
                   "SELECT 1 FROM \"ScheduleRun\" WHERE schedule = $1 AND "
                   "\"runAt\" = $2::bigint");
    v.emplace_back("schedule_run_insert", schedule_run_insert_sql(pg_param));
    v.emplace_back("schedule_fired", schedule_fired_sql(pg_param));
    v.emplace_back("schedule_runs_prune", schedule_runs_prune_sql(pg_param));
    // Attempt history: $1 job id, $2 attempt, $3 worker, $4 startedAt,
    // $5 endedAt, $6 outcome, $7 error; and $1 job id, $2 limit.
    v.emplace_back("attempt_insert",
                   std::string{"INSERT INTO \"JobAttempt\" (\"jobId\", attempt, "
                               "worker, \"startedAt\", \"endedAt\", outcome, "
                               "error) VALUES ($1, $2::int, $3, $4::bigint, "
                               "$5::bigint, $6, $7) ON CONFLICT DO NOTHING"});
    v.emplace_back("attempts", attempts_sql(pg_param));
    // External types: $1 now, $2 type (the mark); $1 type (unmark).
    v.emplace_back("external_insert", external_insert_sql(pg_param, PG_NOW));
    v.emplace_back("external_delete", external_delete_sql(pg_param));
    v.emplace_back("external_types", external_types_sql);
    // External workers: $1 now, $2 id, $3 host, $4 types (a sighting);
    // $1 before (forget); $1 since, $2 limit (list); $1 since (their jobs).
    v.emplace_back("worker_seen", worker_seen_sql(pg_param, PG_NOW));
    v.emplace_back("workers_forget", workers_forget_sql(pg_param));
    v.emplace_back("workers", workers_sql(pg_param));
    v.emplace_back("worker_jobs", worker_jobs_sql(pg_param));
    // $1 after, $2 how many entries at most, with "prunedThrough" read in
    // the same snapshot (one row of NULL entry columns when none follow).
    v.emplace_back("changes",
                   "SELECT e.*, c.\"prunedThrough\" FROM \"JobClock\" c "
                   "LEFT JOIN LATERAL ("
                     + feed_entries_sql(
                       "x.seq > $1::bigint ORDER BY x.seq LIMIT $2::int")
                     + ") e ON true WHERE c.id = 0 ORDER BY e.seq");
    // $1 seq: that transaction's entries.
    v.emplace_back("changes_of", feed_entries_sql("x.seq = $1::bigint"));
    return v;
  }();
  return all;
}

// Array literals for unnest(): every element quoted, so no value can be
// read as NULL or break out of its element.
std::string text_array(const std::vector<std::string>& v) {
  std::string out = "{";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0)
      out += ',';
    out += '"';
    for (char c : v[i]) {
      if (c == '"' || c == '\\')
        out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

template <class Int>
std::string int_array(const std::vector<Int>& v) {
  std::string out = "{";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i > 0)
      out += ',';
    out += std::to_string(v[i]);
  }
  return out + "}";
}

// NULL for "not set" (empty text, zero time), as in the SQLite backend.
std::optional<std::string> opt(const std::string& v) {
  if (v.empty())
    return std::nullopt;
  return v;
}

std::optional<int64_t> opt(int64_t v) {
  if (v == 0)
    return std::nullopt;
  return v;
}


} // namespace

// The injected clock's "now" as statement parameter $1, or NULL for the
// database clock (see PG_NOW).
#define NOW_PARAM                                                              \
  (pg_.time == pg_time_source::injected                                        \
     ? std::optional<int64_t>{clock_->now_ms()}                                \
     : std::optional<int64_t>{})

// -- connection -----------------------------------------------------------------

struct pg_store::session {
  explicit session(const std::string& conninfo)
    : conn(conninfo), quiet(conn) {
  }
  pqxx::connection conn;
  // Notices (e.g. "relation already exists, skipping") are not errors;
  // libpq would print them to stderr.
  pqxx::quiet_errorhandler quiet;
  /// The open batch()'s transaction, if any: BEGIN and COMMIT are sent by
  /// the pg_tx (see pg_tx.hpp), on a pqxx::nontransaction. batch_tx goes
  /// first (its destructor rolls back through batch_base).
  std::unique_ptr<pqxx::nontransaction> batch_base;
  std::unique_ptr<pg_tx> batch_tx;
};

pg_store::pg_store(store_options opts, std::shared_ptr<const clock_source> clk,
                   pg_store_options pg, std::string conninfo,
                   std::string server)
  : opts_(std::move(opts)),
    clock_(std::move(clk)),
    pg_(pg),
    conninfo_(std::move(conninfo)),
    server_(std::move(server)) {
  count_slot_ = static_cast<int32_t>(std::random_device{}() % 16);
  auto timeout = pg_.call_timeout_ms >= 0
                   ? pg_.call_timeout_ms
                   : 2 * int64_t{opts_.pg_session_timeout_ms};
  if (timeout > 0)
    watchdog_ = std::make_unique<pg_watchdog>(timeout);
}

pg_watchdog::scope pg_store::watch() {
  bool on = s_ && !migrating_;
  return pg_watchdog::scope{on ? watchdog_.get() : nullptr,
                            on ? s_->conn.sock() : -1};
}

std::string pg_store::statement(const std::string& name) {
  for (auto& [n, sql] : all_statements())
    if (name == n)
      return sql;
  return {};
}

pg_store::~pg_store() {
  drop_connection();
}

bool login_refused(const std::string& error) {
  // libpq's wording (the server's FATAL lines in English, lc_messages C).
  static const char* const signs[] = {
    "password authentication failed", "no password supplied",
    "authentication failed for user", "pg_hba.conf",
    "permission denied for database", "SCRAM authentication",
  };
  for (auto sign : signs)
    if (error.find(sign) != std::string::npos)
      return true;
  // role "x" does not exist, database "x" does not exist
  return (error.find("role \"") != std::string::npos
          || error.find("database \"") != std::string::npos)
         && error.find("does not exist") != std::string::npos;
}

caf::expected<std::unique_ptr<pg_store>>
pg_store::open(const store_options& opts,
               std::shared_ptr<const clock_source> clk, pg_store_options pg) {
  if (!is_pg_url(opts.url))
    return make_error(errc::invalid,
                      "storage URL: a PostgreSQL URL starts with "
                      "postgresql:// or postgres://");
  if (pg.time == pg_time_source::injected && !clk)
    return make_error(errc::invalid,
                      "pg_store: injected time needs a clock_source");
  if (pg.reconnect_min_ms < 1 || pg.reconnect_max_ms < pg.reconnect_min_ms)
    return make_error(errc::invalid,
                      "pg_store: reconnect_min_ms must be >= 1 and <= "
                      "reconnect_max_ms");
  auto ci = make_pg_conninfo(opts.url, pg.connect_timeout_s,
                             opts.pg_session_timeout_ms);
  if (!ci)
    return ci.error();
  std::unique_ptr<pg_store> st{new pg_store(opts, std::move(clk), pg,
                                            std::move(ci->conninfo),
                                            std::move(ci->server))};
  if (auto err = st->connect()) {
    // At start, a server that answers but refuses the login (wrong
    // password, unknown role or database, no pg_hba.conf entry) will not
    // change its mind: stop at once instead of retrying as for a server
    // that is down. Later reconnects keep retrying (a password may be
    // rotated back, a role re-created).
    if (login_refused(st->last_connect_error_))
      return make_error(errc::invalid,
                        "PostgreSQL at " + st->server_ + " refused the login: "
                          + st->last_connect_error_
                          + "; check the user and password (in the URL, "
                            "PGPASSWORD or ~/.pgpass) and that the role and "
                            "database exist and pg_hba.conf lets them in");
    return err;
  }
  if (opts.read_only)
    return st; // the writer migrates; reads fail until the schema exists
  if (auto err = st->migrate())
    return err;
  return st;
}

const std::string& pg_store::server() const {
  return server_;
}

int pg_store::backend_pid() const {
  return s_ ? s_->conn.backendpid() : 0;
}

void pg_store::drop_connection() {
  if (!s_)
    return;
  // The transaction first: its destructor talks to the connection (and
  // swallows the failure when the connection is gone).
  s_->batch_tx.reset();
  s_->batch_base.reset();
  s_.reset();
}

caf::error pg_store::connect() {
  try {
    auto s = std::make_unique<session>(conninfo_);
    // set_variable, not a plain SET: libpqxx restores these itself if it
    // ever re-opens the connection on its own (it retries a failed BEGIN).
    s->conn.set_variable("client_min_messages", "warning");
    // The SQLite busy timeout's counterpart: how long a statement waits
    // for a row lock before giving up (errc::busy).
    // A transaction left open by a cut (this process can no longer send
    // COMMIT) would hold its row locks until TCP gives up, hours later, and
    // the rescue sweep skips locked rows: the server ends such a session
    // after pg_session_timeout_ms. A URL that sets it (options=-c ...)
    // keeps its own.
    if (opts_.pg_session_timeout_ms > 0
        && opts_.url.find("idle_in_transaction_session_timeout")
             == std::string::npos)
      s->conn.set_variable(
        "idle_in_transaction_session_timeout",
        std::to_string(opts_.pg_session_timeout_ms));
    s->conn.set_variable("lock_timeout",
                         std::to_string(std::max(0, opts_.busy_timeout_ms)));
    if (opts_.read_only) // the server refuses writes too
      s->conn.set_variable("default_transaction_read_only", "on");
    for (auto& [name, sql] : all_statements())
      s->conn.prepare(name, sql);
    s_ = std::move(s);
    connect_failures_ = 0;
    return {};
  } catch (const std::exception& e) {
    ++connect_failures_;
    // Exponential backoff with ±25% jitter, so a fleet of jobd processes
    // does not reconnect in lockstep when the server comes back.
    static thread_local std::mt19937 gen{std::random_device{}()};
    int64_t wait = pg_.reconnect_min_ms;
    for (int i = 1; i < connect_failures_ && wait < pg_.reconnect_max_ms; ++i)
      wait *= 2;
    wait = std::min<int64_t>(wait, pg_.reconnect_max_ms);
    std::uniform_int_distribution<int64_t> jitter{wait * 3 / 4, wait * 5 / 4};
    next_connect_ = std::chrono::steady_clock::now()
                    + std::chrono::milliseconds(jitter(gen));
    last_connect_error_ = pg_redact(first_line(e.what()), opts_.url);
    return make_error(errc::unavailable,
                      "cannot connect to PostgreSQL at " + server_ + ": "
                        + last_connect_error_
                        + "; check that the server runs and that the "
                          "storage URL names it");
  }
}

caf::error pg_store::ensure_connected() {
  // Shut down by the watchdog just as its call ended: unusable.
  if (s_ && watchdog_ && watchdog_->fired())
    drop_connection();
  if (s_ && s_->conn.is_open())
    return release_in_doubt();
  drop_connection();
  if (connect_failures_ > 0) {
    auto now = std::chrono::steady_clock::now();
    if (now < next_connect_) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    next_connect_ - now)
                    .count();
      return make_error(errc::unavailable,
                        "PostgreSQL at " + server_ + " is unreachable ("
                          + last_connect_error_ + "); next reconnect in "
                          + std::to_string(left) + " ms");
    }
  }
  if (auto err = connect())
    return err;
  return release_in_doubt();
}

caf::error pg_store::release_in_doubt() {
  if (in_doubt_.empty())
    return {};
  std::map<std::string, std::vector<lease_ref>> by_worker;
  for (auto& [worker, ref] : in_doubt_)
    by_worker[worker].push_back(ref);
  auto watching = watch();
  try {
    for (auto& [worker, refs] : by_worker) {
      std::vector<std::string> ids;
      std::vector<int32_t> attempts;
      for (auto& r : refs) {
        ids.push_back(r.id);
        attempts.push_back(r.attempt);
      }
      forget_changes();
      pqxx::nontransaction base{s_->conn};
      pg_tx tx{base, true, statement_sql};
      auto res = tx.exec_prepared("release", NOW_PARAM, text_array(ids),
                                  int_array(attempts), worker);
      for (const auto& row : res)
        count_change("PROCESSING", "PENDING", text_of(row[1]));
      tx.commit(closing_sql(tx));
      released_in_doubt_ += static_cast<int64_t>(res.size());
    }
  } catch (...) {
    // Kept for the next call: releasing twice changes nothing.
    forget_changes();
    return on_exception("handing back the jobs of a claim whose commit "
                        "was in doubt");
  }
  in_doubt_.clear();
  return {};
}

caf::error pg_store::read_only_refusal(const char* what) const {
  return make_error(errc::io, std::string{"this connection to PostgreSQL at "}
                                + server_ + " is read-only (a read pool's): "
                                + "refused " + what);
}

caf::error pg_store::on_exception(const char* what) {
  std::string msg;
  bool lost = false;
  bool in_doubt = false;
  bool read_only = false;
  errc code = errc::io;
  try {
    throw;
  } catch (const pqxx::in_doubt_error& e) {
    lost = true;
    in_doubt = true;
    msg = e.what();
  } catch (const pqxx::broken_connection& e) {
    lost = true;
    msg = e.what();
  } catch (const pqxx::sql_error& e) {
    msg = e.what();
    auto& state = e.sqlstate();
    // 08: connection exception; 57P01..03: the server is shutting down,
    // crashed, or not yet accepting connections.
    if (state.rfind("08", 0) == 0 || state.rfind("57P0", 0) == 0)
      lost = true;
    // A read-only server: after a failover this connection may point at
    // the demoted primary. Reconnecting lets libpq pick the writable host
    // of the URL (with target_session_attrs=read-write).
    else if (state == "25006")
      lost = read_only = true;
    // Lock not available (lock_timeout), serialization failure, deadlock:
    // another writer was in the way; trying again later can succeed.
    else if (state == "55P03" || state == "40001" || state == "40P01")
      code = errc::busy;
    // disk_full: the server could not extend a file; nothing was stored.
    else if (state == "53100")
      code = errc::full;
  } catch (const std::exception& e) {
    msg = e.what();
  }
  if (!lost && s_ && !s_->conn.is_open())
    lost = true;
  if (watchdog_ && watchdog_->fired()) {
    lost = true;
    msg = "no reply within " + std::to_string(watchdog_->timeout_ms())
          + " ms, connection given up (a network partition or a stalled "
            "server)";
  }
  if (lost) {
    if (batch_depth_ > 0)
      lost_in_batch_ = true; // batch() drops the connection at its end
    else
      drop_connection();
    if (read_only)
      return make_error(errc::unavailable,
                        "PostgreSQL at " + server_ + " is read-only while "
                          + what + " (" + first_line(msg)
                          + "); the next call reconnects: list the primary "
                            "in the storage URL, with "
                            "target_session_attrs=read-write");
    return make_error(errc::unavailable,
                      "lost the connection to PostgreSQL at " + server_
                        + " while " + what + " ("
                        + (in_doubt ? "the outcome is unknown: " : "")
                        + first_line(msg) + "); the next call reconnects");
  }
  if (code == errc::busy)
    return make_error(errc::busy, std::string{"database is busy while "}
                                    + what + " (" + first_line(msg) + ")");
  if (code == errc::full)
    return make_error(errc::full, "PostgreSQL at " + server_
                                    + " is out of disk space while " + what
                                    + "; nothing was stored ("
                                    + first_line(msg) + ")");
  return make_error(code, std::string{what} + ": " + first_line(msg));
}

const std::string& pg_store::statement_sql(const std::string& name) {
  static const auto by_name = [] {
    std::map<std::string, std::string> m;
    for (auto& [n, sql] : all_statements())
      m.emplace(n, sql);
    return m;
  }();
  return by_name.at(name);
}

caf::error
pg_store::run(const char* what, bool own_txn,
              const std::function<caf::error(pg_tx&)>& fn,
              bool reads_only) {
  if (opts_.read_only && !reads_only)
    return read_only_refusal(what);
  if (batch_depth_ > 0) {
    // PostgreSQL refuses every statement after the first error of a
    // transaction: report that error instead of sending more.
    if (batch_error_)
      return batch_error_;
    try {
      return fn(*s_->batch_tx);
    } catch (...) {
      batch_error_ = on_exception(what);
      return batch_error_;
    }
  }
  if (auto err = ensure_connected())
    return err;
  auto watching = watch();
  try {
    // A write runs in a transaction of its own, so the job counts it
    // changes and its feed position are written in the same commit.
    if (own_txn || !reads_only) {
      forget_changes();
      claimed_in_tx_.clear();
      pqxx::nontransaction base{s_->conn};
      pg_tx tx{base, true, statement_sql};
      auto err = fn(tx);
      if (err) {
        forget_changes();
        claimed_in_tx_.clear();
        return err; // the destructor rolls back
      }
      commit_claims(tx);
      return {};
    }
    pqxx::nontransaction base{s_->conn};
    pg_tx tx{base, false, statement_sql};
    return fn(tx);
  } catch (...) {
    return on_exception(what);
  }
}

caf::error pg_store::migrate() {
  // Building an index on a big table may take longer than any deadline.
  migrating_ = true;
  auto err = run("migrating the schema", true,
                 [&](pg_tx& tx) -> caf::error {
    // Held until commit: a second process starting now waits here, then
    // finds the schema in place.
    tx.exec("SELECT pg_advisory_xact_lock(" + std::to_string(migration_lock_key)
            + ")");
    int version = 0;
    auto exists = tx.exec("SELECT to_regclass('jobd_schema') IS NOT NULL");
    if (exists[0][0].as<bool>(false)) {
      auto v = tx.exec("SELECT max(version) FROM jobd_schema");
      version = v[0][0].as<int>(0);
    }
    if (version > pg_schema_version)
      return make_error(
        errc::schema,
        "database at " + server_ + " has jobd schema version "
          + std::to_string(version) + " but this jobd knows only up to "
          + std::to_string(pg_schema_version)
          + ": upgrade jobd, or point the storage URL at another database");
    if (version == pg_schema_version)
      return {};
    // jobd creates jobd_schema with its tables, so a ContentJob table
    // without it belongs to someone else: refuse it by name.
    if (version == 0
        && tx.exec("SELECT to_regclass('\"ContentJob\"') IS NOT NULL")[0][0]
             .as<bool>(false))
      return make_error(
        errc::schema,
        "database at " + server_
          + " has a \"ContentJob\" table that jobd did not create (no "
            "jobd_schema table); point the storage URL at another database "
            "or schema");
    // Creating tables needs CREATE on the schema; only done when missing,
    // so a user with plain read/write rights runs an up-to-date database.
    tx.exec("CREATE TABLE IF NOT EXISTS jobd_schema ("
            "id boolean PRIMARY KEY DEFAULT true CHECK (id), "
            "version integer NOT NULL)");
    if (version < 1)
      tx.exec(job_schema_v1(pg_types));
    if (version < 2)
      tx.exec(job_counts_schema_v2(pg_types));
    if (version < 3)
      tx.exec(feed_schema_v3);
    if (version < 4)
      tx.exec(unique_schema_v4(pg_types, true));
    if (version < 5) {
      // NOT VALID: every row already passes, so none is read now; the
      // constraint holds for every write from here on.
      tx.exec("ALTER TABLE \"ContentJob\" DROP CONSTRAINT IF EXISTS "
              "\"ContentJob_status_check\"");
      tx.exec("ALTER TABLE \"ContentJob\" ADD CONSTRAINT "
              "\"ContentJob_status_check\" CHECK (status IN ('PENDING', "
              "'PROCESSING', 'COMPLETED', 'FAILED', 'CANCELLED')) NOT VALID");
      tx.exec(done_index_schema_v5);
    }
    if (version < 6)
      tx.exec(progress_schema_v6(pg_types, true));
    if (version < 7)
      tx.exec(timeout_schema_v7(pg_types, true));
    if (version < 8)
      tx.exec(schedule_schema_v8(pg_types));
    if (version < 9)
      tx.exec(attempt_schema_v9(pg_types, true,
                                "REFERENCES \"ContentJob\" (id) ON DELETE "
                                "CASCADE"));
    if (version < 10)
      tx.exec(external_schema_v10(pg_types));
    if (version < 11)
      tx.exec(worker_schema_v11(pg_types));
    // Future migrations: if (version < 12) { ... }
    tx.exec("INSERT INTO jobd_schema (id, version) VALUES (true, "
            + std::to_string(pg_schema_version)
            + ") ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version");
    return {};
  });
  migrating_ = false;
  if (err && code_of(err) == errc::io
      && message_of(err).find("permission denied") != std::string::npos)
    return make_error(errc::io,
                      message_of(err)
                        + "; grant the storage URL's user CREATE on the "
                          "schema, or let the database owner start jobd "
                          "once to create the tables");
  return err;
}

// The injected clock as a parameter, or NULL for the database clock.
void pg_store::count_change(const std::string& from, const std::string& to,
                            const std::string& type, int64_t n) {
  if (n == 0)
    return;
  jobs_changed_ = true;
  if (from == to)
    return;
  if (!from.empty())
    count_deltas_[{from, type}] -= n;
  if (!to.empty())
    count_deltas_[{to, type}] += n;
}

std::string pg_store::closing_sql(pg_tx& tx) {
  std::string out;
  // One statement for every count changed, in key order (count_deltas_
  // is a map), so two writers sharing a slot lock its rows in one order.
  std::string rows;
  for (auto& [key, delta] : count_deltas_) {
    if (delta == 0)
      continue;
    rows += rows.empty() ? "(" : ", (";
    rows += tx.literal(key.first) + ", " + tx.literal(key.second) + ", "
            + tx.literal(count_slot_) + ", " + tx.literal(delta) + ")";
  }
  if (!rows.empty())
    out += job_count_add_rows_sql(rows) + "; ";
  // JobClock last: every writer locks its JobCount rows before the clock
  // row, so they never wait on each other in a cycle, and the clock's lock
  // is held only through the commit, which travels in the same message.
  if (feed_pruned_through_ > 0)
    out += tx.bind("feed_pruned", feed_pruned_through_) + "; ";
  if (jobs_changed_)
    out += tx.bind("feed_commit", NOW_PARAM) + "; ";
  forget_changes();
  return out;
}

void pg_store::commit_claims(pg_tx& tx) {
  auto closing = closing_sql(tx);
  try {
    tx.commit(closing);
  } catch (const pqxx::in_doubt_error&) {
    // The COMMIT was sent and its reply lost: the jobs claimed may be
    // PROCESSING under this worker, which never got them. Released after
    // the reconnect (see release_in_doubt).
    for (auto& c : claimed_in_tx_)
      in_doubt_.push_back(c);
    claimed_in_tx_.clear();
    throw;
  }
  claimed_in_tx_.clear();
}

void pg_store::forget_changes() {
  count_deltas_.clear();
  jobs_changed_ = false;
  feed_pruned_through_ = 0;
}

caf::error pg_store::batch(const std::function<caf::error()>& fn) {
  if (opts_.read_only)
    return read_only_refusal("starting a batch");
  if (batch_depth_ > 0)
    return fn();
  if (auto err = ensure_connected())
    return err;
  auto watching = watch(); // the whole batch, commit included
  try {
    s_->batch_base = std::make_unique<pqxx::nontransaction>(s_->conn);
    s_->batch_tx = std::make_unique<pg_tx>(*s_->batch_base, true,
                                           statement_sql);
  } catch (...) {
    return on_exception("starting a batch");
  }
  batch_depth_ = 1;
  batch_error_ = caf::error{};
  lost_in_batch_ = false;
  forget_changes();
  claimed_in_tx_.clear();
  auto end_tx = [this] {
    if (!s_)
      return;
    s_->batch_tx.reset(); // rolls back if not committed
    s_->batch_base.reset();
  };
  caf::error err;
  try {
    err = fn();
  } catch (...) {
    batch_depth_ = 0;
    drop_connection(); // the transaction's state is unknown
    throw;
  }
  batch_depth_ = 0;
  if (!err)
    err = batch_error_;
  if (err || lost_in_batch_) {
    forget_changes();
    claimed_in_tx_.clear();
    end_tx();
    if (lost_in_batch_)
      drop_connection();
    return err;
  }
  try {
    commit_claims(*s_->batch_tx);
    end_tx();
  } catch (...) {
    forget_changes();
    claimed_in_tx_.clear();
    auto cerr = on_exception("committing a batch");
    end_tx();
    return cerr;
  }
  return {};
}

// -- operations ---------------------------------------------------------------

caf::expected<std::vector<job>>
pg_store::enqueue(const std::vector<new_job>& jobs) {
  if (auto err = validate_new_jobs(jobs))
    return err;
  std::vector<job> out;
  if (jobs.empty())
    return out;
  auto err = run("enqueueing jobs", false,
                 [&](pg_tx& tx) -> caf::error {
    out.clear();
    // Ids carry their creation time, so they need "now" before the insert.
    auto now_p = NOW_PARAM;
    ms_t now = now_p ? *now_p
                     : tx.exec_prepared1("now", now_p)[0].as<int64_t>();
    std::vector<std::string> ids, types, payloads;
    std::vector<int32_t> max_retries, priorities;
    std::vector<int64_t> scheduled, timeouts;
    std::vector<size_t> unique; // positions in out of jobs with a key
    for (auto& nj : jobs) {
      auto j = stored_job(nj, now);
      if (!j.unique_key.empty()) {
        unique.push_back(out.size());
        out.push_back(std::move(j));
        continue;
      }
      ids.push_back(j.id);
      types.push_back(j.type);
      payloads.push_back(j.payload);
      max_retries.push_back(j.max_retries);
      priorities.push_back(j.priority);
      scheduled.push_back(j.scheduled_for);
      timeouts.push_back(j.timeout_ms);
      out.push_back(std::move(j));
    }
    if (!ids.empty()) {
      tx.exec_prepared("enqueue", now, text_array(ids), text_array(types),
                       text_array(payloads), int_array(max_retries),
                       int_array(priorities), int_array(scheduled),
                       int_array(timeouts));
      for (auto& t : types)
        count_change({}, "PENDING", t);
    }
    return enqueue_unique(tx, now, out, unique);
  });
  if (err)
    return err;
  return out;
}

caf::error pg_store::enqueue_unique(pg_tx& tx, ms_t now,
                                    std::vector<job>& out,
                                    std::vector<size_t> todo) {
  // Insert what is free; return the holders of the rest. A holder may
  // leave its state between the two statements (another transaction
  // finished it), freeing the key: insert again, a few times at most.
  for (int round = 0; round < 3 && !todo.empty(); ++round) {
    std::vector<std::string> ids, types, payloads, keys;
    std::vector<int32_t> max_retries, priorities, states;
    std::vector<int64_t> scheduled, until, timeouts;
    for (auto i : todo) {
      auto& j = out[i];
      ids.push_back(j.id);
      types.push_back(j.type);
      payloads.push_back(j.payload);
      max_retries.push_back(j.max_retries);
      priorities.push_back(j.priority);
      scheduled.push_back(j.scheduled_for);
      keys.push_back(j.unique_key);
      states.push_back(j.unique_states);
      until.push_back(j.unique_until);
      timeouts.push_back(j.timeout_ms);
    }
    auto res = tx.exec_prepared(
      "enqueue_unique", now, text_array(ids), text_array(types),
      text_array(payloads), int_array(max_retries), int_array(priorities),
      int_array(scheduled), text_array(keys), int_array(states),
      int_array(until), int_array(timeouts));
    std::set<std::string> inserted;
    for (const auto& row : res)
      inserted.insert(text_of(row[0]));
    std::vector<size_t> taken;
    keys.clear();
    until.clear();
    for (auto i : todo) {
      if (inserted.count(out[i].id)) {
        count_change({}, "PENDING", out[i].type);
        continue;
      }
      taken.push_back(i);
      keys.push_back(out[i].unique_key);
      until.push_back(out[i].unique_until);
    }
    if (taken.empty())
      return {};
    std::map<std::pair<std::string, int64_t>, job> holders;
    for (const auto& row : tx.exec_prepared("key_holders", text_array(keys),
                                            int_array(until))) {
      auto h = read_pg_job(row);
      auto key = std::make_pair(h.unique_key, h.unique_until);
      holders.emplace(key, std::move(h));
    }
    todo.clear();
    for (auto i : taken) {
      auto h = holders.find({out[i].unique_key, out[i].unique_until});
      if (h == holders.end()) {
        todo.push_back(i);
        continue;
      }
      out[i] = h->second;
      out[i].duplicate = true;
    }
  }
  if (todo.empty())
    return {};
  return make_error(errc::busy, "enqueueing jobs: unique key '"
                                  + out[todo.front()].unique_key
                                  + "' kept changing hands; try again");
}

caf::expected<std::optional<job>>
pg_store::key_holder(const std::string& key, ms_t until) {
  std::optional<job> out;
  auto err = run("looking up a unique key", false,
                 [&](pg_tx& tx) -> caf::error {
    out.reset();
    auto res = tx.exec_prepared("key_holders", text_array({key}),
                                int_array(std::vector<int64_t>{until}));
    if (!res.empty())
      out = read_pg_job(res[0]);
    return {};
  }, true);
  if (err)
    return err;
  return out;
}

caf::expected<std::vector<job>>
pg_store::claim(const std::string& worker, int32_t limit, ms_t lease_ms) {
  std::vector<job> out;
  if (limit <= 0)
    return out;
  auto err = run("claiming jobs", false,
                 [&](pg_tx& tx) -> caf::error {
    collect_claimed(tx.exec_prepared("claim", NOW_PARAM, worker, lease_ms,
                                     limit),
                    worker, out);
    return {};
  });
  if (err)
    return err;
  // RETURNING has no order: restore claim order.
  std::sort(out.begin(), out.end(), claims_before);
  return out;
}

void pg_store::collect_claimed(const pqxx::result& res,
                               const std::string& worker,
                               std::vector<job>& out) {
  out.clear();
  for (const auto& row : res) {
    out.push_back(read_pg_job(row));
    count_change("PENDING", "PROCESSING", out.back().type);
    claimed_in_tx_.emplace_back(worker,
                                lease_ref{out.back().id, out.back().attempt});
  }
}

caf::expected<std::vector<job>>
pg_store::claim_types(const std::string& worker,
                      const std::vector<std::string>& types, int32_t limit,
                      ms_t lease_ms) {
  std::vector<job> out;
  if (limit <= 0 || types.empty())
    return out;
  auto err = run("claiming jobs of types", false,
                 [&](pg_tx& tx) -> caf::error {
    collect_claimed(tx.exec_prepared("claim_types", NOW_PARAM, worker,
                                     lease_ms, limit, text_array(types)),
                    worker, out);
    return {};
  });
  if (err)
    return err;
  std::sort(out.begin(), out.end(), claims_before);
  return out;
}

caf::error pg_store::declare_types(const std::vector<std::string>& external,
                                   const std::vector<std::string>& in_process) {
  for (auto* list : {&external, &in_process})
    for (auto& t : *list)
      if (auto err = validate_pause(t, {}))
        return err;
  return run("declaring external job types", true,
             [&](pg_tx& tx) -> caf::error {
    for (auto& t : external)
      tx.exec_prepared("external_insert", NOW_PARAM, t);
    for (auto& t : in_process)
      tx.exec_prepared("external_delete", t);
    return {};
  });
}

caf::expected<std::vector<std::string>> pg_store::external_types() {
  std::vector<std::string> out;
  auto err = run("reading external job types", false,
                 [&](pg_tx& tx) -> caf::error {
    out.clear();
    for (const auto& row : tx.exec_prepared("external_types"))
      out.push_back(text_of(row[0]));
    return {};
  }, true);
  if (err)
    return err;
  return out;
}

caf::error pg_store::see_workers(const std::vector<worker_info>& seen) {
  for (auto& w : seen)
    if (auto err = validate_worker_seen(w))
      return err;
  return run("recording worker sightings", true,
             [&](pg_tx& tx) -> caf::error {
    auto now_p = NOW_PARAM;
    auto now = now_p ? *now_p
                     : tx.exec_prepared1("now", now_p)[0].as<int64_t>();
    for (auto& w : seen)
      tx.exec_prepared("worker_seen", now, w.id, w.host,
                       join_worker_types(w.types));
    tx.exec_prepared("workers_forget", now - worker_forget_ms);
    return {};
  });
}

caf::expected<worker_list> pg_store::workers() {
  worker_list out;
  auto err = run("reading workers", false,
                 [&](pg_tx& tx) -> caf::error {
    auto now_p = NOW_PARAM;
    auto now = now_p ? *now_p
                     : tx.exec_prepared1("now", now_p)[0].as<int64_t>();
    auto since = now - worker_forget_ms;
    std::vector<worker_info> rows;
    for (const auto& row : tx.exec_prepared("workers", since,
                                            max_workers_listed + 1)) {
      worker_info w;
      w.id = text_of(row[0]);
      w.host = text_of(row[1]);
      w.types = split_worker_types(text_of(row[2]));
      w.first_seen_at = row[3].as<int64_t>();
      w.last_seen_at = row[4].as<int64_t>();
      rows.push_back(std::move(w));
    }
    std::vector<std::pair<std::string, std::string>> held;
    if (!rows.empty())
      for (const auto& row : tx.exec_prepared("worker_jobs", since))
        held.emplace_back(text_of(row[0]), text_of(row[1]));
    out = assemble_workers(std::move(rows), held, now);
    return {};
  }, true);
  if (err)
    return err;
  return out;
}

caf::expected<bool> pg_store::complete(const lease_ref& ref,
                                       const std::string& worker,
                                       const std::string& result_json) {
  bool applied = false;
  auto err = run("completing a job", false,
                 [&](pg_tx& tx) -> caf::error {
    auto res = tx.exec_prepared(
      "complete", NOW_PARAM,
      result_json.empty() ? std::string{"null"} : result_json, ref.id,
      ref.attempt, worker);
    applied = res.size() == 1;
    if (applied)
      count_change("PROCESSING", "COMPLETED", text_of(res[0][0]));
    return {};
  });
  if (err)
    return err;
  return applied;
}

caf::expected<std::vector<std::string>>
pg_store::complete_all(const std::string& worker,
                       const std::vector<completion>& done) {
  std::vector<std::string> applied;
  if (done.empty())
    return applied;
  std::vector<std::string> ids, results;
  std::vector<int32_t> attempts;
  for (auto& c : done) {
    ids.push_back(c.ref.id);
    attempts.push_back(c.ref.attempt);
    results.push_back(c.result.empty() ? std::string{"null"} : c.result);
  }
  auto err = run("completing jobs", false,
                 [&](pg_tx& tx) -> caf::error {
    auto res = tx.exec_prepared("complete_all", NOW_PARAM, text_array(ids),
                                int_array(attempts), text_array(results),
                                worker);
    std::set<std::string> got;
    for (const auto& row : res) {
      got.insert(text_of(row[0]));
      count_change("PROCESSING", "COMPLETED", text_of(row[1]));
    }
    applied.clear();
    for (auto& id : ids) // in the order given, each once
      if (got.erase(id) > 0)
        applied.push_back(id);
    return {};
  });
  if (err)
    return err;
  return applied;
}

caf::expected<fail_outcome>
pg_store::fail(const lease_ref& ref, const std::string& worker,
               const std::string& error, bool permanent, ms_t retry_delay_ms) {
  fail_outcome out;
  auto err = run("recording a failed attempt", false,
                 [&](pg_tx& tx) -> caf::error {
    auto res = tx.exec_prepared("fail", NOW_PARAM, error, ref.id, ref.attempt,
                                worker, permanent,
                                std::max<ms_t>(0, retry_delay_ms));
    out = fail_outcome{};
    if (res.empty())
      return {}; // stale: applied stays false
    out.applied = true;
    parse_status(text_of(res[0][0]), out.status);
    out.retry_count = res[0][1].as<int32_t>(0);
    if (out.status == job_status::pending)
      out.scheduled_for = res[0][2].as<int64_t>(0);
    count_change("PROCESSING", text_of(res[0][0]), text_of(res[0][4]));
    return {};
  });
  if (err)
    return err;
  return out;
}

caf::expected<std::vector<std::string>>
pg_store::heartbeat(const std::string& worker,
                    const std::vector<lease_ref>& refs, ms_t lease_ms) {
  std::vector<std::string> renewed;
  if (refs.empty())
    return renewed;
  std::vector<std::string> ids;
  std::vector<int32_t> attempts;
  for (auto& r : refs) {
    ids.push_back(r.id);
    attempts.push_back(r.attempt);
  }
  auto err = run("renewing leases", false,
                 [&](pg_tx& tx) -> caf::error {
    auto res = tx.exec_prepared("heartbeat", NOW_PARAM, lease_ms,
                                text_array(ids), int_array(attempts), worker);
    std::set<std::string> got;
    for (const auto& row : res)
      got.insert(text_of(row[0]));
    // In the order asked, as SQLite does.
    renewed.clear();
    for (auto& r : refs)
      if (got.erase(r.id) > 0)
        renewed.push_back(r.id);
    return {};
  });
  if (err)
    return err;
  return renewed;
}

caf::expected<std::vector<std::string>>
pg_store::progress(const std::string& worker,
                   const std::vector<progress_update>& updates) {
  std::vector<std::string> written;
  if (updates.empty())
    return written;
  std::vector<std::string> ids, messages;
  std::vector<int32_t> attempts;
  std::vector<int64_t> ppms;
  for (auto& u : updates) {
    ids.push_back(u.ref.id);
    attempts.push_back(u.ref.attempt);
    ppms.push_back(ppm_of_progress(progress_fraction(u.fraction)));
    messages.push_back(progress_text(u.message));
  }
  auto err = run("storing progress", false, [&](pg_tx& tx) -> caf::error {
    auto res = tx.exec_prepared("progress", NOW_PARAM, text_array(ids),
                                int_array(attempts), int_array(ppms),
                                text_array(messages), worker);
    std::set<std::string> got;
    for (const auto& row : res)
      got.insert(text_of(row[0]));
    count_change("PROCESSING", "PROCESSING", "",
                 static_cast<int64_t>(got.size()));
    written.clear();
    for (auto& id : ids)
      if (got.erase(id) > 0)
        written.push_back(id);
    return {};
  });
  if (err)
    return err;
  return written;
}

caf::expected<int64_t> pg_store::release(const std::string& worker,
                                         const std::vector<lease_ref>& refs) {
  int64_t n = 0;
  if (refs.empty())
    return n;
  std::vector<std::string> ids;
  std::vector<int32_t> attempts;
  for (auto& r : refs) {
    ids.push_back(r.id);
    attempts.push_back(r.attempt);
  }
  auto err = run("releasing jobs", false,
                 [&](pg_tx& tx) -> caf::error {
    auto res = tx.exec_prepared("release", NOW_PARAM, text_array(ids),
                                int_array(attempts), worker);
    n = static_cast<int64_t>(res.size());
    for (const auto& row : res)
      count_change("PROCESSING", "PENDING", text_of(row[1]));
    return {};
  });
  if (err)
    return err;
  return n;
}

caf::expected<int64_t> pg_store::rescue_expired(std::vector<job>* rescued) {
  int64_t n = 0;
  auto err = run("rescuing expired leases", false,
                 [&](pg_tx& tx) -> caf::error {
    auto res = tx.exec_prepared("rescue", NOW_PARAM);
    n = 0;
    if (rescued)
      rescued->clear();
    for (const auto& row : res) {
      auto j = read_pg_job(row);
      ++n;
      count_change("PROCESSING", to_string(j.status), j.type);
      if (rescued)
        rescued->push_back(std::move(j));
    }
    return {};
  });
  if (err)
    return err;
  return n;
}

caf::expected<attempt_history> pg_store::attempts(const std::string& id,
                                                  int32_t limit) {
  limit = std::clamp(limit, 1, max_attempts_listed);
  caf::expected<attempt_history> out = job_not_found(id);
  auto err = run("reading a job's attempts", false,
                 [&](pg_tx& tx) -> caf::error {
    auto cur = tx.exec_prepared("get", id);
    if (cur.empty()) {
      out = job_not_found(id);
      return {};
    }
    auto j = read_pg_job(cur[0]);
    auto res = tx.exec_prepared("attempts", id, limit + 1);
    std::vector<attempt_record> rows;
    for (const auto& row : res) {
      pg_row r{row};
      rows.push_back(read_attempt(r));
    }
    out = assemble_history(j, std::move(rows), limit);
    return {};
  }, true);
  if (err)
    return err;
  return out;
}

caf::expected<job> pg_store::get(const std::string& id) {
  caf::expected<job> out = job_not_found(id);
  auto err = run("reading a job", false,
                 [&](pg_tx& tx) -> caf::error {
    auto res = tx.exec_prepared("get", id);
    if (!res.empty())
      out = read_pg_job(res[0]);
    return {};
  }, true);
  if (err)
    return err;
  return out;
}

caf::expected<job> pg_store::get_for_update(const std::string& id) {
  caf::expected<job> out = job_not_found(id);
  auto err = run("locking a job", false, [&](pg_tx& tx) -> caf::error {
    auto res = tx.exec_prepared("lock_for_update", NOW_PARAM, id);
    if (!res.empty())
      out = read_pg_job(res[0]); // the job's columns; "now" after them
    return {};
  });
  if (err)
    return err;
  return out;
}

caf::expected<job_page> pg_store::list(const job_filter& f) {
  if (auto err = validate_filter(f))
    return err;
  auto name = "list" + std::to_string(list_shape(f));
  std::vector<std::string> args;
  if (!f.status.empty())
    args.push_back(f.status);
  if (!f.type.empty())
    args.push_back(f.type);
  if (!f.cursor.empty())
    args.push_back(f.cursor);
  if (!f.q.empty()) {
    auto range = search_id_range(f.q);
    args.push_back(range.first);
    args.push_back(range.second);
    args.push_back(f.q);
  }
  args.push_back(std::to_string(f.limit + 1)); // one more: is there a next page?
  job_page page;
  auto err = run("listing jobs", false,
                 [&](pg_tx& tx) -> caf::error {
    auto res = tx.base().exec_prepared(
      name, pqxx::prepare::make_dynamic_params(args));
    page.jobs.clear();
    for (const auto& row : res)
      page.jobs.push_back(read_pg_job(row));
    return {};
  }, true);
  if (err)
    return err;
  finish_page(page, f.limit);
  return page;
}

caf::expected<job> pg_store::retry(const std::string& id) {
  std::optional<job> out;
  auto err = run("retrying a job", false,
                 [&](pg_tx& tx) -> caf::error {
    auto res = tx.exec_prepared("retry", NOW_PARAM, id);
    if (!res.empty()) {
      out = read_pg_job(res[0]);
      count_change("FAILED", "PENDING", out->type);
    }
    return {};
  });
  if (err)
    return err;
  if (out)
    return std::move(*out);
  auto cur = get(id);
  if (!cur)
    return cur.error();
  if (cur->status == job_status::failed && !cur->unique_key.empty()) {
    auto holder = key_holder(cur->unique_key, cur->unique_until);
    if (!holder)
      return holder.error();
    if (*holder && (*holder)->id != id) {
      cur->status = job_status::pending;
      return unique_key_taken(*cur, **holder);
    }
  }
  return not_retryable(id, cur->status);
}

caf::error pg_store::remove(const std::string& id) {
  bool deleted = false;
  auto err = run("deleting a job", false,
                 [&](pg_tx& tx) -> caf::error {
    auto res = tx.exec_prepared("remove", NOW_PARAM, id);
    deleted = res.size() == 1;
    if (deleted)
      count_change(text_of(res[0][0]), {}, text_of(res[0][1]));
    return {};
  });
  if (err)
    return err;
  if (deleted)
    return {};
  auto cur = get(id);
  if (!cur)
    return cur.error();
  return still_processing(id);
}

caf::expected<job> pg_store::update(const std::string& id,
                                    const job_patch& p) {
  if (auto err = validate_patch(p))
    return err;
  job j;
  auto err = run("updating a job", true,
                 [&](pg_tx& tx) -> caf::error {
    auto cur = tx.exec_prepared("lock_for_update", NOW_PARAM, id);
    if (cur.empty())
      return job_not_found(id);
    j = read_pg_job(cur[0]);
    auto was = j.status;
    auto now = cur[0][job_column_count].as<int64_t>(); // after the job columns
    auto before = j;
    if (auto perr = apply_patch(j, p, now))
      return perr;
    if (auto ended = attempt_ended_by_hand(before, j, now))
      tx.exec_prepared("attempt_insert", id, ended->attempt, opt(ended->worker),
                       opt(ended->started_at), ended->ended_at,
                       std::string{to_string(ended->outcome)},
                       opt(ended->error));
    if (j.status != was && holds_unique_key(j)) {
      auto res = tx.exec_prepared("key_holders", text_array({j.unique_key}),
                                  int_array(std::vector<int64_t>{
                                    j.unique_until}));
      for (const auto& row : res) {
        auto h = read_pg_job(row);
        if (h.id != j.id)
          return unique_key_taken(j, h);
      }
    }
    tx.exec_prepared("update", id, to_string(j.status), j.priority,
                     j.scheduled_for, j.max_retries, opt(j.result),
                     opt(j.error), j.retry_count, opt(j.completed_at),
                     opt(j.locked_by), opt(j.lease_expires_at), j.updated_at);
    count_change(to_string(was), to_string(j.status), j.type);
    return {};
  });
  if (err)
    return err;
  return j;
}

caf::expected<type_pause> pg_store::pause_type(const std::string& type,
                                               const std::string& note) {
  if (auto err = validate_pause(type, note))
    return err;
  auto err = run("pausing a job type", false, [&](pg_tx& tx) -> caf::error {
    tx.exec_prepared("pause", NOW_PARAM, type, note);
    return {};
  });
  if (err)
    return err;
  return stored_pause(*this, type);
}

caf::expected<bool> pg_store::resume_type(const std::string& type) {
  bool resumed = false;
  auto err = run("resuming a job type", false, [&](pg_tx& tx) -> caf::error {
    resumed = !tx.exec_prepared("resume", type).empty();
    return {};
  });
  if (err)
    return err;
  return resumed;
}

// -- recurring schedules --------------------------------------------------------

// A result row as read_schedule reads it.
static schedule read_pg_schedule(const pqxx::row& r) {
  pg_row row{r};
  return read_schedule(row);
}

ms_t pg_store::now_in(pg_tx& tx) {
  auto now_p = NOW_PARAM;
  return now_p ? *now_p : tx.exec_prepared1("now", now_p)[0].as<int64_t>();
}

caf::expected<schedule> pg_store::put_schedule(const schedule& in) {
  if (auto err = validate_schedule(in))
    return err;
  auto err = run("storing a schedule", false, [&](pg_tx& tx) -> caf::error {
    tx.exec_prepared("schedule_put", in.name, in.cron, in.time_zone, in.type,
                     in.payload, in.priority, in.max_retries, in.missed,
                     in.catch_up_ms, in.source, now_in(tx));
    return {};
  });
  if (err)
    return err;
  return stored_schedule(*this, in.name);
}

caf::expected<std::vector<schedule>> pg_store::schedules() {
  std::vector<schedule> out;
  auto err = run("reading schedules", false, [&](pg_tx& tx) -> caf::error {
    out.clear();
    for (const auto& row : tx.exec_prepared("schedules"))
      out.push_back(read_pg_schedule(row));
    return {};
  }, true);
  if (err)
    return err;
  return out;
}

caf::expected<bool> pg_store::remove_schedule(const std::string& name) {
  bool removed = false;
  auto err = run("deleting a schedule", false, [&](pg_tx& tx) -> caf::error {
    removed = tx.exec_prepared("schedule_delete", name).affected_rows() > 0;
    return {};
  });
  if (err)
    return err;
  return removed;
}

caf::expected<schedule> pg_store::pause_schedule(const std::string& name,
                                                 bool paused) {
  bool found = false;
  auto err = run("pausing a schedule", false, [&](pg_tx& tx) -> caf::error {
    found = tx.exec_prepared("schedule_pause", name, paused ? 1 : 0,
                             now_in(tx))
              .affected_rows()
            > 0;
    return {};
  });
  if (err)
    return err;
  if (!found)
    return no_such_schedule(name);
  return stored_schedule(*this, name);
}

caf::expected<std::vector<job>>
pg_store::fire_schedule(const std::string& name, ms_t run_at, bool by_hand) {
  std::vector<job> out;
  auto err = batch([&]() -> caf::error {
    out.clear();
    std::optional<schedule> sch;
    bool exists = false;
    auto err = run("firing a schedule", false, [&](pg_tx& tx) -> caf::error {
      auto res = tx.exec_prepared("schedule_lock", name);
      if (res.empty())
        return {};
      sch = read_pg_schedule(res[0]);
      exists = !tx.exec_prepared("schedule_run_exists", name, run_at).empty();
      return {};
    });
    if (err || !sch || exists)
      return err;
    if ((sch->paused && !by_hand) || (!by_hand && run_at <= sch->last_run_at))
      return {};
    auto jobs = enqueue({job_of_run(*sch, run_at)});
    if (!jobs)
      return jobs.error();
    err = run("recording a schedule run", false, [&](pg_tx& tx) -> caf::error {
      auto id = jobs->front().id;
      if (tx.exec_prepared("schedule_run_insert", name, run_at, id)
            .affected_rows()
          != 1)
        return make_error(errc::conflict, "schedule run created twice");
      tx.exec_prepared("schedule_fired", name, id, by_hand ? 0 : run_at);
      return {};
    });
    if (err)
      return err;
    out = std::move(*jobs);
    return {};
  });
  if (err)
    return err;
  return out;
}

caf::expected<job_counts> pg_store::counts() {
  job_counts out;
  auto err = run("counting jobs", false,
                 [&](pg_tx& tx) -> caf::error {
    auto res = tx.exec_prepared("counts");
    out = job_counts{};
    for (const auto& row : res) {
      out.status.push_back(text_of(row[0]));
      out.type.push_back(text_of(row[1]));
      out.count.push_back(row[2].as<int64_t>(0));
    }
    for (const auto& row : tx.exec_prepared("pauses"))
      out.paused.push_back(type_pause{text_of(row[0]), row[1].as<int64_t>(0),
                                      text_of(row[2])});
    return {};
  }, true);
  if (err)
    return err;
  return out;
}

caf::expected<int64_t> pg_store::change_position() {
  int64_t pos = 0;
  auto err = run("reading the change position", false,
                 [&](pg_tx& tx) -> caf::error {
    pos = tx.exec_prepared1("feed_position")[0].as<int64_t>();
    return {};
  }, true);
  if (err)
    return err;
  return pos;
}

caf::expected<change_page> pg_store::changes(int64_t after, int32_t limit) {
  if (auto err = validate_limit(limit))
    return err;
  change_page page;
  auto entry = [](const pqxx::row& row) {
    job_change c;
    c.seq = row[feed_col_seq].as<int64_t>();
    c.deleted = row[feed_col_deleted].as<bool>();
    if (c.deleted)
      c.job.id = text_of(row[col_id]);
    else
      c.job = read_pg_job(row);
    return c;
  };
  auto err = run("reading the change feed", false,
                 [&](pg_tx& tx) -> caf::error {
    page = change_page{};
    // One entry more than fits shows whether the page must end early.
    auto res = tx.exec_prepared("changes", after, limit + 1);
    page.gap = after < res[0][feed_col_pruned].as<int64_t>();
    std::vector<job_change> got;
    for (const auto& row : res)
      if (!row[feed_col_seq].is_null())
        got.push_back(entry(row));
    if (got.size() <= static_cast<size_t>(limit)) {
      page.changes = std::move(got);
    } else if (got.back().seq != got.front().seq) {
      // Up to the transaction that does not fit whole.
      auto cut = got.back().seq;
      for (auto& c : got)
        if (c.seq < cut)
          page.changes.push_back(std::move(c));
      page.more = true;
    } else {
      // The first transaction alone is larger than a page: all of it.
      // Entries of it that a later transaction has changed since are read
      // there instead, so reading on from its seq misses nothing.
      for (const auto& row : tx.exec_prepared("changes_of", got.front().seq))
        page.changes.push_back(entry(row));
      auto rest = tx.exec_prepared("changes", got.front().seq, 1);
      page.more = !rest[0][feed_col_seq].is_null();
    }
    return {};
  }, true);
  if (err)
    return err;
  page.next = page.changes.empty() ? after : page.changes.back().seq;
  return page;
}

caf::expected<int64_t> pg_store::prune(ms_t older_than, int32_t batch) {
  int64_t n = 0;
  auto err = run("pruning finished jobs", false,
                 [&](pg_tx& tx) -> caf::error {
    n = 0;
    if (batch > 0) {
      auto res = tx.exec_prepared("prune", NOW_PARAM, older_than, batch);
      n = static_cast<int64_t>(res.size());
      for (const auto& row : res)
        count_change(text_of(row[0]), {}, text_of(row[1]));
    }
    // Schedule runs as old as the jobs retention drops (see sqlite_store).
    tx.exec_prepared("schedule_runs_prune", older_than);
    // The feed's old records go even when no job does.
    auto dropped = tx.exec_prepared1("feed_prune", NOW_PARAM,
                                     tombstone_keep_ms)[0];
    if (!dropped.is_null())
      feed_pruned_through_
        = std::max(feed_pruned_through_, dropped.as<int64_t>());
    return {};
  });
  if (err)
    return err;
  return n;
}

} // namespace jobd
