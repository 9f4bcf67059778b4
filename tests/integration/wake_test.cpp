// Cross-process wake-ups on SQLite (storage/sqlite/wake_dir.hpp): a `jobd worker`
// with a poll interval far longer than the test's deadlines starts jobs
// that another process enqueued (the CLI, an API-only `jobd serve`) at
// once; with the wake-ups off or impossible, its poll still runs them.
#include "integration/cluster.hpp"

#include <filesystem>
#include <fstream>

#include <boost/asio/ip/tcp.hpp>

#include "support/http_fixture.hpp"

using namespace jobd;
using namespace jobd::test;
namespace fs = std::filesystem;

namespace {

// Far below the workers' 60 s poll, far above a wake-up on a loaded
// machine: a job that starts within it was started by the wake-up.
constexpr auto wake_deadline = 5s;

// The worker's socket is in <db>-wake/ once it listens.
bool listening(const cluster& c) {
  std::error_code ec;
  auto dir = c.db() + "-wake";
  return fs::is_directory(dir, ec)
         && fs::directory_iterator(dir, ec) != fs::directory_iterator{};
}

void wait_listening(cluster& c, child_process& w) {
  c.wait_until(
    [&] {
      return w.err().find(" started: ") != std::string::npos && listening(c);
    },
    30s, "the worker listens for wake-ups");
}

std::string cli_add(cluster& c, const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{"jobs", "add", "--db", c.db(), "--type",
                                "ECHO"};
  args.insert(args.end(), extra.begin(), extra.end());
  auto r = run_jobd(args, {}, 30s);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 1);
  return lines[0];
}

void require_completes_within(cluster& c, const std::string& id,
                              std::chrono::milliseconds limit,
                              const std::string& why) {
  c.wait_until([&] { return c.get(id).status == job_status::completed; },
               limit, "job " + id + " completes " + why);
}

} // namespace

TEST_CASE("sqlite: jobs added by `jobd jobs add` start at once in a worker "
          "polling every 60 s",
          "[integration][wake]") {
  cluster c{"sqlite"};
  auto& w = c.start_worker({"--poll-interval", "60s"});
  wait_listening(c, w);
  // Several in a row: the worker's first poll (at its start) could find
  // one; the others only a wake-up can start before the next poll.
  for (int i = 0; i < 3; ++i)
    require_completes_within(c, cli_add(c), wake_deadline,
                             "woken by the CLI, not by the 60 s poll");
  c.stop_all();
}

TEST_CASE("sqlite: jobs posted to an API-only `jobd serve` start at once in "
          "a separate worker polling every 60 s",
          "[integration][wake][http]") {
  cluster c{"sqlite"};
  auto port = free_port();
  child_process serve{jobd_binary(),
                      {"serve", "--db", c.db(), "--port",
                       std::to_string(port), "--workers", "0"},
                      {{}, c.dir().path().string()}};
  c.wait_serving(port, serve);
  auto& w = c.start_worker({"--poll-interval", "60s"});
  wait_listening(c, w);
  http_client api{port};
  for (int i = 0; i < 3; ++i) {
    auto r = api.post("/api/jobs", R"({"type":"ECHO","payload":{}})");
    INFO(r.body);
    REQUIRE(r.status == 201);
    auto pos = r.body.find("\"id\":\"");
    REQUIRE(pos != std::string::npos);
    require_completes_within(c, r.body.substr(pos + 6, 26), wake_deadline,
                             "woken by serve, not by the 60 s poll");
  }
  serve.signal(SIGTERM);
  REQUIRE(serve.wait_for(30s));
  CHECK(serve.exit_code() == 0);
  c.stop_all();
}

TEST_CASE("sqlite: with storage.wake_sockets=false the worker's poll still "
          "runs jobs other processes add",
          "[integration][wake]") {
  cluster c{"sqlite"};
  auto& w = c.start_worker(
    {"--poll-interval", "300ms", "--set", "storage.wake_sockets=false"});
  c.wait_until([&] { return w.err().find(" started: ") != std::string::npos; },
               30s, "the worker starts");
  CHECK_FALSE(fs::exists(c.db() + "-wake")); // off means off
  for (int i = 0; i < 3; ++i)
    require_completes_within(
      c, cli_add(c, {"--set", "storage.wake_sockets=false"}), 30s,
      "by polling");
  c.stop_all();
}

TEST_CASE("sqlite: a worker that cannot make its wake-up socket says so and "
          "polls",
          "[integration][wake]") {
  cluster c{"sqlite"};
  // <db>-wake is a file: no directory, no socket, for anyone.
  std::ofstream{c.db() + "-wake"} << "in the way\n";
  auto& w = c.start_worker({"--poll-interval", "300ms"});
  c.wait_until(
    [&] {
      return w.err().find("cross-process wake-ups unavailable, polling "
                          "instead")
             != std::string::npos;
    },
    30s, "the worker says wake-ups are unavailable");
  CHECK_THAT(w.err(), Catch::Contains(c.db() + "-wake"));
  // The CLI's enqueue succeeds (telling nobody), and the poll runs it.
  for (int i = 0; i < 3; ++i)
    require_completes_within(c, cli_add(c), 30s, "by polling");
  CHECK(w.running());
  c.stop_all();
}

TEST_CASE("sqlite: a worker removes its wake-up socket when it stops",
          "[integration][wake]") {
  cluster c{"sqlite"};
  auto& w = c.start_worker({"--poll-interval", "60s"});
  wait_listening(c, w);
  c.stop_all();
  CHECK_FALSE(listening(c));
}
