// The reference worker clients (http/workers/: Python, standard library
// only; Node, no dependencies) against a live `jobd serve` with an external
// type: each runs jobs that complete, fail once and are retried, fail for
// good, and are cancelled while they run; finishes its running job on
// SIGTERM; and a client killed with SIGKILL mid-job loses nothing: its lease
// runs out and another client completes the job.
#include "integration/cluster.hpp"

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

#include "support/http_fixture.hpp"

using namespace jobd;
using namespace jobd::test;

namespace {

const std::string worker_token = "worker-token-for-the-clients-0123";

struct client_kind {
  std::string program;  ///< python3 or node
  std::string script;   ///< the test driver
  std::string by;       ///< what its results say
};

// The program's path from PATH (child_process execs a path).
std::string on_path(const std::string& name) {
  std::stringstream dirs{std::getenv("PATH") ? std::getenv("PATH") : ""};
  for (std::string dir; std::getline(dirs, dir, ':');) {
    auto candidate = dir + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0)
      return candidate;
  }
  FAIL(name << " is not on PATH (install-deps.sh installs it)");
  return {};
}

client_kind python_client() {
  return {on_path("python3"),
          std::string{JOBD_SOURCE_DIR} + "/tests/integration/workers/sms_worker.py",
          "python"};
}

client_kind node_client() {
  return {on_path("node"),
          std::string{JOBD_SOURCE_DIR} + "/tests/integration/workers/sms_worker.mjs",
          "node"};
}

struct serving {
  serving(cluster& c) : port(free_port()) {
    auto conf = c.dir().file("workers.ini");
    std::ofstream{conf} << "[types.SEND_SMS]\nhandler = external\n"
                           "schema = {\"required\":[\"to\"]}\n";
    proc.emplace(jobd_binary(),
                 std::vector<std::string>{
                   "serve", "--config", conf, "--db", c.db(), "--port",
                   std::to_string(port), "--poll-interval", "50ms", "--set",
                   "http.worker_token=" + worker_token, "--set",
                   "worker.lease=3s", "--set", "retry.base=50ms", "--set",
                   "retry.jitter=0"},
                 child_process::options{});
    c.wait_serving(port, *proc);
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port); }
  uint16_t port;
  std::optional<child_process> proc;
};

std::unique_ptr<child_process> start_client(const client_kind& k,
                                            const serving& s,
                                            const std::string& id) {
  return std::make_unique<child_process>(
    k.program, std::vector<std::string>{k.script, s.url(), worker_token, id},
    child_process::options{});
}

std::string enqueue(http_client& api, const std::string& payload) {
  auto r = api.post("/api/jobs", R"({"type":"SEND_SMS","maxRetries":2,"payload":)"
                                   + payload + "}");
  REQUIRE(r.status == 201);
  return *json_at(r.body, "/id");
}

void clients_run_jobs(const client_kind& k) {
  cluster c{"sqlite"};
  serving s{c};
  http_client api{s.port};
  auto ok = enqueue(api, R"({"to":"+1555"})");
  auto flaky = enqueue(api, R"({"to":"+1666","mode":"flaky"})");
  auto bad = enqueue(api, R"({"to":"555","mode":"bad"})");
  auto held = enqueue(api, R"({"to":"+1777","mode":"until-cancelled"})");
  auto client = start_client(k, s, k.by + "-1");
  INFO(client->describe());
  c.wait_until(
    [&] {
      return status_of(api, ok) == "COMPLETED"
             && status_of(api, flaky) == "COMPLETED"
             && status_of(api, bad) == "FAILED"
             && status_of(api, held) == "PROCESSING";
    },
    60s, "the client runs the jobs\n" + client->describe());
  auto r = api.get("/api/jobs/" + ok).body;
  CHECK(json_at(r, "/result")
        == R"({"sent":"+1555","by":")" + k.by + R"(","attempt":1})");
  CHECK(json_at(r, "/lockedBy") == "null");
  auto f = api.get("/api/jobs/" + flaky).body;
  CHECK(json_at(f, "/retryCount") == "1");
  CHECK(json_at(f, "/result")
        == R"({"sent":"+1666","by":")" + k.by + R"(","attempt":2})");
  auto fa = api.get("/api/jobs/" + flaky + "/attempts").body;
  CHECK(json_at(fa, "/attempts/0/error") == "carrier busy");
  CHECK(json_at(fa, "/attempts/0/worker") == k.by + "-1");
  auto b = api.get("/api/jobs/" + bad).body;
  CHECK(json_at(b, "/error") == "invalid number 555");
  CHECK(json_at(b, "/retryCount") == "0");
  // The client is listed with its host (the machine's name, which it
  // sends), its types and the job it holds.
  char host[256] = {};
  REQUIRE(::gethostname(host, sizeof host - 1) == 0);
  auto w = api.get("/api/workers").body;
  CHECK(json_at(w, "/workers/0/id") == k.by + "-1");
  CHECK(json_at(w, "/workers/0/host") == std::string{host});
  CHECK(json_at(w, "/workers/0/types") == R"(["SEND_SMS"])");
  CHECK(json_at(w, "/workers/0/online") == "true");
  CHECK(json_at(w, "/workers/0/jobs") == R"([")" + held + R"("])");
  // Cancelled while it runs: the client learns it at its next heartbeat
  // (every second) and drops the job without reporting.
  REQUIRE(api.post("/api/jobs/" + held + "/cancel", R"({"reason":"test"})")
            .status
          == 200);
  // A slow job, then SIGTERM while it runs: it is finished, then the
  // client exits.
  auto slow = enqueue(api, R"({"to":"+1888","mode":"slow","seconds":1.5})");
  c.wait_until([&] { return status_of(api, slow) == "PROCESSING"; }, 30s,
               "the slow job starts\n" + client->describe());
  client->signal(SIGTERM);
  REQUIRE(client->wait_for(30s));
  CHECK(client->exit_code() == 0);
  CHECK(client->out().find("worker stopped") != std::string::npos);
  CHECK(status_of(api, slow) == "COMPLETED");
  CHECK(status_of(api, held) == "CANCELLED");
  auto h = api.get("/api/jobs/" + held).body;
  CHECK(json_at(h, "/error") == "cancelled: test");
  s.proc->signal(SIGTERM);
  CHECK(s.proc->wait_for(60s));
}

void killed_client_loses_nothing(const client_kind& k) {
  cluster c{"sqlite"};
  serving s{c};
  http_client api{s.port};
  // Its first attempt hangs; a later one completes.
  auto id = enqueue(api, R"({"to":"+1999","mode":"hang-first"})");
  auto victim = start_client(k, s, k.by + "-victim");
  c.wait_until([&] { return status_of(api, id) == "PROCESSING"; }, 30s,
               "the victim starts the job\n" + victim->describe());
  victim->signal(SIGKILL);
  REQUIRE(victim->wait_for(10s));
  // Its lease (3 s) runs out, the job is rescued, and another client runs
  // it again.
  auto survivor = start_client(k, s, k.by + "-survivor");
  c.wait_until([&] { return status_of(api, id) == "COMPLETED"; }, 60s,
               "another client completes the job\n" + survivor->describe()
                 + s.proc->describe());
  auto j = api.get("/api/jobs/" + id).body;
  CHECK(json_at(j, "/attempt") == "2");
  CHECK(json_at(j, "/retryCount") == "1");
  CHECK(json_at(j, "/result")
        == R"({"sent":"+1999","by":")" + k.by + R"(","attempt":2})");
  auto a = api.get("/api/jobs/" + id + "/attempts").body;
  CHECK(json_at(a, "/attempts/0/outcome") == "lease_expired");
  CHECK(json_at(a, "/attempts/0/worker") == k.by + "-victim");
  CHECK(json_at(a, "/attempts/1/outcome") == "completed");
  CHECK(json_at(a, "/attempts/1/worker") == k.by + "-survivor");
  survivor->signal(SIGTERM);
  CHECK(survivor->wait_for(30s));
  s.proc->signal(SIGTERM);
  CHECK(s.proc->wait_for(60s));
}

} // namespace

TEST_CASE("the Python client runs, retries, fails, drops cancelled jobs and "
          "stops gracefully", "[integration][workers]") {
  clients_run_jobs(python_client());
}

TEST_CASE("the Node client runs, retries, fails, drops cancelled jobs and "
          "stops gracefully", "[integration][workers]") {
  clients_run_jobs(node_client());
}

TEST_CASE("a Python client killed with SIGKILL mid-job loses nothing: its "
          "lease runs out and another client completes the job",
          "[integration][workers]") {
  killed_client_loses_nothing(python_client());
}

TEST_CASE("a Node client killed with SIGKILL mid-job loses nothing",
          "[integration][workers]") {
  killed_client_loses_nothing(node_client());
}
