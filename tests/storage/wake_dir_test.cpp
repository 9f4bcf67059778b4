// The socket directory behind cross-process wake-ups (storage/sqlite/wake_dir.hpp):
// what a notifier reaches, what a listener reads, and how both end.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "storage/sqlite/wake_dir.hpp"
#include "storage/errors.hpp"
#include "support/temp_dir.hpp"

using namespace jobd;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

std::unique_ptr<wake_inbox> open_inbox(const std::string& dir) {
  auto in = wake_inbox::open(dir);
  if (!in)
    FAIL("wake_inbox::open(" << dir << "): " << message_of(in.error()));
  return std::move(*in);
}

size_t entries(const std::string& dir) {
  size_t n = 0;
  for ([[maybe_unused]] auto& e : fs::directory_iterator(dir))
    ++n;
  return n;
}

} // namespace

TEST_CASE("wake_dir_of names the directory beside a SQLite file only",
          "[wake]") {
  CHECK(wake_dir_of("/var/lib/jobd/jobs.db") == "/var/lib/jobd/jobs.db-wake");
  CHECK(wake_dir_of("jobs.db") == "jobs.db-wake");
  CHECK(wake_dir_of(":memory:").empty());
  CHECK(wake_dir_of("").empty());
  CHECK(wake_dir_of("postgresql://jobd@127.0.0.1/jobd").empty());
}

TEST_CASE("a burst of notifications is read as one wake-up, and every "
          "other process is told",
          "[wake]") {
  test::temp_dir tmp;
  auto dir = tmp.file("jobs.db-wake");
  auto a = open_inbox(dir); // creates the directory
  auto b = open_inbox(dir);
  CHECK(entries(dir) == 2);
  wake_notifier from_a{dir, a->name()};
  for (int i = 0; i < 1000; ++i)
    from_a.notify();
  CHECK(from_a.notify() == 1); // b only: a skips itself
  CHECK(b->wait(5s));
  CHECK_FALSE(b->wait(0ms)); // the whole burst was read at once
  CHECK_FALSE(a->wait(0ms));
  CHECK(notify_wake_dir(dir) == 2); // the CLI tells both
  CHECK(a->wait(5s));
  CHECK(b->wait(5s));
}

TEST_CASE("a wake-up says why: jobs due, a job settled, or both in one "
          "burst",
          "[wake]") {
  test::temp_dir tmp;
  auto dir = tmp.file("jobs.db-wake");
  auto a = open_inbox(dir);
  wake_notifier n{dir};
  CHECK(n.notify() == 1);
  CHECK(a->wait(5s) == wake_jobs_due);
  CHECK(n.notify(wake_jobs_settled) == 1);
  CHECK(a->wait(5s) == wake_jobs_settled);
  n.notify(wake_jobs_due);
  n.notify(wake_jobs_settled);
  n.notify(wake_jobs_due);
  CHECK(a->wait(5s) == (wake_jobs_due | wake_jobs_settled));
  CHECK(notify_wake_dir(dir, wake_jobs_settled) == 1);
  CHECK(a->wait(5s) == wake_jobs_settled);
  CHECK(a->wait(0ms) == 0);
}

TEST_CASE("a notifier sees a process that starts listening later", "[wake]") {
  test::temp_dir tmp;
  auto dir = tmp.file("jobs.db-wake");
  wake_notifier n{dir};
  CHECK(n.notify() == 0); // no directory yet: nobody to tell, no error
  auto a = open_inbox(dir);
  CHECK(n.notify() == 1);
  auto b = open_inbox(dir);
  CHECK(n.notify() == 2);
  CHECK(a->wait(5s));
  CHECK(b->wait(5s));
}

TEST_CASE("stop() ends a blocked wait at once and removes the socket",
          "[wake]") {
  test::temp_dir tmp;
  auto dir = tmp.file("jobs.db-wake");
  auto in = open_inbox(dir);
  CHECK(entries(dir) == 1);
  auto t0 = std::chrono::steady_clock::now();
  std::thread stopper{[&] {
    std::this_thread::sleep_for(100ms);
    in->stop();
  }};
  CHECK_FALSE(in->wait(60s));
  stopper.join();
  CHECK(std::chrono::steady_clock::now() - t0 < 30s);
  CHECK(in->stopped());
  CHECK_FALSE(in->wait(60s)); // and every later wait
  CHECK(entries(dir) == 0);
  CHECK(notify_wake_dir(dir) == 0);
}

TEST_CASE("the socket of a process that died is removed by the next "
          "notifier",
          "[wake]") {
  test::temp_dir tmp;
  auto dir = tmp.file("jobs.db-wake");
  auto live = open_inbox(dir);
  // What SIGKILL leaves: a socket file nobody reads.
  {
    auto dead = open_inbox(dir);
    auto name = dead->name();
    // Close without stop() (which would remove the file), as a crash does.
    auto path = dir + "/" + name;
    auto moved = path + ".kept";
    fs::rename(path, moved);
    dead.reset();
    fs::rename(moved, path);
  }
  CHECK(entries(dir) == 2);
  CHECK(notify_wake_dir(dir) == 1);
  CHECK(entries(dir) == 1);
  CHECK(live->wait(5s));
}

TEST_CASE("a database path longer than a socket address still works",
          "[wake]") {
  test::temp_dir tmp;
  auto deep = tmp.path();
  for (int i = 0; i < 6; ++i)
    deep /= std::string(30, 'd');
  fs::create_directories(deep);
  auto dir = (deep / "jobs.db-wake").string();
  REQUIRE(dir.size() > 108);
  auto in = open_inbox(dir);
  CHECK(notify_wake_dir(dir) == 1);
  CHECK(in->wait(5s));
}

TEST_CASE("a wake-up directory that cannot be made is an error naming it",
          "[wake]") {
  test::temp_dir tmp;
  auto dir = tmp.file("jobs.db-wake");
  std::ofstream{dir} << "not a directory";
  auto in = wake_inbox::open(dir);
  REQUIRE_FALSE(in);
  CHECK_THAT(message_of(in.error()), Catch::Contains(dir));
  CHECK(notify_wake_dir(dir) == 0);
}
