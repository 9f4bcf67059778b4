#include "storage/job_table.hpp"

#include <cctype>

namespace jobd {

std::string job_schema_v1(const sql_types& t) {
  std::string id = t.id, text = t.text, i32 = t.int32, time = t.time;
  return R"sql(
CREATE TABLE IF NOT EXISTS "ContentJob" (
  id               )sql" + id + R"sql( PRIMARY KEY,
  type             )sql" + text + R"sql( NOT NULL,
  status           )sql" + text + R"sql( NOT NULL DEFAULT 'PENDING'
                   CHECK (status IN ('PENDING','PROCESSING','COMPLETED','FAILED')),
  payload          )sql" + text + R"sql( NOT NULL,
  result           )sql" + text + R"sql(,
  error            )sql" + text + R"sql(,
  "retryCount"     )sql" + i32 + R"sql( NOT NULL DEFAULT 0,
  "maxRetries"     )sql" + i32 + R"sql( NOT NULL DEFAULT 3,
  priority         )sql" + i32 + R"sql( NOT NULL DEFAULT 0,
  "scheduledFor"   )sql" + time + R"sql( NOT NULL,
  "startedAt"      )sql" + time + R"sql(,
  "completedAt"    )sql" + time + R"sql(,
  "createdAt"      )sql" + time + R"sql( NOT NULL,
  "updatedAt"      )sql" + time + R"sql( NOT NULL,
  attempt          )sql" + i32 + R"sql( NOT NULL DEFAULT 0,
  "lockedBy"       )sql" + text + R"sql(,
  "leaseExpiresAt" )sql" + time + R"sql(
);
-- Claiming reads only PENDING rows in claim order: the partial index holds
-- no finished jobs, so a claim stays O(log n) however large the table grows.
CREATE INDEX IF NOT EXISTS "ContentJob_due"
  ON "ContentJob" ()sql" JOBD_CLAIM_ORDER R"sql()
  WHERE status = 'PENDING';
-- Rescue scans only PROCESSING rows by lease expiry.
CREATE INDEX IF NOT EXISTS "ContentJob_lease"
  ON "ContentJob" ("leaseExpiresAt") WHERE status = 'PROCESSING';
-- Listing by status or type, newest first.
CREATE INDEX IF NOT EXISTS "ContentJob_status_id" ON "ContentJob" (status, id);
CREATE INDEX IF NOT EXISTS "ContentJob_type_id" ON "ContentJob" (type, id);
-- Pruning finished jobs by age.
CREATE INDEX IF NOT EXISTS "ContentJob_finished"
  ON "ContentJob" ("completedAt") WHERE status IN ('COMPLETED', 'FAILED');
)sql";
}

std::string job_counts_schema_v2(const sql_types& t) {
  return std::string{R"sql(
CREATE TABLE IF NOT EXISTS "JobCount" (
  status )sql"} + t.text + R"sql( NOT NULL,
  type   )sql" + t.text + R"sql( NOT NULL,
  slot   )sql" + t.int32 + R"sql( NOT NULL,
  n      )sql" + t.time + R"sql( NOT NULL,
  PRIMARY KEY (status, type, slot)
);
INSERT INTO "JobCount" (status, type, slot, n)
  SELECT status, type, 0, COUNT(*) FROM "ContentJob" GROUP BY status, type;
)sql";
}

std::string job_count_add_sql(sql_param p) {
  std::string row{"("}; // appended: GCC 12's -Wrestrict false alarm
  row += p(1);
  row += ", ";
  row += p(2);
  row += ", ";
  row += p(3);
  row += ", ";
  row += p(4);
  row += ")";
  return job_count_add_rows_sql(row);
}

std::string job_count_add_rows_sql(const std::string& rows) {
  return "INSERT INTO \"JobCount\" (status, type, slot, n) VALUES " + rows
         + " ON CONFLICT (status, type, slot) DO UPDATE SET n = "
           "\"JobCount\".n + excluded.n";
}

const char* const job_counts_sql
  = "SELECT status, type, SUM(n) FROM \"JobCount\" GROUP BY status, type "
    "HAVING SUM(n) <> 0 ORDER BY status, type";

std::string unique_schema_v4(const sql_types& t, bool if_not_exists) {
  std::string add = "ALTER TABLE \"ContentJob\" ADD COLUMN ";
  if (if_not_exists)
    add += "IF NOT EXISTS ";
  return add + "\"uniqueKey\" " + t.text + ";\n" + add + "\"uniqueStates\" "
         + t.int32 + " NOT NULL DEFAULT 0;\n" + add + "\"uniqueUntil\" "
         + t.time + " NOT NULL DEFAULT 0;\n" + R"sql(
-- At most one job per (key, period) among the jobs whose key is taken.
CREATE UNIQUE INDEX IF NOT EXISTS "ContentJob_unique" ON "ContentJob" ("uniqueKey", "uniqueUntil")
  WHERE )sql" JOBD_UNIQUE_HOLDS R"sql(;
)sql";
}

std::string progress_schema_v6(const sql_types& t, bool if_not_exists) {
  std::string add = "ALTER TABLE \"ContentJob\" ADD COLUMN ";
  if (if_not_exists)
    add += "IF NOT EXISTS ";
  return add + "\"progressPpm\" " + t.int32 + " NOT NULL DEFAULT -1;\n" + add
         + "\"progressMessage\" " + t.text + ";\n" + add + "\"progressAt\" "
         + t.time + ";\n";
}

std::string timeout_schema_v7(const sql_types& t, bool if_not_exists) {
  std::string add = "ALTER TABLE \"ContentJob\" ADD COLUMN ";
  if (if_not_exists)
    add += "IF NOT EXISTS ";
  return add + "\"timeoutMs\" " + t.time + ";\n"
         + "CREATE TABLE IF NOT EXISTS \"JobTypePause\" (\n  type " + t.text
         + " PRIMARY KEY,\n  \"pausedAt\" " + t.time
         + " NOT NULL,\n  note " + t.text + " NOT NULL DEFAULT ''\n);\n";
}

std::string schedule_schema_v8(const sql_types& t) {
  std::string text = t.text, i32 = t.int32, time = t.time;
  return R"sql(
CREATE TABLE IF NOT EXISTS "Schedule" (
  name          )sql" + std::string{t.id} + R"sql( PRIMARY KEY,
  cron          )sql" + text + R"sql( NOT NULL,
  "timeZone"    )sql" + text + R"sql( NOT NULL DEFAULT 'UTC',
  type          )sql" + text + R"sql( NOT NULL,
  payload       )sql" + text + R"sql( NOT NULL DEFAULT '{}',
  priority      )sql" + i32 + R"sql( NOT NULL DEFAULT 0,
  "maxRetries"  )sql" + i32 + R"sql( NOT NULL DEFAULT 3,
  missed        )sql" + text + R"sql( NOT NULL DEFAULT 'skip',
  "catchUpMs"   )sql" + time + R"sql( NOT NULL DEFAULT 3600000,
  paused        )sql" + i32 + R"sql( NOT NULL DEFAULT 0,
  source        )sql" + text + R"sql( NOT NULL DEFAULT 'api',
  "createdAt"   )sql" + time + R"sql( NOT NULL,
  "updatedAt"   )sql" + time + R"sql( NOT NULL,
  "lastRunAt"   )sql" + time + R"sql( NOT NULL DEFAULT 0,
  "lastJobId"   )sql" + text + R"sql( NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS "ScheduleRun" (
  schedule      )sql" + std::string{t.id} + R"sql( NOT NULL,
  "runAt"       )sql" + time + R"sql( NOT NULL,
  "jobId"       )sql" + text + R"sql( NOT NULL,
  PRIMARY KEY (schedule, "runAt")
);
CREATE INDEX IF NOT EXISTS "ScheduleRun_runAt" ON "ScheduleRun" ("runAt");
)sql";
}

std::string external_schema_v10(const sql_types& t) {
  return std::string{"CREATE TABLE IF NOT EXISTS \"JobTypeExternal\" (\n  type "}
         + t.text + " PRIMARY KEY,\n  \"declaredAt\" " + t.time
         + " NOT NULL\n);\n";
}

std::string external_insert_sql(sql_param p, const std::string& now) {
  return "INSERT INTO \"JobTypeExternal\" (type, \"declaredAt\") VALUES ("
         + p(2) + ", " + now + ") ON CONFLICT (type) DO NOTHING";
}

std::string external_delete_sql(sql_param p) {
  return "DELETE FROM \"JobTypeExternal\" WHERE type = " + p(1);
}

const char* const external_types_sql
  = "SELECT type FROM \"JobTypeExternal\" ORDER BY type";

std::string worker_schema_v11(const sql_types& t) {
  std::string text = t.text, time = t.time;
  return "CREATE TABLE IF NOT EXISTS \"JobWorker\" (\n  id " + text
         + " PRIMARY KEY,\n  host " + text + " NOT NULL DEFAULT '',\n  types "
         + text + " NOT NULL DEFAULT '',\n  \"firstSeenAt\" " + time
         + " NOT NULL,\n  \"lastSeenAt\" " + time + " NOT NULL\n);\n";
}

std::string worker_seen_sql(sql_param p, const std::string& now) {
  return "INSERT INTO \"JobWorker\" (id, host, types, \"firstSeenAt\", "
         "\"lastSeenAt\") VALUES (" + p(2) + ", " + p(3) + ", " + p(4) + ", "
         + now + ", " + now + ") ON CONFLICT (id) DO UPDATE SET "
         "\"lastSeenAt\" = excluded.\"lastSeenAt\", host = CASE WHEN "
         "excluded.host = '' THEN \"JobWorker\".host ELSE excluded.host END, "
         "types = CASE WHEN excluded.types = '' THEN \"JobWorker\".types ELSE "
         "excluded.types END";
}

std::string workers_forget_sql(sql_param p) {
  return "DELETE FROM \"JobWorker\" WHERE \"lastSeenAt\" < " + p(1);
}

std::string workers_sql(sql_param p) {
  return "SELECT id, host, types, \"firstSeenAt\", \"lastSeenAt\" FROM "
         "\"JobWorker\" WHERE \"lastSeenAt\" >= " + p(1)
         + " ORDER BY \"lastSeenAt\" DESC, id LIMIT " + p(2);
}

std::string worker_jobs_sql(sql_param p) {
  return "SELECT \"lockedBy\", id FROM \"ContentJob\" WHERE status = "
         "'PROCESSING' AND \"lockedBy\" IN (SELECT id FROM \"JobWorker\" "
         "WHERE \"lastSeenAt\" >= " + p(1) + ") ORDER BY \"startedAt\", id";
}

std::string attempt_schema_v9(const sql_types& t, bool if_not_exists,
                              const char* job_ref) {
  std::string add = "ALTER TABLE \"ContentJob\" ADD COLUMN ";
  if (if_not_exists)
    add += "IF NOT EXISTS ";
  std::string text = t.text, i32 = t.int32, time = t.time;
  return add + "\"workedBy\" " + text + ";\n" + R"sql(
CREATE TABLE IF NOT EXISTS "JobAttempt" (
  "jobId"       )sql" + std::string{t.id} + " NOT NULL " + job_ref + R"sql(,
  attempt       )sql" + i32 + R"sql( NOT NULL,
  worker        )sql" + text + R"sql(,
  "startedAt"   )sql" + time + R"sql(,
  "endedAt"     )sql" + time + R"sql( NOT NULL,
  outcome       )sql" + text + R"sql( NOT NULL,
  error         )sql" + text + R"sql(,
  PRIMARY KEY ("jobId", attempt)
);
)sql";
}

const char* const attempt_cascade_sqlite
  = "CREATE TRIGGER IF NOT EXISTS \"JobAttempt_cascade\" AFTER DELETE ON "
    "\"ContentJob\" BEGIN DELETE FROM \"JobAttempt\" WHERE \"jobId\" = "
    "old.id; END;";

std::string attempt_insert_sql(sql_param p) {
  return "INSERT INTO \"JobAttempt\" (\"jobId\", attempt, worker, "
         "\"startedAt\", \"endedAt\", outcome, error) VALUES (" + p(1) + ", "
         + p(2) + ", " + p(3) + ", " + p(4) + ", " + p(5) + ", " + p(6) + ", "
         + p(7) + ") ON CONFLICT DO NOTHING";
}

std::string attempts_sql(sql_param p) {
  return "SELECT " JOBD_ATTEMPT_COLUMNS " FROM \"JobAttempt\" WHERE "
         "\"jobId\" = " + p(1) + " ORDER BY attempt DESC LIMIT " + p(2);
}

std::string schedule_put_sql(sql_param p) {
  return "INSERT INTO \"Schedule\" (name, cron, \"timeZone\", type, payload, "
         "priority, \"maxRetries\", missed, \"catchUpMs\", source, "
         "\"createdAt\", \"updatedAt\") VALUES (" + p(1) + ", " + p(2) + ", "
         + p(3) + ", " + p(4) + ", " + p(5) + ", " + p(6) + ", " + p(7) + ", "
         + p(8) + ", " + p(9) + ", " + p(10) + ", " + p(11) + ", " + p(11)
         + ") ON CONFLICT (name) DO UPDATE SET cron = excluded.cron, "
           "\"timeZone\" = excluded.\"timeZone\", type = excluded.type, "
           "payload = excluded.payload, priority = excluded.priority, "
           "\"maxRetries\" = excluded.\"maxRetries\", missed = "
           "excluded.missed, \"catchUpMs\" = excluded.\"catchUpMs\", "
           "source = excluded.source, \"updatedAt\" = excluded.\"updatedAt\"";
}

std::string schedule_get_sql(sql_param p) {
  return "SELECT " JOBD_SCHEDULE_COLUMNS " FROM \"Schedule\" WHERE name = "
         + p(1);
}

const char* const schedules_sql
  = "SELECT " JOBD_SCHEDULE_COLUMNS " FROM \"Schedule\" ORDER BY name";

std::string schedule_delete_sql(sql_param p) {
  return "DELETE FROM \"Schedule\" WHERE name = " + p(1);
}

std::string schedule_pause_sql(sql_param p) {
  return "UPDATE \"Schedule\" SET paused = " + p(2) + ", \"updatedAt\" = "
         + p(3) + " WHERE name = " + p(1);
}

std::string schedule_run_insert_sql(sql_param p) {
  return "INSERT INTO \"ScheduleRun\" (schedule, \"runAt\", \"jobId\") "
         "VALUES (" + p(1) + ", " + p(2) + ", " + p(3)
         + ") ON CONFLICT (schedule, \"runAt\") DO NOTHING";
}

std::string schedule_fired_sql(sql_param p) {
  return "UPDATE \"Schedule\" SET \"lastJobId\" = " + p(2)
         + ", \"lastRunAt\" = CASE WHEN " + p(3) + " > \"lastRunAt\" THEN "
         + p(3) + " ELSE \"lastRunAt\" END WHERE name = " + p(1);
}

std::string schedule_runs_prune_sql(sql_param p) {
  return "DELETE FROM \"ScheduleRun\" WHERE \"runAt\" < " + p(1);
}

std::string pause_insert_sql(sql_param p, const std::string& now) {
  return "INSERT INTO \"JobTypePause\" (type, \"pausedAt\", note) VALUES ("
         + p(2) + ", " + now + ", " + p(3) + ") ON CONFLICT (type) DO NOTHING";
}

std::string pause_delete_sql(sql_param p) {
  return "DELETE FROM \"JobTypePause\" WHERE type = " + p(1);
}

const char* const pauses_sql
  = "SELECT type, \"pausedAt\", note FROM \"JobTypePause\" ORDER BY type";

int64_t ppm_of_progress(double fraction) {
  if (!(fraction >= 0))
    return -1;
  if (fraction >= 1)
    return 1'000'000;
  return static_cast<int64_t>(fraction * 1'000'000.0 + 0.5);
}

double progress_of_ppm(int64_t ppm) {
  return ppm < 0 ? -1.0 : static_cast<double>(ppm) / 1'000'000.0;
}

const char* const done_index_schema_v5 = R"sql(
CREATE INDEX IF NOT EXISTS "ContentJob_done"
  ON "ContentJob" ("completedAt") WHERE )sql" JOBD_FINISHED R"sql(;
DROP INDEX IF EXISTS "ContentJob_finished";
)sql";

int list_shape(const job_filter& f) {
  return (f.status.empty() ? 0 : 1) | (f.type.empty() ? 0 : 2)
         | (f.cursor.empty() ? 0 : 4) | (f.q.empty() ? 0 : 8);
}

std::string list_sql(int shape, sql_param param, const char* contains) {
  std::string filters;
  int n = 0;
  auto add = [&](const char* cond) {
    filters += " AND ";
    filters += cond + param(++n);
  };
  // A search reads the primary key's ranges only: its status and type are
  // checked on those rows (|| '' keeps the planner off their indexes,
  // which could hold millions of rows).
  bool search = shape & 8;
  if (shape & 1)
    add(search ? "status || '' = " : "status = ");
  if (shape & 2)
    add(search ? "type || '' = " : "type = ");
  if (shape & 4)
    add("id < ");
  const std::string select = "SELECT " JOBD_JOB_COLUMNS " FROM \"ContentJob\"";
  if (!search) {
    if (!filters.empty())
      filters.replace(0, 5, " WHERE ");
    return select + filters + " ORDER BY id DESC LIMIT " + param(n + 1);
  }
  // A search: the id prefix through the primary key, and the text among
  // the newest max_search_scan jobs (a range of the primary key too).
  auto from = param(++n), to = param(++n), text = param(++n);
  std::string c = contains;
  // UNION ALL: the second part leaves out the first's range, so no row
  // comes twice and nothing is sorted but the rows found.
  return select + " WHERE id >= " + from + " AND id < " + to + filters
         + " UNION ALL " + select + " WHERE NOT (id >= " + from + " AND id < "
         + to + ") AND id >= COALESCE((SELECT id FROM \"ContentJob\" ORDER BY id "
           "DESC LIMIT 1 OFFSET "
         + std::to_string(max_search_scan - 1) + "), '') AND (" + c
         + "(payload, " + text + ") > 0 OR " + c + "(COALESCE(error, ''), "
         + text + ") > 0)" + filters + " ORDER BY id DESC LIMIT "
         + param(n + 1);
}

std::pair<std::string, std::string> search_id_range(const std::string& q) {
  std::string from = q;
  for (auto& ch : from)
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  // Ids are Crockford base32 (0-9, A-Z): '~' sorts after every id character.
  return {from, from + "~"};
}

void finish_page(job_page& page, int32_t limit) {
  if (page.jobs.size() > static_cast<size_t>(limit)) {
    page.jobs.resize(static_cast<size_t>(limit));
    page.next_cursor = page.jobs.back().id;
  }
}

} // namespace jobd
