// Live settings (SIGHUP): the reconfigure messages of the pool, scheduler,
// retry and retention actors, on the deterministic scheduler (timers move
// only when the test moves them) and, for a pool shrinking under running
// jobs, on real threads. Waits are on conditions with deadlines.
#include <catch2/catch.hpp>

#include <condition_variable>
#include <mutex>
#include <thread>

#include <caf/send.hpp>

#include "actors/log.hpp"
#include "handlers/echo.hpp"
#include "support/actor_fixture.hpp"
#include "support/temp_dir.hpp"

using namespace jobd;
using namespace jobd::test;

namespace {

struct reconfig_fixture : actor_fixture {
  temp_dir dir;
  store_options opts;
  std::unique_ptr<job_store> reader; // a second connection
  runtime rt;
  runtime_config rcfg;
  std::shared_ptr<handler_registry> handlers
    = std::make_shared<handler_registry>();

  reconfig_fixture() {
    set_log_quiet(true);
    opts.url = dir.file("jobs.db");
    opts.synchronous = "NORMAL";
    rcfg.store.detached = false;
    rcfg.store.worker_id = "test-worker";
    rcfg.pool.detached = false;
    rcfg.pool.workers = 2;
    rcfg.scheduler.poll_interval_ms = 250;
    rcfg.retry.jitter = 0;
    handlers->add("ECHO", std::make_shared<echo_handler>());
  }

  ~reconfig_fixture() {
    for (auto& a : actors_of(rt))
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    run();
    set_log_quiet(false);
  }

  void start() {
    auto st = open_store(opts, clock);
    REQUIRE(st);
    rt = start_runtime(sys, std::move(*st), handlers, rcfg, clock);
    auto r = open_store(opts, clock);
    REQUIRE(r);
    reader = std::move(*r);
    run();
  }

  // (handlers alive, pool size wanted)
  std::pair<int32_t, int32_t> pool_size() {
    std::pair<int32_t, int32_t> out{-1, -1};
    self->send(rt.pool, slots_atom::value);
    run();
    self->receive(
      [&](int32_t alive, int32_t wanted) { out = {alive, wanted}; },
      caf::after(std::chrono::seconds(0)) >> [] { FAIL("no reply"); });
    return out;
  }

  std::vector<std::string> enqueue_other(int n, const std::string& payload
                                                = "{}") {
    std::vector<new_job> jobs(n);
    for (auto& nj : jobs) {
      nj.type = "ECHO";
      nj.payload = payload;
    }
    auto res = reader->enqueue(jobs);
    REQUIRE(res);
    std::vector<std::string> ids;
    for (auto& j : *res)
      ids.push_back(j.id);
    return ids;
  }

  job get(const std::string& id) {
    auto j = reader->get(id);
    REQUIRE(j);
    return *j;
  }
};

} // namespace

TEST_CASE_METHOD(reconfig_fixture,
                 "reconfigure grows and shrinks the pool; every job runs once",
                 "[actors][reconfigure]") {
  start();
  CHECK(pool_size() == std::make_pair(2, 2));
  auto cfg = rcfg;
  cfg.pool.workers = 5;
  reconfigure_runtime(rt, cfg, nullptr);
  run();
  CHECK(pool_size() == std::make_pair(5, 5));
  auto ids = enqueue_other(12);
  advance(250); // the poll finds them; 5 slots, claimed in rounds
  for (auto& id : ids) {
    auto j = get(id);
    CHECK(j.status == job_status::completed);
    CHECK(j.attempt == 1);
  }
  cfg.pool.workers = 1;
  reconfigure_runtime(rt, cfg, nullptr);
  run();
  CHECK(pool_size() == std::make_pair(1, 1));
  ids = enqueue_other(3);
  advance(250);
  for (auto& id : ids) {
    auto j = get(id);
    CHECK(j.status == job_status::completed);
    CHECK(j.attempt == 1);
  }
}

TEST_CASE_METHOD(reconfig_fixture,
                 "reconfigure: the next retry uses the new backoff base",
                 "[actors][reconfigure]") {
  start();
  auto id = enqueue_other(1, R"({"fail":true,"error":"boom"})").front();
  advance(250);
  auto j = get(id);
  REQUIRE(j.status == job_status::pending);
  CHECK(j.retry_count == 1);
  CHECK(j.scheduled_for == clock->now_ms() + 1'000); // base 1 s
  auto cfg = rcfg;
  cfg.retry.base_ms = 5'000;
  reconfigure_runtime(rt, cfg, nullptr);
  run();
  advance(1'000); // the retry runs and fails again
  j = get(id);
  REQUIRE(j.status == job_status::pending);
  CHECK(j.retry_count == 2);
  CHECK(j.scheduled_for == clock->now_ms() + 10'000); // 5 s * 2^1
}

TEST_CASE_METHOD(reconfig_fixture,
                 "reconfigure: a shorter poll interval applies at once",
                 "[actors][reconfigure]") {
  rcfg.scheduler.poll_interval_ms = 60'000;
  start();
  auto cfg = rcfg;
  cfg.scheduler.poll_interval_ms = 100;
  reconfigure_runtime(rt, cfg, nullptr);
  run();
  auto id = enqueue_other(1).front();
  advance(100);
  CHECK(get(id).status == job_status::completed);
}

TEST_CASE_METHOD(reconfig_fixture,
                 "reconfigure: retention turned on prunes old finished jobs",
                 "[actors][reconfigure]") {
  rcfg.retention.max_age_ms = 0; // keep forever
  start();
  auto id = enqueue_other(1).front();
  advance(250);
  REQUIRE(get(id).status == job_status::completed);
  advance(2 * 3'600'000);
  REQUIRE(reader->get(id)); // still kept
  auto cfg = rcfg;
  cfg.retention.max_age_ms = 3'600'000;
  reconfigure_runtime(rt, cfg, nullptr);
  run();
  auto gone = reader->get(id);
  REQUIRE_FALSE(gone);
  CHECK(code_of(gone.error()) == errc::not_found);
}

TEST_CASE_METHOD(reconfig_fixture,
                 "with retention off, the change feed's old records of "
                 "deleted jobs are still dropped",
                 "[actors][feed]") {
  rcfg.retention.max_age_ms = 0; // keep forever
  rcfg.retention.interval_ms = 60'000;
  start();
  auto id = enqueue_other(1).front();
  advance(250);
  REQUIRE(get(id).status == job_status::completed);
  auto before = reader->change_position();
  REQUIRE(before);
  REQUIRE_FALSE(reader->remove(id));
  auto kept = reader->changes(*before, 10);
  REQUIRE(kept);
  CHECK(kept->changes.size() == 1);
  CHECK_FALSE(kept->gap);
  // Under tombstone_keep_ms the record stays; past it, the next round
  // drops it, and a reader that far behind is told.
  advance(tombstone_keep_ms - 120'000);
  kept = reader->changes(*before, 10);
  REQUIRE(kept);
  CHECK(kept->changes.size() == 1);
  advance(180'000);
  auto dropped = reader->changes(*before, 10);
  REQUIRE(dropped);
  CHECK(dropped->changes.empty());
  CHECK(dropped->gap);
}

TEST_CASE_METHOD(reconfig_fixture,
                 "reconfigure with new handlers: jobs started later use them",
                 "[actors][reconfigure]") {
  start();
  auto first = enqueue_other(1, R"({"n":1})").front();
  advance(250);
  CHECK(get(first).result == R"({"n":1})");
  // New handlers: ECHO now fails every job permanently.
  struct refusing final : job_handler {
    outcome run(const job&, run_context&) override {
      return outcome::failure("new handler", true);
    }
  };
  auto next = std::make_shared<handler_registry>();
  next->add("ECHO", std::make_shared<refusing>());
  reconfigure_runtime(rt, rcfg, next);
  run();
  CHECK(pool_size() == std::make_pair(2, 2));
  auto second = enqueue_other(1).front();
  advance(250);
  auto j = get(second);
  CHECK(j.status == job_status::failed);
  CHECK(j.error == "new handler");
}

namespace {

// Blocks every run until opened.
class gate_handler final : public job_handler {
public:
  outcome run(const job&, run_context&) override {
    std::unique_lock<std::mutex> guard{mtx_};
    ++running_;
    cv_.notify_all();
    cv_.wait(guard, [&] { return open_; });
    --running_;
    return outcome::success("{}");
  }
  void open() {
    std::lock_guard<std::mutex> guard{mtx_};
    open_ = true;
    cv_.notify_all();
  }
  bool wait_running(int n) {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, std::chrono::seconds(20),
                        [&] { return running_ == n; });
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  bool open_ = false;
  int running_ = 0;
};

// Waits up to 20 s for the condition; false on timeout.
template <class Pred>
bool within_20s(Pred pred) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < until) {
    if (pred())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return pred();
}

} // namespace

TEST_CASE("reconfigure: a shrinking pool lets running jobs finish",
          "[actors][reconfigure][threads]") {
  set_log_quiet(true);
  caf::actor_system_config cfg;
  register_types(cfg);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  temp_dir dir;
  store_options opts;
  opts.url = dir.file("jobs.db");
  opts.synchronous = "NORMAL";
  auto handlers = std::make_shared<handler_registry>();
  auto gate = std::make_shared<gate_handler>();
  handlers->add("GATE", gate);
  runtime_config rcfg;
  rcfg.pool.workers = 3;
  rcfg.scheduler.poll_interval_ms = 20;
  auto clock = std::make_shared<system_clock_source>();
  auto st = open_store(opts, clock);
  REQUIRE(st);
  auto rt = start_runtime(sys, std::move(*st), handlers, rcfg, clock);
  auto reader = open_store(opts, clock);
  REQUIRE(reader);
  std::vector<new_job> jobs(5);
  for (auto& nj : jobs)
    nj.type = "GATE";
  auto stored = (*reader)->enqueue(jobs);
  REQUIRE(stored);
  REQUIRE(gate->wait_running(3));
  auto shrunk = rcfg;
  shrunk.pool.workers = 1;
  reconfigure_runtime(rt, shrunk, nullptr);
  caf::scoped_actor self{sys};
  auto pool_size = [&] {
    std::pair<int32_t, int32_t> out{-1, -1};
    self->request(rt.pool, std::chrono::seconds(5), slots_atom::value)
      .receive([&](int32_t alive, int32_t wanted) { out = {alive, wanted}; },
               [](caf::error& err) { FAIL(message_of(err)); });
    return out;
  };
  // The busy handlers keep their jobs: none is cancelled or handed back.
  CHECK(pool_size() == std::make_pair(3, 1));
  auto count = [&](job_status s) {
    int n = 0;
    for (auto& j : *stored) {
      auto now = (*reader)->get(j.id);
      if (now && now->status == s)
        ++n;
    }
    return n;
  };
  CHECK(count(job_status::processing) == 3);
  gate->open();
  REQUIRE(within_20s([&] { return count(job_status::completed) == 5; }));
  for (auto& j : *stored)
    CHECK((*reader)->get(j.id)->attempt == 1);
  REQUIRE(within_20s([&] { return pool_size() == std::make_pair(1, 1); }));
  auto released = stop_runtime(sys, rt, 0);
  REQUIRE(released);
  CHECK(*released == 0);
  set_log_quiet(false);
}
