// PostgreSQL-only behaviour: schema versioning, concurrent claimers, the
// claim plan, connection loss and recovery, wake-ups, the database clock.
// The shared contract (store_contract_test.cpp) runs on PostgreSQL too.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <map>
#include <set>
#include <thread>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <pqxx/pqxx>

#include "storage/postgres/pg_listener.hpp"
#include "storage/postgres/pg_store.hpp"
#include "storage/job_table.hpp"
#include "support/pg_server.hpp"

using namespace jobd;
using namespace jobd::test;
using namespace std::chrono_literals;

namespace {

const std::string w1 = "worker-1";
constexpr ms_t lease = 30'000;

new_job echo(int32_t priority = 0, ms_t at = 0) {
  new_job nj;
  nj.type = "ECHO";
  nj.payload = R"({"n":1})";
  nj.priority = priority;
  nj.scheduled_for = at;
  return nj;
}

std::unique_ptr<pg_store> open_pg(const std::string& url,
                                  std::shared_ptr<const clock_source> clk,
                                  pg_store_options pg = {}) {
  store_options opts;
  opts.url = url;
  auto st = pg_store::open(opts, std::move(clk), pg);
  if (!st)
    FAIL("open failed: " << message_of(st.error()));
  return std::move(*st);
}

pg_store_options injected() {
  pg_store_options pg;
  pg.time = pg_time_source::injected;
  pg.reconnect_min_ms = 20;
  pg.reconnect_max_ms = 200;
  return pg;
}

// Inserts jobs 1..220,000 straight into the table (ids 'X' + the number,
// zero-padded; every time column = the number): the first 200,000
// COMPLETED, the rest PENDING; `type_sql` is the type as SQL over g.
void fill_jobs(const std::string& url, const std::string& type_sql) {
  pg_server::query(
    url, "INSERT INTO \"ContentJob\" (id, type, status, payload, "
         "\"scheduledFor\", \"createdAt\", \"updatedAt\", \"completedAt\") "
         "SELECT 'X' || lpad(g::text, 25, '0'), " + type_sql + ", "
         "CASE WHEN g <= 200000 THEN 'COMPLETED' ELSE 'PENDING' END, '{}', "
         "g, g, g, CASE WHEN g <= 200000 THEN g END "
         "FROM generate_series(1, 220000) g");
}

// All rows of a query run after `setup` on the same connection, first
// column each (for EXPLAIN).
std::vector<std::string> column(const std::string& url,
                                const std::string& setup,
                                const std::string& sql) {
  pqxx::connection c{url};
  pqxx::nontransaction tx{c};
  tx.exec(setup);
  std::vector<std::string> out;
  for (const auto& row : tx.exec(sql))
    out.push_back(row[0].c_str());
  return out;
}

// Ends a connection from the server side and waits until its backend is
// gone, so the store meets a dead socket on its next call.
void terminate_backend(const pg_server& server, int pid) {
  REQUIRE(pid > 0);
  auto admin = server.url();
  pg_server::query(admin, "SELECT pg_terminate_backend(" + std::to_string(pid)
                            + ")");
  for (int i = 0; i < 500; ++i) {
    if (pg_server::query(admin,
                         "SELECT count(*) FROM pg_stat_activity WHERE pid = "
                           + std::to_string(pid))
        == "0")
      return;
    std::this_thread::sleep_for(10ms);
  }
  FAIL("backend " << pid << " did not exit");
}

int unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Retries `fn` until it succeeds or `limit` passes (reconnect backoff).
template <class F>
auto eventually(F fn, std::chrono::milliseconds limit = 10s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    auto res = fn();
    if (res || std::chrono::steady_clock::now() > deadline)
      return res;
    std::this_thread::sleep_for(20ms);
  }
}

} // namespace

TEST_CASE("a new database gets the schema; a newer one is refused",
          "[storage][pg]") {
  auto& server = pg_server::shared();
  auto url = server.fresh_schema_url();
  auto clk = std::make_shared<manual_clock>();
  open_pg(url, clk, injected());
  CHECK(pg_server::query(url, "SELECT version FROM jobd_schema")
        == std::to_string(pg_schema_version));
  // Opening again leaves an up-to-date schema alone.
  open_pg(url, clk, injected());
  pg_server::query(url, "UPDATE jobd_schema SET version = "
                          + std::to_string(pg_schema_version + 1));
  store_options opts;
  opts.url = url;
  auto st = open_store(opts, clk);
  REQUIRE_FALSE(st);
  CHECK(code_of(st.error()) == errc::schema);
  CHECK_THAT(message_of(st.error()),
             Catch::Contains("schema version "
                             + std::to_string(pg_schema_version + 1))
               && Catch::Contains("upgrade jobd")
               && Catch::Contains("127.0.0.1:" + std::to_string(server.port())));
}

TEST_CASE("processes starting together migrate once, without errors",
          "[storage][pg]") {
  auto url = pg_server::shared().fresh_schema_url();
  auto clk = std::make_shared<manual_clock>();
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  std::vector<std::string> errors(6);
  for (int i = 0; i < 6; ++i)
    threads.emplace_back([&, i] {
      store_options opts;
      opts.url = url;
      auto st = pg_store::open(opts, clk, injected());
      if (st)
        ++ok;
      else
        errors[i] = message_of(st.error());
    });
  for (auto& t : threads)
    t.join();
  for (auto& e : errors)
    CHECK(e.empty());
  CHECK(ok == 6);
  CHECK(pg_server::query(url, "SELECT count(*) FROM jobd_schema") == "1");
}

TEST_CASE("concurrent claimers on separate connections never share a job",
          "[storage][pg]") {
  auto url = pg_server::shared().fresh_schema_url();
  auto clk = std::make_shared<manual_clock>();
  auto st = open_pg(url, clk, injected());
  constexpr int n_jobs = 1000;
  std::vector<new_job> many(n_jobs, echo());
  REQUIRE(st->enqueue(many));
  constexpr int n_threads = 4;
  std::vector<std::vector<std::string>> got(n_threads);
  std::vector<std::string> errors(n_threads);
  std::vector<std::thread> threads;
  for (int t = 0; t < n_threads; ++t)
    threads.emplace_back([&, t] {
      store_options opts;
      opts.url = url;
      auto mine = pg_store::open(opts, clk, injected());
      if (!mine) {
        errors[t] = message_of(mine.error());
        return;
      }
      auto worker = "worker-" + std::to_string(t);
      for (int empty_rounds = 0; empty_rounds < 3;) {
        auto c = (*mine)->claim(worker, 7, lease);
        if (!c) {
          errors[t] = message_of(c.error());
          return;
        }
        if (c->empty()) {
          ++empty_rounds;
          continue;
        }
        for (auto& j : *c) {
          got[t].push_back(j.id);
          auto ok = (*mine)->complete({j.id, j.attempt}, worker, "{}");
          if (!ok || !*ok) {
            errors[t] = "complete failed for " + j.id;
            return;
          }
        }
      }
    });
  for (auto& t : threads)
    t.join();
  std::set<std::string> ids;
  size_t total = 0;
  for (int t = 0; t < n_threads; ++t) {
    CHECK(errors[t].empty());
    total += got[t].size();
    ids.insert(got[t].begin(), got[t].end());
  }
  CHECK(total == n_jobs);
  CHECK(ids.size() == n_jobs);
  auto counts = st->counts();
  REQUIRE(counts);
  REQUIRE(counts->count.size() == 1);
  CHECK(counts->status[0] == "COMPLETED");
  CHECK(counts->count[0] == n_jobs);
}

TEST_CASE("claiming reads the partial index in claim order, however many "
          "jobs are finished or queued",
          "[storage][pg]") {
  auto url = pg_server::shared().fresh_schema_url();
  auto clk = std::make_shared<manual_clock>();
  auto st = open_pg(url, clk, injected());
  // 200,000 finished jobs and a backlog of 20,000 queued ones.
  fill_jobs(url, "'ECHO'");
  pg_server::query(url, "ANALYZE \"ContentJob\"");
  // The store's own claim statement, planned with values filled in as a
  // claim at a late time would bind them.
  auto claim_sql = pg_store::statement("claim");
  REQUIRE_FALSE(claim_sql.empty());
  auto plan = column(
    url, "PREPARE jobd_claim(bigint, text, bigint, int) AS " + claim_sql,
    "EXPLAIN EXECUTE jobd_claim(9000000000000, 'w', 30000, 10)");
  std::string text;
  for (auto& line : plan)
    text += line + "\n";
  INFO(text);
  CHECK_THAT(text, Catch::Contains("Index Scan using \"ContentJob_due\""));
  CHECK_THAT(text, Catch::Contains("Index Scan using \"ContentJob_pkey\""));
  // The jobs are never scanned; the pause table's few rows are.
  CHECK_THAT(text, !Catch::Contains("Seq Scan on \"ContentJob\""));
  CHECK_THAT(text, !Catch::Contains("Sort"));
  auto c = st->claim(w1, 10, lease);
  REQUIRE(c);
  REQUIRE(c->size() == 10);
  CHECK(c->front().id == "X" + std::string(19, '0') + "200001");
}

TEST_CASE("the status CHECK accepts CANCELLED and still refuses what is no "
          "status",
          "[storage][pg][cancel]") {
  auto url = pg_server::shared().fresh_schema_url();
  auto clk = std::make_shared<manual_clock>();
  auto st = open_pg(url, clk, injected());
  auto res = st->enqueue({new_job{"ECHO"}});
  REQUIRE(res);
  REQUIRE(st->cancel(res->front().id, "cancelled"));
  CHECK_THROWS(pg_server::query(url, "UPDATE \"ContentJob\" SET status = 'DONE'"));
  CHECK(pg_server::query(url, "SELECT status FROM \"ContentJob\"")
        == "CANCELLED");
}

// A database holding one ECHO job (its id returned), then turned back to
// what an older jobd left: `columns` dropped, schema version `version`.
std::string downgraded_database(const std::string& url,
                                std::shared_ptr<manual_clock> clk,
                                const std::vector<std::string>& columns,
                                int version) {
  std::string id;
  {
    auto st = open_pg(url, clk, injected());
    auto res = st->enqueue({new_job{"ECHO"}});
    REQUIRE(res);
    id = res->front().id;
  }
  for (auto& col : columns)
    pg_server::query(url, "ALTER TABLE \"ContentJob\" DROP COLUMN \"" + col
                            + "\"");
  pg_server::query(url, "UPDATE jobd_schema SET version = "
                          + std::to_string(version));
  return id;
}

TEST_CASE("a version-10 database gets the list of workers on open",
          "[storage][pg][workers]") {
  auto url = pg_server::shared().fresh_schema_url();
  auto clk = std::make_shared<manual_clock>();
  auto id = downgraded_database(url, clk, {}, 10);
  pg_server::query(url, "DROP TABLE \"JobWorker\"");
  auto st = open_pg(url, clk, injected());
  CHECK(pg_server::query(url, "SELECT version FROM jobd_schema")
        == std::to_string(pg_schema_version));
  CHECK(st->workers()->workers.empty());
  worker_info w;
  w.id = "mail-1";
  REQUIRE(st->see_workers({w}) == caf::error{});
  CHECK(st->workers()->workers.size() == 1);
  auto got = st->claim("w", 10, 30'000);
  REQUIRE(got);
  REQUIRE(got->size() == 1);
  CHECK(got->front().id == id);
}

TEST_CASE("a version-9 database gets external types on open; its jobs stay "
          "claimable", "[storage][pg][external]") {
  auto url = pg_server::shared().fresh_schema_url();
  auto clk = std::make_shared<manual_clock>();
  auto id = downgraded_database(url, clk, {}, 9);
  pg_server::query(url, "DROP TABLE \"JobTypeExternal\"");
  auto st = open_pg(url, clk, injected());
  CHECK(pg_server::query(url, "SELECT version FROM jobd_schema")
        == std::to_string(pg_schema_version));
  CHECK(st->external_types()->empty());
  auto got = st->claim("w", 10, 30'000);
  REQUIRE(got);
  REQUIRE(got->size() == 1);
  CHECK(got->front().id == id);
  REQUIRE(st->declare_types({"SEND_MAIL"}, {}) == caf::error{});
  CHECK(*st->external_types() == std::vector<std::string>{"SEND_MAIL"});
}

TEST_CASE("a version-8 database gets attempt history on open; a job "
          "completed before shows its attempt without a worker",
          "[storage][pg][attempts]") {
  auto url = pg_server::shared().fresh_schema_url();
  auto clk = std::make_shared<manual_clock>();
  std::string done;
  {
    auto st = open_pg(url, clk, injected());
    auto res = st->enqueue({new_job{"ECHO"}});
    REQUIRE(res);
    done = res->front().id;
    REQUIRE(st->claim("old-worker", 1, 30'000)->size() == 1);
    REQUIRE(*st->complete({done, 1}, "old-worker", "{}"));
  }
  auto id = downgraded_database(url, clk, {"workedBy"}, 8);
  pg_server::query(url, "DROP TABLE \"JobAttempt\"");
  auto st = open_pg(url, clk, injected());
  CHECK(pg_server::query(url, "SELECT version FROM jobd_schema")
        == std::to_string(pg_schema_version));
  auto old = st->attempts(done, max_attempts_listed);
  REQUIRE(old);
  REQUIRE(old->attempts.size() == 1);
  CHECK(old->attempts[0].outcome == attempt_outcome::completed);
  CHECK(old->attempts[0].worker.empty());
  REQUIRE(st->claim("new-worker", 1, 30'000)->size() == 1);
  REQUIRE(st->fail({id, 1}, "new-worker", "boom", true, 0)->applied);
  auto h = st->attempts(id, max_attempts_listed);
  REQUIRE(h);
  REQUIRE(h->attempts.size() == 1);
  CHECK(h->attempts[0].worker == "new-worker");
  // Deleting the job deletes its attempts (the foreign key's cascade).
  REQUIRE(st->remove(id) == caf::error{});
  CHECK(pg_server::query(url, "SELECT count(*) FROM \"JobAttempt\"") == "0");
}

TEST_CASE("a version-7 database gets schedules on open; its jobs stay",
          "[storage][pg][schedule]") {
  auto url = pg_server::shared().fresh_schema_url();
  auto clk = std::make_shared<manual_clock>();
  auto id = downgraded_database(url, clk, {}, 7);
  pg_server::query(url, "DROP TABLE \"Schedule\"; DROP TABLE \"ScheduleRun\"");
  auto st = open_pg(url, clk, injected());
  CHECK(pg_server::query(url, "SELECT version FROM jobd_schema")
        == std::to_string(pg_schema_version));
  CHECK(st->get(id));
  schedule s;
  s.name = "nightly";
  s.cron = "* * * * *";
  s.type = "ECHO";
  REQUIRE(st->put_schedule(s));
  auto fired = st->fire_schedule("nightly", clk->now_ms(), true);
  REQUIRE(fired);
  CHECK(fired->size() == 1);
}

TEST_CASE("a version-6 database gets timeouts and pauses on open; its jobs have none",
          "[storage][pg][timeout]") {
  auto url = pg_server::shared().fresh_schema_url();
  auto clk = std::make_shared<manual_clock>();
  // What jobd 6 left: no timeout column.
  auto id = downgraded_database(url, clk, {"timeoutMs"}, 6);
  auto st = open_pg(url, clk, injected());
  CHECK(pg_server::query(url, "SELECT version FROM jobd_schema")
        == std::to_string(pg_schema_version));
  auto old = st->get(id);
  REQUIRE(old);
  CHECK(old->timeout_ms == 0);
  new_job timed{"ECHO"};
  timed.timeout_ms = 7'000;
  auto t = st->enqueue({timed});
  REQUIRE(t);
  CHECK(st->get(t->front().id)->timeout_ms == 7'000);
  // And the table of paused types.
  CHECK(st->pause_type("ECHO", "after the upgrade"));
  CHECK(st->counts()->paused.size() == 1);
}

TEST_CASE("a version-5 database gets timeouts and progress on open; its "
          "jobs have none",
          "[storage][pg][progress][timeout]") {
  auto url = pg_server::shared().fresh_schema_url();
  auto clk = std::make_shared<manual_clock>();
  // What jobd 5 left: no timeout or progress columns.
  auto id = downgraded_database(
    url, clk, {"timeoutMs", "progressPpm", "progressMessage", "progressAt"}, 5);
  auto st = open_pg(url, clk, injected());
  CHECK(pg_server::query(url, "SELECT version FROM jobd_schema")
        == std::to_string(pg_schema_version));
  auto old = st->get(id);
  REQUIRE(old);
  CHECK(old->progress < 0);
  CHECK(old->progress_at == 0);
  CHECK(old->timeout_ms == 0);
  auto claimed = st->claim("w", 1, 30'000);
  REQUIRE(claimed);
  REQUIRE(claimed->size() == 1);
  progress_update u;
  u.ref = lease_ref{id, claimed->front().attempt};
  u.fraction = 0.25;
  auto written = st->progress("w", std::vector<progress_update>(1, u));
  REQUIRE(written);
  CHECK(written->size() == 1);
  CHECK(st->get(id)->progress == Approx(0.25));
}

TEST_CASE("a version-3 database gets unique keys on open; its jobs have none",
          "[storage][pg][unique]") {
  auto url = pg_server::shared().fresh_schema_url();
  auto clk = std::make_shared<manual_clock>();
  std::string id;
  {
    auto st = open_pg(url, clk, injected());
    auto res = st->enqueue({new_job{"ECHO"}});
    REQUIRE(res);
    id = res->front().id;
  }
  // What jobd 3 left: no unique columns or index, schema version 3.
  pg_server::query(url, "DROP INDEX \"ContentJob_unique\"");
  for (auto col : {"uniqueKey", "uniqueStates", "uniqueUntil"})
    pg_server::query(url, std::string{"ALTER TABLE \"ContentJob\" DROP COLUMN \""}
                            + col + "\"");
  pg_server::query(url, "UPDATE jobd_schema SET version = 3");
  auto st = open_pg(url, clk, injected());
  CHECK(pg_server::query(url, "SELECT version FROM jobd_schema")
        == std::to_string(pg_schema_version));
  auto old = st->get(id);
  REQUIRE(old);
  CHECK(old->unique_key.empty());
  new_job keyed{"ECHO"};
  keyed.unique_key = "once";
  auto a = st->enqueue({keyed});
  auto b = st->enqueue({keyed});
  REQUIRE(a);
  REQUIRE(b);
  CHECK(b->front().duplicate);
  CHECK(b->front().id == a->front().id);
}

TEST_CASE("a version-1 database gets its job counts on open, and counting "
          "reads no job rows",
          "[storage][pg]") {
  auto url = pg_server::shared().fresh_schema_url();
  auto clk = std::make_shared<manual_clock>();
  {
    auto st = open_pg(url, clk, injected());
    std::vector<new_job> jobs(5);
    for (auto& nj : jobs)
      nj.type = "ECHO";
    jobs[0].type = "OTHER";
    REQUIRE(st->enqueue(jobs));
    REQUIRE(st->claim(w1, 2, lease));
  }
  // What jobd 1 left: no JobCount table, schema version 1.
  pg_server::query(url, "DROP TABLE \"JobCount\"");
  pg_server::query(url, "UPDATE jobd_schema SET version = 1");
  auto st = open_pg(url, clk, injected());
  CHECK(pg_server::query(url, "SELECT version FROM jobd_schema")
        == std::to_string(pg_schema_version));
  auto c = st->counts();
  REQUIRE(c);
  std::map<std::string, int64_t> by_status;
  for (size_t i = 0; i < c->count.size(); ++i)
    by_status[c->status[i]] += c->count[i];
  CHECK(by_status["PROCESSING"] == 2);
  CHECK(by_status["PENDING"] == 3);
  // Counting reads JobCount only, however many jobs there are.
  auto plan = column(url, "SELECT 1", "EXPLAIN " + pg_store::statement("counts"));
  std::string text;
  for (auto& line : plan)
    text += line + "\n";
  INFO(text);
  CHECK_THAT(text, Catch::Contains("JobCount"));
  CHECK_THAT(text, !Catch::Contains("ContentJob"));
}

TEST_CASE("every list filter reads an index in id order at 200,000 "
          "finished jobs: no table scan, no sort",
          "[storage][pg]") {
  auto url = pg_server::shared().fresh_schema_url();
  auto clk = std::make_shared<manual_clock>();
  auto st = open_pg(url, clk, injected());
  // 200,000 finished jobs of two types (one in a hundred is the rare one)
  // and 20,000 queued ones; the filters ask for the queued ones and for
  // the rare type, where reading the table in id order would pass over
  // thousands of rows per page.
  fill_jobs(url,
            "CASE WHEN g % 100 = 0 THEN 'RECAP_GENERATION' ELSE 'ECHO' END");
  pg_server::query(url, "ANALYZE \"ContentJob\"");
  const std::string cursor = "'X" + std::string(19, '0') + "150000'";
  for (int shape = 0; shape < list_shape_count; ++shape) {
    auto name = "list" + std::to_string(shape);
    auto sql = pg_store::statement(name);
    REQUIRE_FALSE(sql.empty());
    // The store's own statement, with values a dashboard would send.
    std::vector<std::string> args, types;
    if (shape & 1) {
      args.push_back("'PENDING'");
      types.push_back("text");
    }
    if (shape & 2) {
      args.push_back("'RECAP_GENERATION'");
      types.push_back("text");
    }
    if (shape & 4) {
      args.push_back(cursor);
      types.push_back("text");
    }
    if (shape & 8) { // a search: id range, then text
      for (auto a : {"'01ABC'", "'01ABC~'", "'boom'"}) {
        args.push_back(a);
        types.push_back("text");
      }
    }
    args.push_back("51");
    types.push_back("bigint");
    auto join = [](const std::vector<std::string>& v) {
      std::string out;
      for (auto& x : v)
        out += (out.empty() ? "" : ", ") + x;
      return out;
    };
    auto plan = column(url,
                       "PREPARE jobd_list(" + join(types) + ") AS " + sql,
                       "EXPLAIN EXECUTE jobd_list(" + join(args) + ")");
    std::string text;
    for (auto& line : plan)
      text += line + "\n";
    INFO(name << ": " << sql << "\n" << text);
    CHECK_THAT(text, Catch::Contains("Index Scan"));
    if (shape & 8) {
      // A search reads two ranges of the primary key (the id prefix, the
      // newest max_search_scan jobs); its sort is of those rows only.
      CHECK_THAT(text, Catch::Contains("Index Cond: ((id >= '01ABC'::text) AND (id < '01ABC~'"));
      CHECK_THAT(text, Catch::Contains("(id >= COALESCE("));
      CHECK_THAT(text, !Catch::Contains("Seq Scan"));
      CHECK_THAT(text, !Catch::Contains("_status_id") && !Catch::Contains("_type_id"));
      continue;
    }
    // A filter is an index condition, not a check of every row in id order.
    if (shape & 3)
      CHECK_THAT(text, Catch::Contains("Index Cond: (status =")
                         || Catch::Contains("Index Cond: (type =")
                         || Catch::Contains("Index Cond: ((status =")
                         || Catch::Contains("Index Cond: ((type ="));
    CHECK_THAT(text, !Catch::Contains("Seq Scan"));
    CHECK_THAT(text, !Catch::Contains("Sort"));
  }
}

TEST_CASE("a lost connection: unavailable, then the next call reconnects; "
          "repeating an outcome has no double effect",
          "[storage][pg]") {
  auto& server = pg_server::shared();
  auto url = server.fresh_schema_url();
  auto clk = std::make_shared<manual_clock>();
  auto st = open_pg(url, clk, injected());
  REQUIRE(st->enqueue({echo(1), echo(0)}));
  auto c = st->claim(w1, 2, lease);
  REQUIRE(c);
  REQUIRE(c->size() == 2);
  auto a = (*c)[0];
  auto b = (*c)[1];

  SECTION("complete") {
    terminate_backend(server, st->backend_pid());
    auto lost = st->complete({a.id, a.attempt}, w1, R"({"v":1})");
    REQUIRE_FALSE(lost);
    CHECK(code_of(lost.error()) == errc::unavailable);
    CHECK_THAT(message_of(lost.error()),
               Catch::Contains("lost the connection")
                 && Catch::Contains("127.0.0.1:"
                                    + std::to_string(server.port())));
    // The caller retries: the store reconnects and applies it once.
    auto again = st->complete({a.id, a.attempt}, w1, R"({"v":1})");
    REQUIRE(again);
    CHECK(*again);
    // A repeat (say the reply to the retry was lost too) changes nothing.
    auto twice = st->complete({a.id, a.attempt}, w1, R"({"v":2})");
    REQUIRE(twice);
    CHECK_FALSE(*twice);
    auto g = st->get(a.id);
    REQUIRE(g);
    CHECK(g->status == job_status::completed);
    CHECK(g->result == R"({"v":1})");
  }
  SECTION("fail") {
    terminate_backend(server, st->backend_pid());
    auto lost = st->fail({b.id, b.attempt}, w1, "boom", false, 1000);
    REQUIRE_FALSE(lost);
    CHECK(code_of(lost.error()) == errc::unavailable);
    auto again = st->fail({b.id, b.attempt}, w1, "boom", false, 1000);
    REQUIRE(again);
    CHECK(again->applied);
    CHECK(again->retry_count == 1);
    auto twice = st->fail({b.id, b.attempt}, w1, "boom", false, 1000);
    REQUIRE(twice);
    CHECK_FALSE(twice->applied);
    auto g = st->get(b.id);
    REQUIRE(g);
    CHECK(g->retry_count == 1); // counted once
    CHECK(g->status == job_status::pending);
  }
  SECTION("inside a batch: nothing is kept, even if fn ignores the error") {
    auto err = st->batch([&]() -> caf::error {
      if (auto r = st->enqueue({echo()}); !r)
        return r.error();
      terminate_backend(server, st->backend_pid());
      auto r = st->enqueue({echo()});
      CHECK_FALSE(r);
      auto more = st->get(a.id); // refused: the transaction is gone
      CHECK_FALSE(more);
      return {};
    });
    CHECK(code_of(err) == errc::unavailable);
    auto page = st->list(job_filter{});
    REQUIRE(page);
    CHECK(page->jobs.size() == 2); // only a and b
  }
}

TEST_CASE("a stopped server: calls fail fast naming it, and the store and "
          "listener recover once it is back",
          "[storage][pg]") {
  pg_server server; // its own, so stopping it disturbs no other test
  auto url = server.fresh_schema_url();
  auto clk = std::make_shared<manual_clock>();
  auto st = open_pg(url, clk, injected());
  auto j = st->enqueue({echo()});
  REQUIRE(j);
  pg_listener_options lopts;
  lopts.reconnect_min_ms = 20;
  lopts.reconnect_max_ms = 200;
  auto listener = pg_listener::open(url, lopts);
  REQUIRE(listener);
  server.stop();
  auto where = "127.0.0.1:" + std::to_string(server.port());
  auto g = st->get(j->front().id);
  REQUIRE_FALSE(g);
  CHECK(code_of(g.error()) == errc::unavailable);
  CHECK_THAT(message_of(g.error()), Catch::Contains(where));
  // The reconnect attempt fails too; calls during the backoff return at
  // once without trying.
  auto g2 = st->get(j->front().id);
  REQUIRE_FALSE(g2);
  CHECK(code_of(g2.error()) == errc::unavailable);
  auto g3 = st->claim(w1, 1, lease);
  REQUIRE_FALSE(g3);
  CHECK(code_of(g3.error()) == errc::unavailable);
  CHECK_THAT(message_of(g3.error()), Catch::Contains(where));
  CHECK(code_of(st->batch([] { return caf::error{}; }))
        == errc::unavailable);
  CHECK_FALSE((*listener)->wait(100ms)); // down: just times out
  CHECK_FALSE((*listener)->connected());
  server.start();
  auto back = eventually([&] { return st->get(j->front().id); });
  REQUIRE(back);
  CHECK(back->status == job_status::pending);
  // Back: wait() says so (whatever was sent meanwhile is lost)...
  CHECK((*listener)->wait(10s));
  CHECK((*listener)->connected());
  // ...and hears new wake-ups.
  REQUIRE(st->enqueue({echo()}));
  CHECK((*listener)->wait(5s));
}

TEST_CASE("a listener opened while the server is down (retry_first_connect) "
          "listens once the server is up",
          "[storage][pg][notify]") {
  pg_server server; // its own, so stopping it disturbs no other test
  auto url = server.fresh_schema_url();
  auto clk = std::make_shared<manual_clock>();
  auto st = open_pg(url, clk, injected());
  server.stop();
  pg_listener_options lopts;
  lopts.reconnect_min_ms = 20;
  lopts.reconnect_max_ms = 200;
  lopts.retry_first_connect = true;
  auto listener = pg_listener::open(url, lopts);
  REQUIRE(listener); // without the option: unavailable (next test)
  CHECK_FALSE((*listener)->connected());
  CHECK_THAT((*listener)->last_error(),
             Catch::Contains("127.0.0.1:" + std::to_string(server.port())));
  CHECK_FALSE((*listener)->wait(100ms)); // still down: just times out
  server.start();
  // Up: a wait reconnects and says so, then hears new wake-ups.
  CHECK((*listener)->wait(10s));
  CHECK((*listener)->connected());
  REQUIRE(eventually([&] { return st->enqueue({echo()}); }));
  CHECK((*listener)->wait(5s));
}

TEST_CASE("a server that is down at open: a clear message with host and "
          "port, never the password",
          "[storage][pg]") {
  auto port = std::to_string(unused_port());
  store_options opts;
  opts.url = "postgresql://jobd:s3cret-pw@127.0.0.1:" + port + "/jobd";
  auto st = open_store(opts, std::make_shared<manual_clock>());
  REQUIRE_FALSE(st);
  CHECK(code_of(st.error()) == errc::unavailable);
  auto msg = message_of(st.error());
  INFO(msg);
  CHECK_THAT(msg, Catch::Contains("cannot connect to PostgreSQL at 127.0.0.1:"
                                  + port)
                    && Catch::Contains("database jobd, user jobd"));
  CHECK_THAT(msg, !Catch::Contains("s3cret-pw"));
  auto l = pg_listener::open(opts.url);
  REQUIRE_FALSE(l);
  CHECK(code_of(l.error()) == errc::unavailable);
  CHECK_THAT(message_of(l.error()), Catch::Contains("127.0.0.1:" + port)
                                      && !Catch::Contains("s3cret-pw"));
  SECTION("a malformed URL names the part, not the password") {
    opts.url = "postgres://jobd:s3cret-pw@127.0.0.1:54x2/jobd";
    auto bad = open_store(opts, std::make_shared<manual_clock>());
    REQUIRE_FALSE(bad);
    CHECK(code_of(bad.error()) == errc::invalid);
    CHECK_THAT(message_of(bad.error()),
               Catch::Contains("storage URL") && Catch::Contains("port")
                 && !Catch::Contains("s3cret-pw"));
  }
}

TEST_CASE("pg_listener wakes on writes that make a job due, after commit",
          "[storage][pg]") {
  auto& server = pg_server::shared();
  auto url = server.fresh_schema_url();
  auto clk = std::make_shared<manual_clock>();
  auto st = open_pg(url, clk, injected());
  auto opened = pg_listener::open(url);
  REQUIRE(opened);
  auto& l = **opened;
  CHECK_FALSE(l.wait(0ms));
  auto quiet = [&] { return !l.wait(150ms); };

  auto j = st->enqueue({echo()});
  REQUIRE(j);
  CHECK(l.wait(5s));
  CHECK(quiet()); // consumed

  // A batch that rolls back sends nothing.
  auto err = st->batch([&]() -> caf::error {
    if (auto r = st->enqueue({echo()}); !r)
      return r.error();
    return make_error(errc::io, "simulated failure");
  });
  CHECK(code_of(err) == errc::io);
  CHECK(quiet());

  auto id = j->front().id;
  auto claim_one = [&] {
    auto c = st->claim(w1, 1, lease);
    REQUIRE(c);
    REQUIRE(c->size() == 1);
    CHECK(quiet()); // claiming makes nothing due
    return lease_ref{c->front().id, c->front().attempt};
  };
  auto ref = claim_one();
  REQUIRE(st->fail(ref, w1, "boom", false, 0)); // retry: due again
  CHECK(l.wait(5s));
  ref = claim_one();
  REQUIRE(st->release(w1, {ref}));
  CHECK(l.wait(5s));
  ref = claim_one();
  REQUIRE(st->fail(ref, w1, "bad", true, 0)); // permanent: nothing due
  CHECK(quiet());
  REQUIRE(st->retry(id));
  CHECK(l.wait(5s));
  job_patch to_failed;
  to_failed.has_status = true;
  to_failed.status = job_status::failed;
  REQUIRE(st->update(id, to_failed));
  CHECK(quiet());
  job_patch to_pending;
  to_pending.has_status = true;
  to_pending.status = job_status::pending;
  REQUIRE(st->update(id, to_pending));
  CHECK(l.wait(5s));
  ref = claim_one();
  REQUIRE(st->complete(ref, w1, "{}"));
  CHECK(quiet());

  SECTION("rescue of an expired lease") {
    REQUIRE(st->enqueue({echo()}));
    CHECK(l.wait(5s));
    claim_one();
    clk->advance(lease + 1);
    auto n = st->rescue_expired();
    REQUIRE(n);
    CHECK(*n == 1);
    CHECK(l.wait(5s));
  }
  SECTION("interrupt() ends a wait at once") {
    std::thread t{[&] {
      std::this_thread::sleep_for(50ms);
      l.interrupt();
    }};
    auto t0 = std::chrono::steady_clock::now();
    CHECK_FALSE(l.wait(10s));
    CHECK(std::chrono::steady_clock::now() - t0 < 5s);
    t.join();
  }
  SECTION("a terminated listener connection reconnects and reports it") {
    terminate_backend(server, l.backend_pid());
    CHECK(l.wait(5s)); // reconnected: the caller should poll
    CHECK(l.connected());
    REQUIRE(st->enqueue({echo()}));
    CHECK(l.wait(5s));
  }
}

TEST_CASE("with the database clock, times come from the server, not the "
          "process",
          "[storage][pg]") {
  auto url = pg_server::shared().fresh_schema_url();
  // A process clock 25 years behind: the store must not use it.
  auto skewed = std::make_shared<manual_clock>(978'307'200'000); // 2001
  pg_store_options pg; // default: database time
  REQUIRE(pg.time == pg_time_source::database);
  auto st = open_pg(url, skewed, pg);
  auto real_now = [] { return system_clock_source{}.now_ms(); };
  auto before = real_now();
  auto j = st->enqueue({echo(), echo(0, before + 3'600'000)});
  REQUIRE(j);
  auto after = real_now();
  auto& due = (*j)[0];
  CHECK(due.created_at >= before - 1000); // same machine: same clock
  CHECK(due.created_at <= after + 1000);
  CHECK(due.scheduled_for == due.created_at);
  auto g = st->get(due.id);
  REQUIRE(g);
  CHECK(g->created_at == due.created_at);

  auto c = st->claim(w1, 10, 30'000);
  REQUIRE(c);
  REQUIRE(c->size() == 1); // the one an hour ahead is not due
  CHECK(c->front().id == due.id);
  CHECK(c->front().started_at >= due.created_at);
  CHECK(c->front().lease_expires_at == c->front().started_at + 30'000);

  std::this_thread::sleep_for(5ms);
  auto renewed = st->heartbeat(w1, {{due.id, 1}}, 30'000);
  REQUIRE(renewed);
  REQUIRE(renewed->size() == 1);
  g = st->get(due.id);
  REQUIRE(g);
  CHECK(g->lease_expires_at > c->front().lease_expires_at);

  auto out = st->fail({due.id, 1}, w1, "later", false, 600'000);
  REQUIRE(out);
  CHECK(out->applied);
  CHECK(out->scheduled_for >= before + 600'000);
  CHECK(out->scheduled_for <= real_now() + 600'000 + 1000);

  // A lease of 1 ms runs out in real time; rescue uses the same clock.
  job_patch now_due;
  now_due.has_scheduled_for = true;
  now_due.scheduled_for = 0; // now
  REQUIRE(st->update(due.id, now_due));
  auto c2 = st->claim(w1, 1, 1);
  REQUIRE(c2);
  REQUIRE(c2->size() == 1);
  std::this_thread::sleep_for(20ms);
  auto n = st->rescue_expired();
  REQUIRE(n);
  CHECK(*n == 1);
  g = st->get(due.id);
  REQUIRE(g);
  CHECK(g->status == job_status::pending);
  CHECK(g->retry_count == 2);
}

TEST_CASE("prune deletes finished jobs in batches", "[storage][pg]") {
  auto url = pg_server::shared().fresh_schema_url();
  auto clk = std::make_shared<manual_clock>();
  auto st = open_pg(url, clk, injected());
  REQUIRE(st->enqueue(std::vector<new_job>(25, echo())));
  REQUIRE(st->enqueue({echo()})); // stays PENDING
  auto c = st->claim(w1, 25, lease);
  REQUIRE(c);
  REQUIRE(c->size() == 25);
  for (auto& j : *c)
    REQUIRE(st->complete({j.id, j.attempt}, w1, "{}"));
  clk->advance(10);
  std::vector<int64_t> sizes;
  for (int i = 0; i < 4; ++i) {
    auto n = st->prune(clk->now_ms(), 10);
    REQUIRE(n);
    sizes.push_back(*n);
  }
  CHECK(sizes == std::vector<int64_t>{10, 10, 5, 0});
  auto page = st->list(job_filter{});
  REQUIRE(page);
  CHECK(page->jobs.size() == 1);
}

TEST_CASE("text with quotes, backslashes, braces and UTF-8 round-trips",
          "[storage][pg]") {
  auto url = pg_server::shared().fresh_schema_url();
  auto clk = std::make_shared<manual_clock>();
  auto st = open_pg(url, clk, injected());
  new_job odd;
  odd.type = R"(A,B{"x"}\ NULL)";
  odd.payload = R"({"s":"a\"b\\c","u":"ü✓","e":"","n":null})";
  auto j = st->enqueue({odd, echo()});
  REQUIRE(j);
  auto g = st->get(j->front().id);
  REQUIRE(g);
  CHECK(g->type == odd.type);
  CHECK(g->payload == odd.payload);
  // Odd ids in lease refs are just stale, never an error.
  auto c = st->claim(w1, 2, lease);
  REQUIRE(c);
  auto r = st->heartbeat(w1, {{R"(x"},{"y)", 1}, {"NULL", 1}}, lease);
  REQUIRE(r);
  CHECK(r->empty());
  auto n = st->release(w1, {{R"(\)", 1}});
  REQUIRE(n);
  CHECK(*n == 0);
}

TEST_CASE("open_store picks PostgreSQL for postgres:// URLs too",
          "[storage][pg]") {
  auto url = pg_server::shared().fresh_schema_url();
  store_options opts;
  opts.url = "postgres://" + url.substr(std::string{"postgresql://"}.size());
  auto st = open_store(opts, std::make_shared<manual_clock>());
  REQUIRE(st);
  CHECK(dynamic_cast<pg_store*>(st->get()) != nullptr);
}

TEST_CASE("storage URLs: the server is named without the password; jobd's "
          "defaults never override the URL's",
          "[storage][pg]") {
  auto ci = make_pg_conninfo("postgresql://bob:p%40ss@db.example:6543/jobs", 7);
  REQUIRE(ci);
  CHECK(ci->server == "db.example:6543, database jobs, user bob");
  CHECK(ci->conninfo
        == "postgresql://bob:p%40ss@db.example:6543/jobs?application_name=jobd"
           "&client_encoding=UTF8&connect_timeout=7&keepalives_idle=60"
           "&keepalives_interval=10&keepalives_count=3");
  auto q = make_pg_conninfo(
    "postgres://%2Fvar%2Frun%2Fpg/x?user=amy&application_name=me&"
    "connect_timeout=2",
    10);
  REQUIRE(q);
  CHECK(q->server == "/var/run/pg:5432, database x, user amy");
  CHECK_THAT(q->conninfo, Catch::Contains("application_name=me")
                            && !Catch::Contains("application_name=jobd")
                            && Catch::Contains("connect_timeout=2")
                            && !Catch::Contains("connect_timeout=10"));
  // tcp_user_timeout: added when asked for, the URL's own kept.
  auto t = make_pg_conninfo("postgresql://h/db", 10, 15'000);
  REQUIRE(t);
  CHECK_THAT(t->conninfo, Catch::EndsWith("&tcp_user_timeout=15000"));
  auto own = make_pg_conninfo("postgresql://h/db?tcp_user_timeout=500", 10,
                              15'000);
  REQUIRE(own);
  CHECK_THAT(own->conninfo, Catch::Contains("tcp_user_timeout=500")
                              && !Catch::Contains("tcp_user_timeout=15000"));
  auto bad = make_pg_conninfo("postgresql://u:s3cret@h/db?%zz=1", 10);
  REQUIRE_FALSE(bad);
  CHECK(code_of(bad.error()) == errc::invalid);
  CHECK_THAT(message_of(bad.error()), !Catch::Contains("s3cret"));
  CHECK(pg_redact("auth failed for s3cret", "postgresql://u:s3cret@h/db")
        == "auth failed for ***");
  CHECK(pg_redact("port 5432", "postgresql://h:5432/db?user=a@b")
        == "port 5432");
}

TEST_CASE("a password in a storage URL is found in the authority or as a "
          "parameter",
          "[storage][pg]") {
  CHECK(pg_url_has_password("postgresql://u:s3cret@h/db"));
  CHECK(pg_url_has_password("postgres://h/db?password=x"));
  CHECK(pg_url_has_password("postgresql://h/db?user=u&password=x"));
  CHECK_FALSE(pg_url_has_password("postgresql://u@h:5432/db"));
  CHECK_FALSE(pg_url_has_password("postgresql://h:5432/db?user=a@b"));
  CHECK_FALSE(pg_url_has_password("postgresql://h/db?passwordless=1"));
  CHECK_FALSE(pg_url_has_password("postgresql://h/db?sslpassword=x"));
  CHECK_FALSE(pg_url_has_password("jobd.db"));
}

TEST_CASE("a refused login is told from a server that cannot be reached",
          "[storage][pg]") {
  for (auto refused : {
         "FATAL:  password authentication failed for user \"jobd_pw\"",
         "fe_sendauth: no password supplied",
         "FATAL:  role \"nobody\" does not exist",
         "FATAL:  database \"nope\" does not exist",
         "FATAL:  no pg_hba.conf entry for host \"10.0.0.9\", user \"x\"",
         "FATAL:  permission denied for database \"jobd\"",
         "FATAL:  Ident authentication failed for user \"x\"",
       })
    CHECK(login_refused(refused));
  for (auto down : {
         "connection to server at \"127.0.0.1\", port 1 failed: Connection "
         "refused",
         "could not translate host name \"nowhere\" to address",
         "timeout expired",
         "FATAL:  the database system is starting up",
         "FATAL:  sorry, too many clients already",
         "server closed the connection unexpectedly",
       })
    CHECK_FALSE(login_refused(down));
}

TEST_CASE("opening with a wrong password fails at once as invalid, naming "
          "what to check and never the password",
          "[storage][pg]") {
  auto& pg = pg_server::shared();
  store_options opts;
  opts.url = pg.url_as(pg_server::password_user, "not-it-5521",
                       pg_server::password_user);
  auto st = open_store(opts, std::make_shared<system_clock_source>());
  REQUIRE_FALSE(st);
  CHECK(code_of(st.error()) == errc::invalid);
  auto msg = message_of(st.error());
  CHECK_THAT(msg, Catch::Contains("password authentication failed")
                    && Catch::Contains("check the user and password"));
  CHECK(msg.find("not-it-5521") == std::string::npos);
  opts.url = pg.url_as(pg_server::password_user, pg_server::password,
                       pg_server::password_user);
  auto ok = open_store(opts, std::make_shared<system_clock_source>());
  INFO((ok ? "" : message_of(ok.error())));
  CHECK(ok);
}

TEST_CASE("a transaction left open by a cut is ended by the server after "
          "pg_session_timeout_ms, releasing its locks; the URL may say "
          "otherwise",
          "[storage][pg]") {
  auto url = pg_server::shared().fresh_schema_url();
  auto clk = std::make_shared<manual_clock>();
  // A batch that stops between two statements: as a process cut off from
  // the server leaves its transaction (it cannot send COMMIT).
  auto stalled_batch = [&](job_store& st) {
    return st.batch([&]() -> caf::error {
      auto a = st.enqueue({echo()});
      if (!a)
        return a.error();
      std::this_thread::sleep_for(1500ms);
      auto b = st.enqueue({echo()});
      return b ? caf::error{} : b.error();
    });
  };
  auto count = [&] {
    return pg_server::query(url, "SELECT count(*) FROM \"ContentJob\"");
  };
  SECTION("ended by the server: the batch fails, nothing is kept, the store "
          "reconnects") {
    store_options opts;
    opts.url = url;
    opts.pg_session_timeout_ms = 300;
    // The server's timeout alone, without the store's call deadline.
    auto pg = injected();
    pg.call_timeout_ms = 0;
    auto st = pg_store::open(opts, clk, pg);
    REQUIRE(st);
    auto err = stalled_batch(**st);
    REQUIRE(err);
    CHECK(code_of(err) == errc::unavailable);
    CHECK(count() == "0");
    REQUIRE((*st)->enqueue({echo()})); // reconnected
    CHECK(count() == "1");
  }
  SECTION("the URL's own setting wins") {
    store_options opts;
    // The fresh schema's URL sets options (search_path): add to it.
    auto at = url.find("options=");
    REQUIRE(at != std::string::npos);
    auto end = url.find('&', at);
    opts.url = url.substr(0, end == std::string::npos ? url.size() : end)
               + "%20-cidle_in_transaction_session_timeout%3D0"
               + (end == std::string::npos ? "" : url.substr(end));
    opts.pg_session_timeout_ms = 300;
    auto pg = injected();
    pg.call_timeout_ms = 0; // else the store's own deadline (600 ms) ends it
    auto st = pg_store::open(opts, clk, pg);
    REQUIRE(st);
    CHECK_FALSE(stalled_batch(**st));
    CHECK(count() == "2");
  }
}
