// The schedule actor on the deterministic scheduler: runs are created at
// their times, missed runs follow the schedule's policy, a paused schedule
// waits, and two processes on one database create each run once.
#include <catch2/catch.hpp>

#include <caf/send.hpp>

#include "actors/log.hpp"
#include "handlers/echo.hpp"
#include "storage/rules.hpp"
#include "support/actor_fixture.hpp"
#include "support/temp_dir.hpp"

using namespace jobd;
using namespace jobd::test;

namespace {

struct schedule_fixture : actor_fixture {
  temp_dir dir;
  store_options opts;
  std::unique_ptr<job_store> other; // a second connection, like another process
  std::vector<runtime> rts;
  runtime_config rcfg;
  std::shared_ptr<handler_registry> handlers
    = std::make_shared<handler_registry>();

  schedule_fixture() {
    set_log_quiet(true);
    opts.url = dir.file("jobs.db");
    opts.synchronous = "NORMAL";
    rcfg.store.detached = false;
    rcfg.store.lease_ms = 30'000;
    rcfg.pool.detached = false;
    rcfg.pool.workers = 2;
    rcfg.pool.heartbeat_interval_ms = 10'000;
    rcfg.scheduler.poll_interval_ms = 250;
    rcfg.scheduler.rescue_interval_ms = 5'000;
    // Not a divisor of the minute: a run made at a refresh, not at its
    // time, would show.
    rcfg.schedules.refresh_ms = 7'000;
    handlers->add("ECHO", std::make_shared<echo_handler>());
    auto st = open_store(opts, clock);
    REQUIRE(st);
    other = std::move(*st);
  }

  ~schedule_fixture() {
    for (auto& rt : rts)
      for (auto& a : actors_of(rt))
        caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    run();
    set_log_quiet(false);
  }

  /// Starts one more worker runtime (as another process would) on the file.
  runtime& start(const std::string& worker = "w1") {
    auto st = open_store(opts, clock);
    REQUIRE(st);
    auto cfg = rcfg;
    cfg.store.worker_id = worker;
    rts.push_back(start_runtime(sys, std::move(*st), handlers, cfg, clock));
    run();
    return rts.back();
  }

  schedule put(const std::string& cron, const std::string& missed = "skip") {
    schedule s;
    s.name = "tick";
    s.cron = cron;
    s.type = "ECHO";
    s.payload = R"({"from":"tick"})";
    s.missed = missed;
    auto res = other->put_schedule(s);
    REQUIRE(res);
    return *res;
  }

  std::vector<job> jobs() {
    job_filter f;
    f.limit = 500;
    auto page = other->list(f);
    REQUIRE(page);
    return page->jobs;
  }

  /// ms from now to the next whole minute.
  ms_t to_next_minute() const {
    return 60'000 - clock->now_ms() % 60'000;
  }
};

} // namespace

TEST_CASE_METHOD(schedule_fixture,
                 "a schedule's run is created at its time, once, and runs",
                 "[actors][schedule]") {
  put("* * * * *");
  start();
  CHECK(jobs().empty());
  auto wait = to_next_minute();
  advance(wait - 1);
  CHECK(jobs().empty()); // not before its time
  advance(1);
  auto made = jobs();
  REQUIRE(made.size() == 1);
  CHECK(made[0].status == job_status::completed);
  CHECK(made[0].result == R"({"from":"tick"})");
  CHECK(made[0].scheduled_for == clock->now_ms());
  auto s = stored_schedule(*other, "tick");
  REQUIRE(s);
  CHECK(s->last_run_at == clock->now_ms());
  CHECK(s->last_job_id == made[0].id);
  // The next minute: the next run, and only it.
  advance(60'000);
  CHECK(jobs().size() == 2);
}

TEST_CASE_METHOD(schedule_fixture,
                 "runs missed while no worker ran: catch_up creates each one "
                 "within its window, oldest first; skip only the latest if "
                 "it is under a minute late",
                 "[actors][schedule]") {
  SECTION("catch_up") {
    put("* * * * *", "catch_up");
    clock->advance(to_next_minute() + 9 * 60'000 + 20'000); // 10 runs passed
    start();
    auto made = jobs();
    REQUIRE(made.size() == 10);
    // Newest first in the list: each a minute before the next.
    for (size_t i = 1; i < made.size(); ++i)
      CHECK(made[i - 1].scheduled_for - made[i].scheduled_for == 60'000);
  }
  SECTION("skip, the latest run 20 s late") {
    put("* * * * *");
    clock->advance(to_next_minute() + 9 * 60'000 + 20'000);
    start();
    REQUIRE(jobs().size() == 1);
    CHECK(jobs()[0].scheduled_for == clock->now_ms() - 20'000);
  }
  SECTION("skip, the latest run 2 minutes late") {
    put("0 * * * *"); // hourly
    clock->advance(to_next_minute());
    clock->advance(60 * 60'000 - clock->now_ms() % (60 * 60'000) + 120'000);
    start();
    CHECK(jobs().empty());
    // The next hour's run is created on time.
    advance(58 * 60'000);
    CHECK(jobs().size() == 1);
  }
}

TEST_CASE_METHOD(schedule_fixture,
                 "a paused schedule creates no run; resumed, it goes on "
                 "from the next run",
                 "[actors][schedule]") {
  put("* * * * *");
  REQUIRE(other->pause_schedule("tick", true));
  auto& rt = start();
  advance(to_next_minute());
  advance(60'000);
  CHECK(jobs().empty());
  self->send(rt.store, schedules_atom::value, pause_atom::value,
             std::string{"tick"}, false);
  run();
  self->receive([](schedule&) {}, [](caf::error& err) { FAIL(message_of(err)); });
  // The resume itself wakes the schedule actor: no timer fired.
  run();
  CHECK(jobs().size() == 1); // the run of this minute, under a minute late
  advance(60'000);
  CHECK(jobs().size() == 2);
}

TEST_CASE_METHOD(schedule_fixture,
                 "two workers on one database create each run once",
                 "[actors][schedule]") {
  put("* * * * *", "catch_up");
  clock->advance(to_next_minute() + 4 * 60'000 + 1'000); // 5 runs passed
  start("w1");
  start("w2");
  advance(60'000);
  advance(60'000);
  auto made = jobs();
  CHECK(made.size() == 7);
  std::set<ms_t> times;
  for (auto& j : made)
    times.insert(j.scheduled_for);
  CHECK(times.size() == 7);
}
