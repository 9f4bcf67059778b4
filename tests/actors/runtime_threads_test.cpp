// The runtime on real threads (detached handlers, as in production): type
// concurrency limits and graceful shutdown. Waits are on conditions with
// deadlines, never fixed sleeps.
#include <catch2/catch.hpp>

#include <condition_variable>
#include <mutex>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/log.hpp"
#include "actors/runtime.hpp"
#include "storage/rules.hpp"
#include "handlers/echo.hpp"
#include "support/flaky_store.hpp"
#include "support/log_capture.hpp"
#include "support/temp_dir.hpp"

using namespace jobd;
using namespace jobd::test;

namespace {

// Blocks every run until opened; at most one of its jobs may run at once.
class gated_handler final : public job_handler {
public:
  outcome run(const job&, run_context&) override {
    std::unique_lock<std::mutex> guard{mtx_};
    ++running_;
    max_running_ = std::max(max_running_, running_);
    cv_.notify_all();
    cv_.wait(guard, [&] { return open_; });
    --running_;
    return outcome::success("{}");
  }
  int32_t max_concurrency() const override { return 1; }

  void open() {
    std::lock_guard<std::mutex> guard{mtx_};
    open_ = true;
    cv_.notify_all();
  }
  bool wait_running(int n) {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, std::chrono::seconds(10),
                        [&] { return running_ == n; });
  }
  int max_running() {
    std::lock_guard<std::mutex> guard{mtx_};
    return max_running_;
  }

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  bool open_ = false;
  int running_ = 0;
  int max_running_ = 0;
};

// Opens the gate when the test ends, passed or failed: a failed REQUIRE
// must not leave a handler blocked, or the actor system never shuts down
// and the test binary hangs instead of reporting the failure.
class open_on_exit {
public:
  explicit open_on_exit(std::shared_ptr<gated_handler> gate)
    : gate_(std::move(gate)) {
  }
  ~open_on_exit() { gate_->open(); }
  open_on_exit(const open_on_exit&) = delete;
  open_on_exit& operator=(const open_on_exit&) = delete;

private:
  std::shared_ptr<gated_handler> gate_;
};

// Reports "halfway" (0.5), then runs until its job is cancelled (or the
// test releases it), then returns success; says whether it saw the
// cancellation. A `heedless` one ignores cancellation: it runs until
// released. Counts its runs, and the cancellations it saw.
class patient_handler final : public job_handler {
public:
  explicit patient_handler(bool heedless = false) : heedless_(heedless) {}
  outcome run(const job&, run_context& ctx) override {
    ctx.report_progress(0.5, "halfway");
    std::unique_lock<std::mutex> guard{mtx_};
    running_ = true;
    ++runs_;
    cv_.notify_all();
    while (!released_ && (heedless_ || !ctx.is_cancelled()))
      cv_.wait_for(guard, std::chrono::milliseconds(5));
    cancelled_ = ctx.is_cancelled();
    times_cancelled_ += cancelled_ ? 1 : 0;
    ++times_returned_;
    running_ = false;
    returned_ = true;
    cv_.notify_all();
    return outcome::success(R"({"ran":"to the end"})");
  }
  int runs() {
    std::lock_guard<std::mutex> guard{mtx_};
    return runs_;
  }
  int times_cancelled() {
    std::lock_guard<std::mutex> guard{mtx_};
    return times_cancelled_;
  }
  int times_returned() {
    std::lock_guard<std::mutex> guard{mtx_};
    return times_returned_;
  }
  bool wait_running() {
    std::unique_lock<std::mutex> guard{mtx_};
    return cv_.wait_for(guard, std::chrono::seconds(10),
                        [&] { return running_; });
  }
  /// Waits for run() to return; whether it did because it was cancelled.
  bool wait_returned(bool& cancelled) {
    std::unique_lock<std::mutex> guard{mtx_};
    auto ok = cv_.wait_for(guard, std::chrono::seconds(20),
                           [&] { return returned_; });
    cancelled = cancelled_;
    return ok;
  }
  /// Whether run() has returned (the job stopped).
  bool returned() {
    std::lock_guard<std::mutex> guard{mtx_};
    return returned_;
  }
  void release() {
    std::lock_guard<std::mutex> guard{mtx_};
    released_ = true;
    cv_.notify_all();
  }

private:
  bool heedless_;
  int runs_ = 0, times_cancelled_ = 0, times_returned_ = 0;
  std::mutex mtx_;
  std::condition_variable cv_;
  bool running_ = false, released_ = false, cancelled_ = false,
       returned_ = false;
};

// Releases a patient handler when the test ends, passed or failed (as
// open_on_exit does for the gate).
struct release_on_exit {
  std::shared_ptr<patient_handler> h;
  ~release_on_exit() { h->release(); }
};

struct threaded_fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  temp_dir dir;
  store_options opts;
  std::unique_ptr<job_store> reader;
  std::shared_ptr<handler_registry> handlers
    = std::make_shared<handler_registry>();
  runtime_config rcfg;
  runtime rt;
  bool stopped = false;

  threaded_fixture() {
    set_log_quiet(true);
    register_types(cfg);
    cfg.set("logger.verbosity", caf::atom("quiet"));
    sys = std::make_unique<caf::actor_system>(cfg);
    opts.url = dir.file("jobs.db");
    opts.synchronous = "NORMAL";
    rcfg.pool.workers = 4;
    rcfg.scheduler.poll_interval_ms = 20;
    handlers->add("ECHO", std::make_shared<echo_handler>());
  }

  ~threaded_fixture() {
    if (!stopped)
      stop_runtime(*sys, rt, 0);
    set_log_quiet(false);
  }

  /// Set before start(): the store is wrapped in it (flaky is set).
  bool wrap_flaky = false;
  flaky_store* flaky = nullptr;

  void start() {
    auto clock = std::make_shared<system_clock_source>();
    auto st = open_store(opts, clock);
    REQUIRE(st);
    std::unique_ptr<job_store> store = std::move(*st);
    if (wrap_flaky) {
      auto f = std::make_unique<flaky_store>(std::move(store));
      flaky = f.get();
      store = std::move(f);
    }
    rt = start_runtime(*sys, std::move(store), handlers, rcfg, clock);
    auto r = open_store(opts, clock);
    REQUIRE(r);
    reader = std::move(*r);
  }

  std::vector<std::string> enqueue(const std::string& type,
                                   const std::string& payload, int n) {
    std::vector<new_job> jobs(n);
    for (auto& nj : jobs) {
      nj.type = type;
      nj.payload = payload;
    }
    auto res = reader->enqueue(jobs);
    REQUIRE(res);
    std::vector<std::string> ids;
    for (auto& j : *res)
      ids.push_back(j.id);
    return ids;
  }

  int64_t count(const char* status) {
    job_filter f;
    f.status = status;
    f.limit = 500;
    auto p = reader->list(f);
    REQUIRE(p);
    return static_cast<int64_t>(p->jobs.size());
  }

  /// The pool's running jobs (-1 if it does not answer within 5 s).
  int32_t running_jobs(caf::scoped_actor& self) {
    int32_t running = -1;
    self->request(rt.pool, std::chrono::seconds(5), status_atom::value)
      .receive([&](int32_t r, int32_t) { running = r; },
               [](caf::error&) {});
    return running;
  }

  // Waits up to 20 s for the condition; false on timeout.
  template <class Pred>
  bool eventually(Pred pred) {
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (std::chrono::steady_clock::now() < until) {
      if (pred())
        return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return pred();
  }
};

} // namespace

TEST_CASE_METHOD(threaded_fixture,
                 "a type's concurrency limit holds its jobs in the queue "
                 "while other types run",
                 "[actors][threads]") {
  auto gated = std::make_shared<gated_handler>();
  open_on_exit gate_guard{gated};
  handlers->add("GATED", gated);
  start();
  enqueue("GATED", "{}", 3);
  REQUIRE(gated->wait_running(1));
  // Other types still run while GATED waits.
  auto echo_ids = enqueue("ECHO", "{}", 2);
  REQUIRE(eventually([&] { return count("COMPLETED") == 2; }));
  caf::scoped_actor self{*sys};
  self->request(rt.pool, std::chrono::seconds(5), status_atom::value)
    .receive(
      [](int32_t running, int32_t queued) {
        CHECK(running == 1);
        CHECK(queued == 2);
      },
      [](caf::error& err) { FAIL(message_of(err)); });
  gated->open();
  REQUIRE(eventually([&] { return count("COMPLETED") == 5; }));
  CHECK(gated->max_running() == 1);
}

TEST_CASE_METHOD(threaded_fixture,
                 "graceful stop lets short jobs finish and hands long ones "
                 "back without counting a retry",
                 "[actors][threads]") {
  start();
  auto short_ids = enqueue("ECHO", R"({"delayMs":300})", 2);
  auto long_ids = enqueue("ECHO", R"({"delayMs":60000})", 2);
  REQUIRE(eventually([&] { return count("PROCESSING") == 4; }));
  auto started = std::chrono::steady_clock::now();
  auto released = stop_runtime(*sys, rt, 1'000);
  stopped = true;
  auto took = std::chrono::steady_clock::now() - started;
  REQUIRE(released);
  CHECK(*released == 2);
  CHECK(took < std::chrono::seconds(10)); // the deadline, not the 60 s jobs
  for (auto& id : short_ids) {
    auto j = reader->get(id);
    REQUIRE(j);
    CHECK(j->status == job_status::completed);
  }
  for (auto& id : long_ids) {
    auto j = reader->get(id);
    REQUIRE(j);
    CHECK(j->status == job_status::pending);
    CHECK(j->retry_count == 0);
    CHECK(j->locked_by.empty());
  }
  CHECK(count("PROCESSING") == 0);
}

TEST_CASE_METHOD(threaded_fixture,
                 "graceful stop hands claimed jobs that have not started "
                 "back at once",
                 "[actors][threads]") {
  // GATED runs one at a time: of 3 claimed jobs, 1 runs and 2 wait in the
  // pool's queue. The running one never finishes before the deadline.
  auto gated = std::make_shared<gated_handler>();
  open_on_exit gate_guard{gated};
  handlers->add("GATED", gated);
  start();
  auto ids = enqueue("GATED", "{}", 3);
  REQUIRE(gated->wait_running(1));
  REQUIRE(eventually([&] { return count("PROCESSING") == 3; }));
  auto released = stop_runtime(*sys, rt, 300);
  stopped = true;
  REQUIRE(released);
  // None left PROCESSING until its lease runs out: all back to PENDING,
  // none counted as a retry.
  CHECK(count("PROCESSING") == 0);
  for (auto& id : ids) {
    auto j = reader->get(id);
    REQUIRE(j);
    INFO(id);
    CHECK(j->status == job_status::pending);
    CHECK(j->retry_count == 0);
    CHECK(j->locked_by.empty());
    CHECK(j->attempt == 1);
  }
  CHECK(gated->max_running() == 1);
}

TEST_CASE_METHOD(threaded_fixture,
                 "a running job's lease is renewed by heartbeats while it "
                 "runs",
                 "[actors][threads]") {
  rcfg.pool.heartbeat_interval_ms = 100;
  auto gated = std::make_shared<gated_handler>();
  open_on_exit gate_guard{gated};
  handlers->add("GATED", gated);
  start();
  auto id = enqueue("GATED", "{}", 1).at(0);
  REQUIRE(gated->wait_running(1));
  auto claimed = reader->get(id);
  REQUIRE(claimed);
  REQUIRE(claimed->status == job_status::processing);
  // Renewed: the lease end moves on while the job runs (no fixed sleep: we
  // wait for the renewal itself).
  CHECK(eventually([&] {
    auto j = reader->get(id);
    return j && j->lease_expires_at > claimed->lease_expires_at;
  }));
  gated->open();
  REQUIRE(eventually([&] { return count("COMPLETED") == 1; }));
  auto j = reader->get(id);
  REQUIRE(j);
  CHECK(j->attempt == 1);
}

TEST_CASE_METHOD(threaded_fixture,
                 "self-fencing: a job whose lease cannot be renewed is "
                 "stopped before the lease runs out, and its outcome is "
                 "dropped",
                 "[actors][threads][fencing]") {
  // The pool's deadlines follow a manual clock; heartbeats run every 20 ms
  // of real time. Lease 3 s, margin 1 s: a job stops 2 s after its last
  // renewal.
  auto clock = std::make_shared<manual_clock>();
  rcfg.store.lease_ms = 3'000;
  rcfg.pool.fence_margin_ms = 1'000;
  rcfg.pool.heartbeat_interval_ms = 20;
  rcfg.pool.clock = clock;
  auto patient = std::make_shared<patient_handler>();
  release_on_exit guard{patient};
  handlers->add("PATIENT", patient);
  wrap_flaky = true;
  start();
  auto id = enqueue("PATIENT", "{}", 1).at(0);
  REQUIRE(patient->wait_running());
  // While heartbeats renew the lease the job runs on, however long: move
  // the clock 600 ms (under the 2 s to the deadline) after each heartbeat.
  for (int i = 0; i < 10; ++i) {
    auto seen = flaky->heartbeats.load();
    REQUIRE(eventually([&] { return flaky->heartbeats.load() > seen + 1; }));
    clock->advance(600);
  }
  REQUIRE(eventually([&] { return flaky->heartbeats.load() > 12; }));
  CHECK(rt.counters->jobs_fenced == 0);
  CHECK_FALSE(patient->returned()); // still running
  // Cut off: heartbeats fail. Past the deadline the job is stopped.
  log_capture log;
  auto failed_before = flaky->heartbeats.load();
  flaky->fail_heartbeats = true;
  clock->advance(2'100);
  bool cancelled = false;
  REQUIRE(patient->wait_returned(cancelled));
  CHECK(cancelled);
  CHECK(eventually([&] { return rt.counters->jobs_fenced == 1; }));
  // Its "success" was dropped: the job is still PROCESSING under the old
  // attempt (the rescuer hands it back once the lease runs out).
  caf::scoped_actor self{*sys};
  REQUIRE(eventually([&] { return running_jobs(self) == 0; }));
  auto j = reader->get(id);
  REQUIRE(j);
  CHECK(j->status == job_status::processing);
  CHECK(j->result.empty());
  CHECK(rt.counters->outcomes_refused == 0);
  // Many failed heartbeats, one line for them, one for the stop.
  REQUIRE(eventually([&] { return flaky->heartbeats.load() > failed_before + 5; }));
  CHECK(log.count("heartbeats failing") == 1);
  CHECK(log.count("stopping it so it cannot run twice") == 1);
}

TEST_CASE_METHOD(threaded_fixture,
                 "self-fencing: a job whose lease went to someone else is "
                 "stopped at the next heartbeat",
                 "[actors][threads][fencing]") {
  rcfg.pool.heartbeat_interval_ms = 20;
  auto patient = std::make_shared<patient_handler>();
  release_on_exit guard{patient};
  handlers->add("PATIENT", patient);
  start();
  auto id = enqueue("PATIENT", "{}", 1).at(0);
  REQUIRE(patient->wait_running());
  // An operator settles it by hand: the worker's attempt no longer holds it.
  job_patch done;
  done.has_status = true;
  done.status = job_status::completed;
  done.has_result = true;
  done.result = R"({"by":"hand"})";
  REQUIRE(reader->update(id, done));
  bool cancelled = false;
  REQUIRE(patient->wait_returned(cancelled));
  CHECK(cancelled);
  CHECK(eventually([&] { return rt.counters->leases_lost == 1; }));
  auto j = reader->get(id);
  REQUIRE(j);
  CHECK(j->status == job_status::completed);
  CHECK(j->result == R"({"by":"hand"})");
}

TEST_CASE_METHOD(threaded_fixture,
                 "cancel through this process's store actor stops the running "
                 "handler at once, not at its next heartbeat",
                 "[actors][threads][cancel]") {
  rcfg.pool.heartbeat_interval_ms = 600'000; // no heartbeat during the test
  auto patient = std::make_shared<patient_handler>();
  release_on_exit guard{patient};
  handlers->add("PATIENT", patient);
  start();
  auto id = enqueue("PATIENT", "{}", 1).at(0);
  REQUIRE(patient->wait_running());
  log_capture log;
  caf::scoped_actor self{*sys};
  job cancelled_job;
  self->request(rt.store, std::chrono::seconds(10), cancel_atom::value, id,
                cancel_note("test", "changed my mind"))
    .receive([&](job& j) { cancelled_job = j; },
             [](caf::error& err) { FAIL(message_of(err)); });
  CHECK(cancelled_job.status == job_status::cancelled);
  bool cancelled = false;
  REQUIRE(patient->wait_returned(cancelled));
  CHECK(cancelled);
  CHECK(rt.counters->leases_lost == 0); // no heartbeat was needed
  REQUIRE(eventually([&] { return running_jobs(self) == 0; }));
  // Its "success" was dropped: the job stays CANCELLED, with who and why.
  auto j = reader->get(id);
  REQUIRE(j);
  CHECK(j->status == job_status::cancelled);
  CHECK(j->error == "cancelled by test: changed my mind");
  CHECK(j->result.empty());
  // One line for the cancel, one for the stop, each naming the job.
  CHECK(log.count("job cancelled id=" + id) == 1);
  CHECK(log.count("note=\"cancelled by test: changed my mind\"") == 1);
  CHECK(log.count("job stopped id=" + id) == 1);
}

TEST_CASE_METHOD(threaded_fixture,
                 "cancel by another process stops the running handler at the "
                 "next heartbeat",
                 "[actors][threads][cancel]") {
  rcfg.pool.heartbeat_interval_ms = 20;
  auto patient = std::make_shared<patient_handler>();
  release_on_exit guard{patient};
  handlers->add("PATIENT", patient);
  start();
  auto id = enqueue("PATIENT", "{}", 1).at(0);
  REQUIRE(patient->wait_running());
  REQUIRE(reader->cancel(id, cancel_note("", "")));
  bool cancelled = false;
  REQUIRE(patient->wait_returned(cancelled));
  CHECK(cancelled);
  auto j = reader->get(id);
  REQUIRE(j);
  CHECK(j->status == job_status::cancelled);
  CHECK(j->error == "cancelled");
}

TEST_CASE_METHOD(threaded_fixture,
                 "a running job's progress is stored while it runs, at the "
                 "progress interval",
                 "[actors][threads][progress]") {
  rcfg.pool.progress_interval_ms = 50;
  wrap_flaky = true;
  auto patient = std::make_shared<patient_handler>();
  release_on_exit guard{patient};
  handlers->add("PATIENT", patient);
  start();
  auto id = enqueue("PATIENT", "{}", 1).at(0);
  REQUIRE(patient->wait_running());
  REQUIRE(eventually([&] {
    auto j = reader->get(id);
    return j && j->progress_message == "halfway";
  }));
  // Stored while the handler still runs, by the timer.
  CHECK_FALSE(patient->returned());
  auto j = reader->get(id);
  REQUIRE(j);
  CHECK(j->status == job_status::processing);
  CHECK(j->progress == Approx(0.5));
  // One report, one write: later ticks find nothing new to store.
  auto writes = flaky->progress_writes.load();
  CHECK(writes == 1);
  patient->release();
  REQUIRE(eventually([&] {
    auto done = reader->get(id);
    return done && done->status == job_status::completed;
  }));
  CHECK(flaky->progress_writes == writes);
  CHECK(reader->get(id)->progress_message == "halfway");
}

TEST_CASE_METHOD(threaded_fixture,
                 "a job that runs past its timeoutMs is stopped and its "
                 "attempt fails retryably",
                 "[actors][threads][timeout]") {
  rcfg.retry.base_ms = 10;
  rcfg.retry.jitter = 0;
  auto waiting = std::make_shared<patient_handler>();
  release_on_exit guard{waiting};
  handlers->add("WAITING", waiting);
  start();
  new_job nj;
  nj.type = "WAITING";
  nj.timeout_ms = 150;
  nj.max_retries = 1;
  auto res = reader->enqueue({nj});
  REQUIRE(res);
  auto id = res->front().id;
  log_capture log;
  // Both attempts time out: a retry, then FAILED.
  REQUIRE(eventually([&] {
    auto j = reader->get(id);
    return j && j->status == job_status::failed;
  }));
  auto j = reader->get(id);
  REQUIRE(j);
  CHECK(j->attempt == 2);
  CHECK(j->retry_count == 1);
  CHECK(j->error == "timed out after 150 ms (timeoutMs)");
  // Each handler was told to stop, and did.
  REQUIRE(eventually([&] { return waiting->times_returned() == 2; }));
  CHECK(waiting->runs() == 2);
  CHECK(waiting->times_cancelled() == 2);
  CHECK(rt.counters->leases_lost == 0);
  CHECK(log.count("job timed out id=" + id) == 2);
}

TEST_CASE_METHOD(threaded_fixture,
                 "a type's default timeout applies to its jobs without "
                 "timeoutMs; a handler that ignores it keeps its slot until "
                 "it returns, but the attempt fails at the timeout",
                 "[actors][threads][timeout]") {
  rcfg.pool.workers = 1;
  rcfg.pool.timeout_by_type["HEEDLESS"] = 100;
  auto heedless = std::make_shared<patient_handler>(true);
  release_on_exit guard{heedless};
  handlers->add("HEEDLESS", heedless);
  start();
  new_job nj;
  nj.type = "HEEDLESS";
  nj.max_retries = 0;
  nj.priority = 1; // claimed before the ECHO job
  auto res = reader->enqueue({nj, new_job{"ECHO"}});
  REQUIRE(res);
  auto id = res->front().id;
  auto echo_id = res->back().id;
  REQUIRE(eventually([&] {
    auto j = reader->get(id);
    return j && j->status == job_status::failed;
  }));
  CHECK(reader->get(id)->error == "timed out after 100 ms (timeoutMs)");
  // The handler ignores the cancellation: it still holds the only slot,
  // so the ECHO job waits.
  caf::scoped_actor self{*sys};
  CHECK(running_jobs(self) == 1);
  CHECK(heedless->times_returned() == 0);
  CHECK(reader->get(echo_id)->status != job_status::completed);
  heedless->release();
  REQUIRE(eventually([&] {
    auto j = reader->get(echo_id);
    return j && j->status == job_status::completed;
  }));
  // Its late "success" changed nothing.
  CHECK(reader->get(id)->status == job_status::failed);
  CHECK(reader->get(id)->result.empty());
}

TEST_CASE_METHOD(threaded_fixture,
                 "a paused type's jobs wait while others run; resuming it "
                 "wakes the scheduler, which runs them without waiting for "
                 "its next poll",
                 "[actors][threads][pause]") {
  rcfg.scheduler.poll_interval_ms = 60'000; // only wake-ups claim
  handlers->add("OTHER", std::make_shared<echo_handler>());
  start();
  log_capture log;
  caf::scoped_actor self{*sys};
  type_pause paused;
  self->request(rt.store, std::chrono::seconds(10), pause_atom::value,
                std::string{"ECHO"}, std::string{"test: hold ECHO"})
    .receive([&](type_pause& p) { paused = p; },
             [](caf::error& err) { FAIL(message_of(err)); });
  CHECK(paused.type == "ECHO");
  CHECK(paused.note == "test: hold ECHO");
  new_job echo_job{"ECHO"};
  echo_job.priority = 10; // first in claim order, were it not paused
  std::vector<job> added;
  self->request(rt.store, std::chrono::seconds(10), enqueue_atom::value,
                std::vector<new_job>{echo_job, new_job{"OTHER"}})
    .receive([&](std::vector<job>& jobs) { added = jobs; },
             [](caf::error& err) { FAIL(message_of(err)); });
  REQUIRE(added.size() == 2);
  // The enqueue's wake-up claimed OTHER and left ECHO.
  REQUIRE(eventually([&] {
    return reader->get(added[1].id)->status == job_status::completed;
  }));
  CHECK(reader->get(added[0].id)->status == job_status::pending);
  bool resumed = false;
  self->request(rt.store, std::chrono::seconds(10), resume_atom::value,
                std::string{"ECHO"})
    .receive([&](bool was) { resumed = was; },
             [](caf::error& err) { FAIL(message_of(err)); });
  CHECK(resumed);
  REQUIRE(eventually([&] {
    return reader->get(added[0].id)->status == job_status::completed;
  }));
  CHECK(reader->counts()->paused.empty());
  CHECK(log.count("warn: type paused type=ECHO note=\"test: hold ECHO\"")
        == 1);
  CHECK(log.count("type resumed type=ECHO") == 1);
}

TEST_CASE_METHOD(threaded_fixture,
                 "a bulk cancel through this process's store actor stops the "
                 "running handlers it cancelled at once, not at their next "
                 "heartbeat",
                 "[actors][threads][bulk]") {
  rcfg.pool.heartbeat_interval_ms = 600'000; // no heartbeat during the test
  auto patient = std::make_shared<patient_handler>();
  release_on_exit guard{patient};
  handlers->add("PATIENT", patient);
  start();
  auto id = enqueue("PATIENT", "{}", 1).at(0);
  REQUIRE(patient->wait_running());
  // And one that waits (due in an hour): cancelled too, never started.
  new_job later{"PATIENT"};
  later.scheduled_for = system_clock_source{}.now_ms() + 3'600'000;
  auto waiting = reader->enqueue({later});
  REQUIRE(waiting);
  log_capture log;
  caf::scoped_actor self{*sys};
  bulk_request r;
  r.action = bulk_action::cancel;
  r.type = "PATIENT";
  r.note = cancel_note("test", "bad batch");
  bulk_result res;
  self->request(rt.store, std::chrono::seconds(10), bulk_atom::value, r)
    .receive([&](bulk_result& b) { res = b; },
             [](caf::error& err) { FAIL(message_of(err)); });
  CHECK(res.matched == 2);
  CHECK(res.changed == 2);
  CHECK_FALSE(res.more);
  bool cancelled = false;
  REQUIRE(patient->wait_returned(cancelled));
  CHECK(cancelled);
  CHECK(rt.counters->leases_lost == 0); // no heartbeat was needed
  REQUIRE(eventually([&] { return running_jobs(self) == 0; }));
  auto j = reader->get(id);
  REQUIRE(j);
  CHECK(j->status == job_status::cancelled);
  CHECK(j->error == "cancelled by test: bad batch");
  CHECK(j->result.empty());
  CHECK(reader->get(waiting->at(0).id)->status == job_status::cancelled);
  CHECK(log.count("bulk action action=cancel type=PATIENT matched=2 "
                  "changed=2 skipped=0 note=\"cancelled by test: bad "
                  "batch\"")
        == 1);
  CHECK(log.count("job stopped id=" + id) == 1);
}

TEST_CASE_METHOD(threaded_fixture,
                 "a bulk retry wakes the scheduler, which runs the retried "
                 "jobs without waiting for its next poll",
                 "[actors][threads][bulk]") {
  rcfg.scheduler.poll_interval_ms = 60'000; // only wake-ups claim
  start();
  // FAILED jobs written by another connection (no wake-up from them).
  new_job later{"ECHO"};
  later.scheduled_for = system_clock_source{}.now_ms() + 3'600'000;
  auto added = reader->enqueue({later, later});
  REQUIRE(added);
  job_patch to_failed;
  to_failed.has_status = true;
  to_failed.status = job_status::failed;
  for (auto& j : *added)
    REQUIRE(reader->update(j.id, to_failed));
  caf::scoped_actor self{*sys};
  bulk_request r;
  r.action = bulk_action::retry;
  bulk_result res;
  self->request(rt.store, std::chrono::seconds(10), bulk_atom::value, r)
    .receive([&](bulk_result& b) { res = b; },
             [](caf::error& err) { FAIL(message_of(err)); });
  CHECK(res.changed == 2);
  for (auto& j : *added)
    REQUIRE(eventually([&] {
      return reader->get(j.id)->status == job_status::completed;
    }));
}

TEST_CASE_METHOD(threaded_fixture,
                 "a write that arrives while a bulk call runs commits between "
                 "its transactions, not after the last",
                 "[actors][threads][bulk]") {
  wrap_flaky = true;
  start();
  // ECHO paused: nothing claims the retried jobs, so their feed positions
  // stay those of the bulk call's two transactions (500 + 100).
  REQUIRE(reader->pause_type("ECHO", "test"));
  auto added = reader->enqueue(std::vector<new_job>(600, new_job{"ECHO"}));
  REQUIRE(added);
  job_patch to_failed;
  to_failed.has_status = true;
  to_failed.status = job_status::failed;
  REQUIRE_FALSE(reader->batch([&]() -> caf::error {
    for (auto& j : *added)
      if (auto r = reader->update(j.id, to_failed); !r)
        return r.error();
    return {};
  }));
  auto start_pos = reader->change_position();
  REQUIRE(start_pos);
  // Right after the bulk call's first read, an enqueue reaches the actor.
  new_job late{"ECHO"};
  late.payload = R"({"late":true})";
  flaky->after_list = [&] {
    caf::anon_send(rt.store, enqueue_atom::value, std::vector<new_job>{late});
  };
  caf::scoped_actor self{*sys};
  bulk_request r;
  r.action = bulk_action::retry;
  bulk_result res;
  self->request(rt.store, std::chrono::seconds(30), bulk_atom::value, r)
    .receive([&](bulk_result& b) { res = b; },
             [](caf::error& err) { FAIL(message_of(err)); });
  CHECK(res.changed == 600);
  CHECK(res.jobs.empty()); // the reply carries the counts
  std::set<int64_t> bulk_commits;
  int64_t late_at = -1;
  REQUIRE(eventually([&] {
    bulk_commits.clear();
    late_at = -1;
    auto after = *start_pos;
    for (;;) {
      auto page = reader->changes(after, 500);
      REQUIRE(page);
      for (auto& c : page->changes) {
        if (c.job.payload == late.payload)
          late_at = c.seq;
        else
          bulk_commits.insert(c.seq);
      }
      after = page->next;
      if (!page->more)
        break;
    }
    return late_at > 0;
  }));
  REQUIRE(bulk_commits.size() == 2);
  CHECK(*bulk_commits.begin() < late_at);
  CHECK(late_at < *bulk_commits.rbegin());
}
