// Recurring schedules across processes (issue 11 item 1): a schedule of the
// config file is written by each worker at start, and two worker processes
// create each of its runs once; `jobd schedules ...` from the command line;
// a bad [schedule.NAME] section stops start-up naming it.
#include "integration/cluster.hpp"

#include <fstream>
#include <set>

#include <sqlite3.h>

#include "support/pg_server.hpp"

using namespace jobd;
using namespace jobd::test;
using namespace std::chrono_literals;

namespace {

// Runs SQL on the cluster's database from outside jobd.
void run_sql(cluster& c, const std::string& sql) {
  if (c.backend() != "sqlite") {
    pg_server::query(c.db(), sql);
    return;
  }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(c.db().c_str(), &db) == SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  char* err = nullptr;
  auto rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  std::string msg = err ? err : "";
  sqlite3_free(err);
  sqlite3_close(db);
  INFO(msg);
  REQUIRE(rc == SQLITE_OK);
}

std::string write_config(cluster& c, const std::string& text) {
  auto path = c.dir().file("schedules.ini");
  std::ofstream{path} << text;
  return path;
}

const char* const catch_up_config = R"(
[schedule.every-minute]
cron = * * * * *
type = ECHO
payload = {"from":"config"}
missed = catch_up
catch_up = 30m
)";

void two_workers_catch_up(const std::string& backend) {
  cluster c{backend};
  auto conf = write_config(c, catch_up_config);
  // The schedule as the config defines it, made twenty minutes ago: as if
  // every worker had been down since.
  auto r = run_jobd({"schedules", "add", "every-minute", "--cron", "* * * * *",
                     "--type", "ECHO", "--db", c.db()},
                    {}, 30s);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  run_sql(c, "UPDATE \"Schedule\" SET \"createdAt\" = \"createdAt\" - 1200000");
  auto& w1 = c.start_worker({"--config", conf, "--workers", "2"});
  auto& w2 = c.start_worker({"--config", conf, "--workers", "2"});
  c.wait_until(
    [&] {
      auto done = c.all_jobs("COMPLETED");
      return done.size() >= 20;
    },
    60s, "the missed runs to be created and run\n" + w1.describe() + w2.describe());
  // Both have looked at the schedule by now (each looks at start); the
  // config's definition was written by each, keeping the creation time.
  auto jobs = c.all_jobs();
  // Read after the jobs: a minute may pass meanwhile and add a run.
  auto s = stored_schedule(c.store(), "every-minute");
  REQUIRE(s);
  CHECK(s->source == "config");
  CHECK(s->missed == "catch_up");
  CHECK(s->payload == R"({"from":"config"})");
  std::set<ms_t> runs;
  for (auto& j : jobs) {
    CHECK(j.scheduled_for % 60'000 == 0);
    runs.insert(j.scheduled_for);
  }
  // Each run once, whichever worker created it.
  CHECK(runs.size() == jobs.size());
  CHECK(jobs.size() >= 20);
  CHECK(jobs.size() <= 22);
  CHECK(s->last_run_at >= *runs.rbegin());
  c.stop_all();
}

} // namespace

TEST_CASE("sqlite: two workers catch up a config schedule's missed runs, "
          "each run once",
          "[integration][schedule]") {
  two_workers_catch_up("sqlite");
}

TEST_CASE("postgresql: two workers catch up a config schedule's missed runs, "
          "each run once",
          "[integration][schedule][pg]") {
  two_workers_catch_up("postgresql");
}

TEST_CASE("a bad [schedule.NAME] section stops start-up with one line "
          "naming it; nothing is stored",
          "[integration][schedule][config]") {
  cluster c{"sqlite"};
  struct bad {
    std::string text, message;
  };
  for (auto& b : std::vector<bad>{
         {"[schedule.nightly]\ntype = ECHO\n",
          "[schedule.nightly] needs cron = "},
         {"[schedule.nightly]\ncron = * * * * *\n",
          "[schedule.nightly] needs type = "},
         {"[schedule.nightly]\ncron = * * * * *\ntype = NOPE\n",
          "[schedule.nightly] type = 'NOPE' is not a job type this jobd runs"},
         {"[schedule.nightly]\ncron = * * * * *\ntype = ECHO\nevery = day\n",
          "unknown setting 'every' in [schedule.nightly]; its settings: cron, "
          "timezone, type, payload, priority, max_retries, missed, catch_up"},
         {"[schedule.nightly]\ncron = * * * * *\ntype = ECHO\npayload = [1]\n",
          "schedule.nightly.payload = '[1]' is not valid: expected a JSON "
          "object"},
         {"[schedule.nightly]\ncron = * * * * *\ntype = ECHO\nmissed = later\n",
          "expected skip or catch_up"},
         {"[schedule.nightly]\ncron = * * * * *\ntype = ECHO\ncatch_up = 1s\n",
          "expected a duration 1m..7d"},
         {"[schedule.a b]\ncron = * * * * *\ntype = ECHO\n",
          "[schedule.a b] name: may hold only letters"},
         {"[schedule.nightly]\ncron = 61 * * * *\ntype = ECHO\n",
          "[schedule.nightly] cron: "},
       }) {
    auto conf = write_config(c, b.text);
    auto r = run_jobd({"worker", "--config", conf, "--db", c.db()}, {}, 30s);
    INFO(b.text << "\n" << r.err);
    CHECK_FALSE(r.timed_out);
    CHECK(r.exit_code > 0);
    CHECK(r.err.find(b.message) != std::string::npos);
    CHECK(lines_of(r.err).size() == 1);
  }
  CHECK(c.store().schedules()->empty());
}

TEST_CASE("schedules CLI: add, list, pause, resume, run-now, delete; errors "
          "are one line and change nothing",
          "[integration][schedule][cli]") {
  cluster c{"sqlite"};
  auto cli = [&](std::vector<std::string> args) {
    args.insert(args.begin(), "schedules");
    args.push_back("--db");
    args.push_back(c.db());
    return run_jobd(args, {}, 30s);
  };
  auto add = cli({"add", "nightly", "--cron", "* * * * *", "--type", "ECHO",
                  "--payload", R"({"report":"daily"})", "--priority", "2",
                  "--missed", "catch_up", "--catch-up", "2h"});
  INFO(add.out << add.err);
  REQUIRE(add.exit_code == 0);
  CHECK(add.out.rfind("nightly ", 0) == 0);
  auto s = stored_schedule(c.store(), "nightly");
  REQUIRE(s);
  CHECK(s->payload == R"({"report":"daily"})");
  CHECK(s->priority == 2);
  CHECK(s->catch_up_ms == 7'200'000);
  CHECK(s->source == "api");
  auto list = cli({"list", "--json"});
  REQUIRE(list.exit_code == 0);
  CHECK(list.out.find("\"name\":\"nightly\"") != std::string::npos);
  CHECK(cli({"pause", "nightly"}).out.find(" paused ") != std::string::npos);
  CHECK(stored_schedule(c.store(), "nightly")->paused);
  auto run = cli({"run-now", "nightly"});
  REQUIRE(run.exit_code == 0);
  auto id = run.out.substr(0, run.out.size() - 1);
  CHECK(c.get(id).payload == R"({"report":"daily"})");
  CHECK(cli({"resume", "nightly"}).exit_code == 0);
  CHECK_FALSE(stored_schedule(c.store(), "nightly")->paused);
  struct bad {
    std::vector<std::string> args;
    int code;
    std::string message;
  };
  for (auto& b : std::vector<bad>{
         {{}, 2, "schedules needs a subcommand"},
         {{"frob"}, 2, "unknown subcommand 'schedules frob'"},
         {{"add", "x", "--type", "ECHO"}, 2, "schedules add needs --cron"},
         {{"add", "x", "--cron", "* * * * *"}, 2, "needs --type, one of: ECHO"},
         {{"add", "x", "--cron", "* * * *", "--type", "ECHO"}, 2, "--cron"},
         {{"add", "x", "--cron", "* * * * *", "--type", "ECHO", "--tz",
           "Nowhere/City"},
          2, "--tz: "},
         {{"add", "x", "--cron", "* * * * *", "--type", "ECHO", "--payload",
           "[1]"},
          2, "--payload must be a JSON object"},
         {{"add", "x", "--cron", "* * * * *", "--type", "ECHO", "--missed",
           "later"},
          2, "--missed must be skip or catch_up"},
         {{"add", "x", "--cron", "* * * * *", "--type", "ECHO", "--catch-up",
           "1s"},
          2, "--catch-up must be a duration from 1m to 7d"},
         {{"add", "a b", "--cron", "* * * * *", "--type", "ECHO"}, 2,
          "name: may hold only"},
         {{"pause"}, 2, "'schedules pause' needs exactly one schedule name"},
         {{"pause", "nope"}, 1, "no schedule named \"nope\""},
         {{"run-now", "nope"}, 1, "no schedule named \"nope\""},
         {{"delete", "nope"}, 1, "no schedule named \"nope\""},
         {{"list", "--every", "1"}, 2, "unknown option --every"},
       }) {
    auto r = cli(b.args);
    INFO(r.err);
    CHECK(r.exit_code == b.code);
    CHECK(r.out.empty());
    CHECK(r.err.find(b.message) != std::string::npos);
    CHECK(lines_of(r.err).size() == 1);
  }
  CHECK(c.store().schedules()->size() == 1);
  CHECK(c.all_jobs().size() == 1);
  auto del = cli({"delete", "nightly"});
  CHECK(del.exit_code == 0);
  CHECK(del.out == "deleted schedule nightly\n");
  CHECK(c.store().schedules()->empty());
  CHECK(c.all_jobs().size() == 1); // its job stays
}
