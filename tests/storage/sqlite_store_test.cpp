// SQLite-only behaviour: schema versioning, file settings, persistence.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>

#include <sqlite3.h>

#include "storage/job_table.hpp"
#include "storage/sqlite/sqlite_store.hpp"
#include "support/temp_dir.hpp"

using namespace jobd;
using namespace jobd::test;

namespace {

int user_version(const std::string& path) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, nullptr);
  sqlite3_step(st);
  int v = sqlite3_column_int(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return v;
}

void set_user_version(const std::string& path, int v) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  auto sql = "PRAGMA user_version = " + std::to_string(v);
  REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
}

/// SQLite's plan for `sql` (EXPLAIN QUERY PLAN), one line per step; binds
/// nothing (unbound parameters are NULL, which does not change the plan).
std::string plan_of(sqlite3* db, const std::string& sql) {
  sqlite3_stmt* st = nullptr;
  auto explain = "EXPLAIN QUERY PLAN " + sql;
  REQUIRE(sqlite3_prepare_v2(db, explain.c_str(), -1, &st, nullptr)
          == SQLITE_OK);
  std::string plan;
  while (sqlite3_step(st) == SQLITE_ROW)
    plan += reinterpret_cast<const char*>(sqlite3_column_text(st, 3))
            + std::string{"\n"};
  sqlite3_finalize(st);
  return plan;
}

} // namespace

TEST_CASE("a new file gets the current schema version and WAL mode",
          "[storage][sqlite]") {
  temp_dir dir;
  store_options opts;
  opts.url = dir.file("new.db");
  auto clk = std::make_shared<manual_clock>();
  {
    auto st = sqlite_store::open(opts, clk);
    REQUIRE(st);
    auto ok = (*st)->integrity_ok();
    REQUIRE(ok);
    CHECK(*ok);
  }
  CHECK(user_version(opts.url) == sqlite_schema_version);
}

TEST_CASE("jobs survive closing and reopening the file", "[storage][sqlite]") {
  temp_dir dir;
  store_options opts;
  opts.url = dir.file("keep.db");
  auto clk = std::make_shared<manual_clock>();
  std::string id;
  {
    auto st = open_store(opts, clk);
    REQUIRE(st);
    new_job nj;
    nj.type = "ECHO";
    auto r = (*st)->enqueue({nj});
    REQUIRE(r);
    id = r->front().id;
  }
  auto st = open_store(opts, clk);
  REQUIRE(st);
  auto g = (*st)->get(id);
  REQUIRE(g);
  CHECK(g->type == "ECHO");
}

TEST_CASE("a file from a newer jobd is refused with a clear message",
          "[storage][sqlite]") {
  temp_dir dir;
  store_options opts;
  opts.url = dir.file("future.db");
  auto clk = std::make_shared<manual_clock>();
  REQUIRE(open_store(opts, clk));
  set_user_version(opts.url, sqlite_schema_version + 1);
  auto st = open_store(opts, clk);
  REQUIRE_FALSE(st);
  CHECK(code_of(st.error()) == errc::schema);
  CHECK_THAT(message_of(st.error()),
             Catch::Contains("schema version "
                             + std::to_string(sqlite_schema_version + 1))
               && Catch::Contains("upgrade jobd"));
}

/// Turns a current file into what jobd 10 left: no list of workers.
#define DOWNGRADE_TO_V10 "DROP TABLE JobWorker; "

const char* const downgrade_to_v10 = DOWNGRADE_TO_V10 "PRAGMA user_version = 10";

/// Turns a current file into what jobd 9 left: no external types.
#define DOWNGRADE_TO_V9 DOWNGRADE_TO_V10 "DROP TABLE JobTypeExternal; "

const char* const downgrade_to_v9 = DOWNGRADE_TO_V9 "PRAGMA user_version = 9";

/// Turns a current file into what jobd 8 left: no attempt history.
#define DOWNGRADE_TO_V8                                                        \
  DOWNGRADE_TO_V9 "DROP TRIGGER JobAttempt_cascade; DROP TABLE JobAttempt; ALTER TABLE "       \
  "ContentJob DROP COLUMN workedBy; "

const char* const downgrade_to_v8 = DOWNGRADE_TO_V8 "PRAGMA user_version = 8";

/// Turns a current file into what jobd 7 left: no schedules.
#define DOWNGRADE_TO_V7                                                        \
  DOWNGRADE_TO_V8 "DROP TABLE Schedule; DROP TABLE ScheduleRun; "

const char* const downgrade_to_v7 = DOWNGRADE_TO_V7 "PRAGMA user_version = 7";

/// Turns a current file into what jobd 6 left: no timeout column.
#define DOWNGRADE_TO_V6                                                        \
  DOWNGRADE_TO_V7 "ALTER TABLE ContentJob DROP COLUMN timeoutMs; "

const char* const downgrade_to_v6 = DOWNGRADE_TO_V6 "PRAGMA user_version = 6";

/// Turns a current file into what jobd 5 left: no timeout or progress
/// columns.
#define DOWNGRADE_TO_V5                                                        \
  DOWNGRADE_TO_V6                                                              \
  "ALTER TABLE ContentJob DROP COLUMN progressPpm; ALTER TABLE ContentJob "    \
  "DROP COLUMN progressMessage; ALTER TABLE ContentJob DROP COLUMN "           \
  "progressAt; "

const char* const downgrade_to_v5 = DOWNGRADE_TO_V5 "PRAGMA user_version = 5";

/// Turns a current file into what jobd 3 left: no unique keys.
#define DOWNGRADE_TO_V3                                                        \
  DOWNGRADE_TO_V5 "DROP INDEX ContentJob_unique; ALTER TABLE ContentJob DROP COLUMN "          \
  "uniqueKey; ALTER TABLE ContentJob DROP COLUMN uniqueStates; ALTER TABLE "   \
  "ContentJob DROP COLUMN uniqueUntil; "

const char* const downgrade_to_v3 = DOWNGRADE_TO_V3 "PRAGMA user_version = 3";

/// Turns a current file into what jobd 2 left: no change feed.
const char* const downgrade_to_v2
  = DOWNGRADE_TO_V3 "DROP TABLE JobTombstone; DROP TABLE JobClock; DROP INDEX "
    "ContentJob_change; ALTER TABLE ContentJob DROP COLUMN changeSeq; "
    "PRAGMA user_version = 2";

/// A file at `path` holding `n` new ECHO jobs, then turned back by
/// `downgrade` (SQL run on it), as an older jobd would have left it.
/// Returns the jobs.
std::vector<job> downgraded_file(const std::string& path, size_t n,
                                 const char* downgrade) {
  std::vector<job> jobs;
  {
    store_options opts;
    opts.url = path;
    auto st = open_store(opts, std::make_shared<manual_clock>());
    REQUIRE(st);
    auto res = (*st)->enqueue(std::vector<new_job>(n, new_job{"ECHO"}));
    REQUIRE(res);
    jobs = *res;
  }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, downgrade, nullptr, nullptr, nullptr) == SQLITE_OK);
  sqlite3_close(db);
  return jobs;
}

TEST_CASE("a version-1 file's status CHECK comes to accept CANCELLED, and "
          "still refuses what is no status",
          "[storage][sqlite][cancel]") {
  temp_dir dir;
  store_options opts;
  opts.url = dir.file("v1.db");
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(opts.url.c_str(), &db) == SQLITE_OK);
  // The tables exactly as jobd 1 created them.
  auto v1 = job_schema_v1(sql_types{"TEXT", "TEXT", "INTEGER", "INTEGER"})
            + "INSERT INTO ContentJob (id, type, payload, scheduledFor, "
              "createdAt, updatedAt) VALUES ('01ARZ3NDEKTSV4RRFFQ69G5FAV', "
              "'ECHO', '{}', 1, 1, 1); PRAGMA user_version = 1;";
  REQUIRE(sqlite3_exec(db, v1.c_str(), nullptr, nullptr, nullptr)
          == SQLITE_OK);
  sqlite3_close(db);
  auto clk = std::make_shared<manual_clock>();
  {
    auto st = open_store(opts, clk);
    REQUIRE(st);
    CHECK(user_version(opts.url) == sqlite_schema_version);
    auto c = (*st)->cancel("01ARZ3NDEKTSV4RRFFQ69G5FAV", "cancelled");
    REQUIRE(c);
    CHECK(c->status == job_status::cancelled);
    auto* lite = dynamic_cast<sqlite_store*>(st->get());
    REQUIRE(lite);
    auto ok = lite->integrity_ok();
    REQUIRE(ok);
    CHECK(*ok);
  }
  // Another connection reads the new schema; the CHECK still bites.
  REQUIRE(sqlite3_open(opts.url.c_str(), &db) == SQLITE_OK);
  CHECK(sqlite3_exec(db,
                     "UPDATE ContentJob SET status = 'DONE'", nullptr,
                     nullptr, nullptr)
        == SQLITE_CONSTRAINT);
  // Retention's index exists and serves its query (INDEXED BY fails to
  // prepare otherwise).
  CHECK(plan_of(db, "SELECT 1 FROM ContentJob INDEXED BY ContentJob_done "
                    "WHERE " JOBD_FINISHED " AND completedAt < 5")
          .find("ContentJob_done")
        != std::string::npos);
  sqlite3_close(db);
  auto again = open_store(opts, clk);
  REQUIRE(again);
  auto g = (*again)->get("01ARZ3NDEKTSV4RRFFQ69G5FAV");
  REQUIRE(g);
  CHECK(g->status == job_status::cancelled);
}

TEST_CASE("a version-3 file gets unique keys on open; its jobs have none",
          "[storage][sqlite][unique]") {
  temp_dir dir;
  store_options opts;
  opts.url = dir.file("v3.db");
  auto clk = std::make_shared<manual_clock>();
  auto jobs = downgraded_file(opts.url, 2, downgrade_to_v3);
  auto st = open_store(opts, clk);
  REQUIRE(st);
  CHECK(user_version(opts.url) == sqlite_schema_version);
  auto old = (*st)->get(jobs[0].id);
  REQUIRE(old);
  CHECK(old->unique_key.empty());
  new_job keyed{"ECHO"};
  keyed.unique_key = "once";
  auto a = (*st)->enqueue({keyed});
  auto b = (*st)->enqueue({keyed});
  REQUIRE(a);
  REQUIRE(b);
  CHECK(b->front().duplicate);
  CHECK(b->front().id == a->front().id);
}

TEST_CASE("a version-10 file gets the list of workers on open",
          "[storage][sqlite][workers]") {
  temp_dir dir;
  store_options opts;
  opts.url = dir.file("v10.db");
  auto clk = std::make_shared<manual_clock>();
  auto jobs = downgraded_file(opts.url, 1, downgrade_to_v10);
  auto st = open_store(opts, clk);
  REQUIRE(st);
  CHECK(user_version(opts.url) == sqlite_schema_version);
  CHECK((*st)->workers()->workers.empty());
  worker_info w;
  w.id = "mail-1";
  REQUIRE((*st)->see_workers({w}) == caf::error{});
  CHECK((*st)->workers()->workers.size() == 1);
  CHECK((*st)->claim("w", 10, 30'000)->size() == 1);
}

TEST_CASE("a version-9 file gets external types on open; its jobs stay "
          "claimable", "[storage][sqlite][external]") {
  temp_dir dir;
  store_options opts;
  opts.url = dir.file("v9.db");
  auto clk = std::make_shared<manual_clock>();
  auto jobs = downgraded_file(opts.url, 2, downgrade_to_v9);
  auto st = open_store(opts, clk);
  REQUIRE(st);
  CHECK(user_version(opts.url) == sqlite_schema_version);
  CHECK((*st)->external_types()->empty());
  CHECK((*st)->claim("w", 10, 30'000)->size() == 2);
  REQUIRE((*st)->declare_types({"SEND_MAIL"}, {}) == caf::error{});
  CHECK(*(*st)->external_types() == std::vector<std::string>{"SEND_MAIL"});
}

TEST_CASE("a version-8 file gets attempt history on open; a job completed "
          "before shows its attempt without a worker",
          "[storage][sqlite][attempts]") {
  temp_dir dir;
  store_options opts;
  opts.url = dir.file("v8.db");
  auto clk = std::make_shared<manual_clock>();
  std::vector<job> jobs;
  {
    auto st = open_store(opts, clk);
    REQUIRE(st);
    auto res = (*st)->enqueue({new_job{"ECHO"}, new_job{"ECHO"}});
    REQUIRE(res);
    jobs = *res;
    auto c = (*st)->claim("old-worker", 1, 30'000);
    REQUIRE(c);
    REQUIRE(c->size() == 1);
    REQUIRE(*(*st)->complete({c->front().id, 1}, "old-worker", "{}"));
    jobs[0] = c->front();
  }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(opts.url.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, downgrade_to_v8, nullptr, nullptr, nullptr)
          == SQLITE_OK);
  sqlite3_close(db);
  auto st = open_store(opts, clk);
  REQUIRE(st);
  CHECK(user_version(opts.url) == sqlite_schema_version);
  auto old = (*st)->attempts(jobs[0].id, max_attempts_listed);
  REQUIRE(old);
  REQUIRE(old->attempts.size() == 1);
  CHECK(old->attempts[0].outcome == attempt_outcome::completed);
  CHECK(old->attempts[0].worker.empty());
  auto other = jobs[0].id == jobs[1].id ? jobs[0] : jobs[1];
  REQUIRE((*st)->claim("new-worker", 1, 30'000)->size() == 1);
  REQUIRE((*st)->fail({other.id, 1}, "new-worker", "boom", true, 0)->applied);
  auto h = (*st)->attempts(other.id, max_attempts_listed);
  REQUIRE(h);
  REQUIRE(h->attempts.size() == 1);
  CHECK(h->attempts[0].worker == "new-worker");
  CHECK(h->attempts[0].error == "boom");
}

TEST_CASE("a version-7 file gets schedules on open; its jobs stay",
          "[storage][sqlite][schedule]") {
  temp_dir dir;
  store_options opts;
  opts.url = dir.file("v7.db");
  auto clk = std::make_shared<manual_clock>();
  auto jobs = downgraded_file(opts.url, 2, downgrade_to_v7);
  auto st = open_store(opts, clk);
  REQUIRE(st);
  CHECK(user_version(opts.url) == sqlite_schema_version);
  CHECK((*st)->get(jobs[1].id));
  schedule s;
  s.name = "nightly";
  s.cron = "* * * * *";
  s.type = "ECHO";
  REQUIRE((*st)->put_schedule(s));
  auto fired = (*st)->fire_schedule("nightly", clk->now_ms(), true);
  REQUIRE(fired);
  CHECK(fired->size() == 1);
}

TEST_CASE("a version-6 file gets timeouts and pauses on open; its jobs keep their "
          "progress and have no timeout",
          "[storage][sqlite][timeout]") {
  temp_dir dir;
  store_options opts;
  opts.url = dir.file("v6.db");
  auto clk = std::make_shared<manual_clock>();
  std::string id;
  {
    auto st = open_store(opts, clk);
    REQUIRE(st);
    auto res = (*st)->enqueue({new_job{"ECHO"}});
    REQUIRE(res);
    id = res->front().id;
    auto claimed = (*st)->claim("w", 1, 30'000);
    REQUIRE(claimed);
    progress_update u;
    u.ref = lease_ref{id, 1};
    u.fraction = 0.5;
    REQUIRE((*st)->progress("w", std::vector<progress_update>(1, u)));
  }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(opts.url.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, downgrade_to_v6, nullptr, nullptr, nullptr)
          == SQLITE_OK);
  sqlite3_close(db);
  auto st = open_store(opts, clk);
  REQUIRE(st);
  CHECK(user_version(opts.url) == sqlite_schema_version);
  auto old = (*st)->get(id);
  REQUIRE(old);
  CHECK(old->progress == Approx(0.5));
  CHECK(old->timeout_ms == 0);
  new_job timed{"ECHO"};
  timed.timeout_ms = 7'000;
  auto t = (*st)->enqueue({timed});
  REQUIRE(t);
  CHECK((*st)->get(t->front().id)->timeout_ms == 7'000);
  // And the table of paused types.
  CHECK((*st)->pause_type("ECHO", "after the upgrade"));
  CHECK((*st)->counts()->paused.size() == 1);
}

TEST_CASE("a version-5 file gets timeouts and progress on open; its jobs "
          "have none",
          "[storage][sqlite][progress][timeout]") {
  temp_dir dir;
  store_options opts;
  opts.url = dir.file("v5.db");
  auto clk = std::make_shared<manual_clock>();
  auto jobs = downgraded_file(opts.url, 2, downgrade_to_v5);
  auto st = open_store(opts, clk);
  REQUIRE(st);
  CHECK(user_version(opts.url) == sqlite_schema_version);
  auto old = (*st)->get(jobs[0].id);
  REQUIRE(old);
  CHECK(old->progress < 0);
  CHECK(old->progress_at == 0);
  CHECK(old->timeout_ms == 0);
  new_job timed{"ECHO"};
  timed.timeout_ms = 5'000;
  auto t = (*st)->enqueue({timed});
  REQUIRE(t);
  CHECK((*st)->get(t->front().id)->timeout_ms == 5'000);
  auto claimed = (*st)->claim("w", 1, 30'000);
  REQUIRE(claimed);
  REQUIRE(claimed->size() == 1);
  progress_update u;
  u.ref = lease_ref{claimed->front().id, claimed->front().attempt};
  u.fraction = 0.5;
  u.message = "half";
  auto written = (*st)->progress("w", std::vector<progress_update>(1, u));
  REQUIRE(written);
  CHECK(written->size() == 1);
  auto now = (*st)->get(u.ref.id);
  REQUIRE(now);
  CHECK(now->progress == Approx(0.5));
}

TEST_CASE("a version-2 file gets the change feed on open; its jobs keep "
          "position 0 until they change",
          "[storage][sqlite]") {
  temp_dir dir;
  store_options opts;
  opts.url = dir.file("v2.db");
  auto clk = std::make_shared<manual_clock>();
  auto jobs = downgraded_file(opts.url, 3, downgrade_to_v2);
  auto st = open_store(opts, clk);
  REQUIRE(st);
  CHECK(user_version(opts.url) == sqlite_schema_version);
  auto pos = (*st)->change_position();
  REQUIRE(pos);
  auto none = (*st)->changes(0, 10);
  REQUIRE(none);
  CHECK(none->changes.empty());
  auto claimed = (*st)->claim("w", 1, 30'000);
  REQUIRE(claimed);
  REQUIRE(claimed->size() == 1);
  auto page = (*st)->changes(0, 10);
  REQUIRE(page);
  REQUIRE(page->changes.size() == 1);
  CHECK(page->changes[0].job.id == claimed->front().id);
  CHECK(page->changes[0].seq == *pos + 1);
  auto all = (*st)->list(job_filter{});
  REQUIRE(all);
  CHECK(all->jobs.size() == 3);
}

TEST_CASE("a version-1 file gets its job counts on open, and counting "
          "reads no job rows",
          "[storage][sqlite]") {
  temp_dir dir;
  store_options opts;
  opts.url = dir.file("v1.db");
  auto clk = std::make_shared<manual_clock>();
  {
    auto st = open_store(opts, clk);
    REQUIRE(st);
    std::vector<new_job> jobs(5);
    for (auto& nj : jobs)
      nj.type = "ECHO";
    jobs[0].type = "OTHER";
    REQUIRE((*st)->enqueue(jobs));
    REQUIRE((*st)->claim("w", 2, 30'000));
  }
  // What jobd 1 left: no JobCount table, no change feed, user_version 1.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(opts.url.c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, downgrade_to_v2, nullptr, nullptr, nullptr)
          == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "DROP TABLE JobCount; PRAGMA user_version = 1",
                       nullptr, nullptr, nullptr)
          == SQLITE_OK);
  sqlite3_close(db);
  auto st = open_store(opts, clk);
  REQUIRE(st);
  CHECK(user_version(opts.url) == sqlite_schema_version);
  auto c = (*st)->counts();
  REQUIRE(c);
  std::map<std::string, int64_t> by_status;
  int64_t total = 0;
  for (size_t i = 0; i < c->count.size(); ++i) {
    by_status[c->status[i]] += c->count[i];
    total += c->count[i];
  }
  CHECK(total == 5);
  CHECK(by_status["PROCESSING"] == 2);
  CHECK(by_status["PENDING"] == 3);
  // Counting reads JobCount only, however many jobs there are.
  REQUIRE(sqlite3_open(opts.url.c_str(), &db) == SQLITE_OK);
  auto plan = plan_of(db, job_counts_sql);
  sqlite3_close(db);
  INFO(plan);
  CHECK_THAT(plan, Catch::Contains("JobCount"));
  CHECK_THAT(plan, !Catch::Contains("ContentJob"));
}

TEST_CASE("a file that is not a database is refused", "[storage][sqlite]") {
  temp_dir dir;
  auto path = dir.file("garbage.db");
  {
    FILE* f = fopen(path.c_str(), "w");
    REQUIRE(f);
    fputs("this is not a database file, just some text that is long enough "
          "to have a header of 100 bytes and more more more more more more",
          f);
    fclose(f);
  }
  store_options opts;
  opts.url = path;
  auto st = open_store(opts, std::make_shared<manual_clock>());
  REQUIRE_FALSE(st);
  CHECK(code_of(st.error()) == errc::io);
  CHECK_THAT(message_of(st.error()), Catch::Contains("garbage.db"));
}

TEST_CASE("a bad synchronous setting names the setting", "[storage][sqlite]") {
  temp_dir dir;
  store_options opts;
  opts.url = dir.file("x.db");
  opts.synchronous = "SOMETIMES";
  auto st = open_store(opts, std::make_shared<manual_clock>());
  REQUIRE_FALSE(st);
  CHECK(code_of(st.error()) == errc::invalid);
  CHECK_THAT(message_of(st.error()), Catch::Contains("storage.synchronous")
                                       && Catch::Contains("SOMETIMES"));
}

TEST_CASE("a directory that does not exist is an io error naming the path",
          "[storage][sqlite]") {
  store_options opts;
  opts.url = "/nonexistent-dir-for-jobd/x.db";
  auto st = open_store(opts, std::make_shared<manual_clock>());
  REQUIRE_FALSE(st);
  CHECK(code_of(st.error()) == errc::io);
  CHECK_THAT(message_of(st.error()), Catch::Contains("/nonexistent-dir-for-jobd/x.db"));
}

TEST_CASE("a read-only connection opens only a file jobd has set up",
          "[storage][sqlite]") {
  temp_dir dir;
  auto clk = std::make_shared<manual_clock>();
  store_options opts;
  opts.read_only = true;
  SECTION("no file: io error, and no file is made") {
    opts.url = dir.file("missing.db");
    auto st = open_store(opts, clk);
    REQUIRE_FALSE(st);
    CHECK(code_of(st.error()) == errc::io);
    CHECK_THAT(message_of(st.error()), Catch::Contains("missing.db"));
    CHECK_FALSE(std::filesystem::exists(opts.url));
  }
  SECTION("a SQLite file without jobd's schema: schema error") {
    opts.url = dir.file("plain.db");
    set_user_version(opts.url, 0); // creates an empty database
    auto st = open_store(opts, clk);
    REQUIRE_FALSE(st);
    CHECK(code_of(st.error()) == errc::schema);
    CHECK_THAT(message_of(st.error()), Catch::Contains("plain.db")
                                         && Catch::Contains("read-only"));
  }
  SECTION("an in-memory database: invalid (another connection would see "
          "another database)") {
    opts.url = ":memory:";
    auto st = open_store(opts, clk);
    REQUIRE_FALSE(st);
    CHECK(code_of(st.error()) == errc::invalid);
    CHECK_FALSE(supports_read_pool(":memory:"));
  }
  SECTION("jobd's file: opens, and closing it leaves the writer's WAL alone") {
    opts.url = dir.file("jobs.db");
    auto writer_opts = opts;
    writer_opts.read_only = false;
    auto writer = open_store(writer_opts, clk);
    REQUIRE(writer);
    new_job nj;
    nj.type = "ECHO";
    REQUIRE((*writer)->enqueue({nj}));
    {
      auto st = open_store(opts, clk);
      REQUIRE(st);
      auto page = (*st)->list(job_filter{});
      REQUIRE(page);
      CHECK(page->jobs.size() == 1);
    }
    CHECK(supports_read_pool(opts.url));
    // The writer is unaffected and still writes.
    REQUIRE((*writer)->enqueue({nj}));
  }
}

TEST_CASE("a claim of one priority seeks the due jobs in the claim index; "
          "the next priority is a seek too: jobs due later are not read",
          "[storage][sqlite]") {
  temp_dir dir;
  store_options opts;
  opts.url = dir.file("plan.db");
  REQUIRE(open_store(opts, std::make_shared<manual_clock>()));
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(opts.url.c_str(), &db) == SQLITE_OK);
  auto claim = plan_of(db, sqlite_store::statement("claim_at"));
  auto next = plan_of(db, sqlite_store::statement("next_priority"));
  sqlite3_close(db);
  INFO(claim << next);
  CHECK_THAT(claim, Catch::Contains("SEARCH ContentJob USING INDEX "
                                    "ContentJob_due (priority=? AND "
                                    "scheduledFor<?)"));
  CHECK_THAT(claim, !Catch::Contains("TEMP B-TREE"));
  CHECK_THAT(next, Catch::Contains("SEARCH ContentJob USING INDEX "
                                   "ContentJob_due (priority<?)"));
  CHECK_THAT(next, !Catch::Contains("SCAN"));
}

TEST_CASE("the jobs workers hold are read from the PROCESSING rows through "
          "an index, never a scan of the table",
          "[storage][sqlite][workers]") {
  temp_dir dir;
  store_options opts;
  opts.url = dir.file("plan.db");
  REQUIRE(open_store(opts, std::make_shared<manual_clock>()));
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(opts.url.c_str(), &db) == SQLITE_OK);
  auto plan = plan_of(db, worker_jobs_sql([](int n) {
                        return "?" + std::to_string(n);
                      }));
  sqlite3_close(db);
  INFO(plan);
  CHECK_THAT(plan, Catch::Contains("SEARCH ContentJob USING INDEX"));
  CHECK_THAT(plan, !Catch::Contains("SCAN ContentJob"));
}

TEST_CASE("every list filter reads an index in id order: no table scan, "
          "no sort",
          "[storage][sqlite]") {
  temp_dir dir;
  store_options opts;
  opts.url = dir.file("plan.db");
  REQUIRE(open_store(opts, std::make_shared<manual_clock>()));
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(opts.url.c_str(), &db) == SQLITE_OK);
  // Each shape of a filter (status, type, cursor; list_shape): the store's
  // own statement, planned as SQLite plans it (jobd never runs ANALYZE).
  for (int shape = 0; shape < list_shape_count; ++shape) {
    auto name = "list" + std::to_string(shape);
    std::string sql = sqlite_store::statement(name);
    REQUIRE_FALSE(sql.empty());
    auto plan = plan_of(db, sql);
    INFO(name << ": " << sql << "\n" << plan);
    CHECK_THAT(plan, Catch::Contains("USING INDEX")
                       || Catch::Contains("USING PRIMARY KEY"));
    CHECK_THAT(plan, !Catch::Contains("SCAN ContentJob\n"));
    if (shape & 8) {
      // A search reads two ranges of the primary key (the id prefix, the
      // newest max_search_scan jobs), never an index of a filter.
      std::string range = "SEARCH ContentJob USING INDEX "
                          "sqlite_autoindex_ContentJob_1 (id>?";
      auto first = plan.find(range);
      REQUIRE(first != std::string::npos);
      CHECK(plan.find(range, first + 1) != std::string::npos);
      CHECK_THAT(plan, !Catch::Contains("(status=?") && !Catch::Contains("(type=?"));
      continue;
    }
    // A filter is looked up in an index, not checked row by row along the
    // whole table in id order.
    if (shape & 3)
      CHECK_THAT(plan, Catch::Contains("SEARCH ContentJob USING INDEX")
                         && (Catch::Contains("(status=?")
                             || Catch::Contains("(type=?")));
    CHECK_THAT(plan, !Catch::Contains("TEMP B-TREE"));
    CHECK_THAT(plan, !Catch::Contains("SCAN ContentJob\n"));
  }
  sqlite3_close(db);
}

TEST_CASE("looking up a unique key reads the unique index, not the table",
          "[storage][sqlite][unique]") {
  temp_dir dir;
  store_options opts;
  opts.url = dir.file("plan.db");
  REQUIRE(open_store(opts, std::make_shared<manual_clock>()));
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(opts.url.c_str(), &db) == SQLITE_OK);
  auto plan = plan_of(db, sqlite_store::statement("key_holder"));
  sqlite3_close(db);
  INFO(plan);
  CHECK_THAT(plan, Catch::Contains("USING INDEX ContentJob_unique"));
  CHECK_THAT(plan, !Catch::Contains("SCAN ContentJob"));
}

TEST_CASE("claiming uses the partial index, not a table scan",
          "[storage][sqlite]") {
  temp_dir dir;
  store_options opts;
  opts.url = dir.file("plan.db");
  REQUIRE(open_store(opts, std::make_shared<manual_clock>()));
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(opts.url.c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  // The store's own claim statement, not a copy of it.
  auto sql = std::string{"EXPLAIN QUERY PLAN "} + sqlite_store::statement("claim");
  REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  sqlite3_bind_text(st, 1, "w", -1, SQLITE_STATIC);
  sqlite3_bind_int64(st, 2, 30'005);
  sqlite3_bind_int64(st, 3, 5);
  sqlite3_bind_int(st, 4, 10);
  std::string plan;
  while (sqlite3_step(st) == SQLITE_ROW)
    plan += reinterpret_cast<const char*>(sqlite3_column_text(st, 3)) + std::string{"\n"};
  sqlite3_finalize(st);
  sqlite3_close(db);
  INFO(plan);
  CHECK_THAT(plan, Catch::Contains("ContentJob_due"));
  CHECK_THAT(plan, !Catch::Contains("TEMP B-TREE"));
  // The outer UPDATE finds the claimed rows by id, not by a table scan.
  CHECK_THAT(plan, Catch::Contains("(id=?)"));
  CHECK_THAT(plan, !Catch::Contains("SCAN ContentJob\n"));
}
