// The store actor's care for the disk, on the deterministic scheduler: the
// WAL is truncated once writes stop for storage.checkpoint_idle, and a
// write that fails on a full disk marks storage unhealthy for
// storage.write_error_window.
#include <catch2/catch.hpp>

#include <filesystem>

#include <caf/send.hpp>

#include "actors/log.hpp"
#include "support/actor_fixture.hpp"
#include "support/flaky_store.hpp"
#include "support/temp_dir.hpp"

using namespace jobd;
using namespace jobd::test;

namespace {

struct store_fixture : actor_fixture {
  temp_dir dir;
  std::string db = dir.file("jobs.db");
  store_actor_config scfg;
  flaky_store* flaky = nullptr;
  store_actor store;

  store_fixture() {
    set_log_quiet(true);
    scfg.detached = false;
    scfg.worker_id = "test";
    scfg.checkpoint_idle_ms = 10'000;
    scfg.write_error_window_ms = 60'000;
    scfg.clock = clock;
  }
  ~store_fixture() {
    caf::anon_send_exit(store, caf::exit_reason::user_shutdown);
    run();
    set_log_quiet(false);
  }

  void start() {
    store_options opts;
    opts.url = db;
    opts.synchronous = "NORMAL";
    auto st = open_store(opts, clock);
    REQUIRE(st);
    auto f = std::make_unique<flaky_store>(std::move(*st));
    flaky = f.get();
    store = spawn_store_actor(sys, std::move(f), scfg);
    run();
  }

  caf::error enqueue(int n) {
    std::vector<new_job> jobs(n);
    for (auto& nj : jobs) {
      nj.type = "ECHO";
      nj.payload = R"({"text":")" + std::string(1000, 'x') + R"("})";
    }
    self->send(store, enqueue_atom::value, jobs);
    run();
    caf::error out;
    self->receive([](std::vector<job>&) {}, [&](caf::error& e) { out = e; },
                  caf::after(std::chrono::seconds(0)) >>
                    [] { FAIL("no reply to enqueue"); });
    return out;
  }

  std::string health() {
    std::string reason = "<no reply>";
    self->send(store, health_atom::value);
    run();
    self->receive([&](std::string& r, int64_t) { reason = r; },
                  [&](caf::error& e) { reason = "error: " + message_of(e); },
                  caf::after(std::chrono::seconds(0)) >> [] {});
    return reason;
  }

  int64_t wal_size() {
    std::error_code ec;
    auto n = std::filesystem::file_size(db + "-wal", ec);
    return ec ? -1 : static_cast<int64_t>(n);
  }
};

} // namespace

TEST_CASE_METHOD(store_fixture,
                 "the store actor truncates the WAL after checkpoint_idle "
                 "without writes",
                 "[actors][disk]") {
  start();
  for (int i = 0; i < 5; ++i)
    REQUIRE_FALSE(enqueue(100));
  REQUIRE(wal_size() > 0);
  advance(9'000); // not idle long enough yet
  CHECK(wal_size() > 0);
  REQUIRE_FALSE(enqueue(1)); // a write restarts the idle period
  advance(9'000);
  CHECK(wal_size() > 0);
  advance(11'000);
  CHECK(wal_size() == 0);
}

TEST_CASE_METHOD(store_fixture,
                 "a full disk marks storage unhealthy for write_error_window",
                 "[actors][disk]") {
  start();
  CHECK(health() == "");
  flaky->full_enqueues = 1;
  auto err = enqueue(1);
  CHECK(code_of(err) == errc::full);
  CHECK_THAT(health(), Catch::Contains("a write failed 0 s ago")
                         && Catch::Contains("full"));
  advance(59'000);
  CHECK_THAT(health(), Catch::Contains("a write failed 59 s ago"));
  advance(1'000);
  CHECK(health() == "");
}
