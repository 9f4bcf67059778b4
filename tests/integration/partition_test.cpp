// Workers on other machines than PostgreSQL, cut off by a network
// partition: real `jobd worker` processes, one of them reaching the
// database through a fault proxy (bench/fault_proxy.hpp) that the test
// blackholes and heals, the other connected directly.
//   - the cut-off worker stops its jobs before their leases expire and the
//     other worker takes them over: a job never runs in two places at once
//     (the fencing line's time is before the rescuer's start), and the
//     stopped attempt records no outcome;
//   - under a partition in the middle of a drain, the cut-off worker gives
//     its connection up after a lease without a reply and says so, the
//     other rescues its jobs; once the network heals every job completes
//     and no attempt starts twice (the job-start ledger).
#include "integration/cluster.hpp"

#include <regex>
#include <set>

#include "bench/fault_proxy.hpp"

using namespace jobd;
using namespace jobd::test;
using jobd::bench::fault_proxy;

namespace {

// `url` through the proxy at `port`, with a connect timeout of 2 s: the
// blackholed proxy accepts connections and swallows the login, as a
// partitioned network would.
std::string via(const std::string& url, int port) {
  auto out = pg_server::shared().url_through(url, port);
  auto t = out.find("connect_timeout=60");
  REQUIRE(t != std::string::npos);
  return out.replace(t, 18, "connect_timeout=2");
}

// A 3 s lease (fenced at 2.5 s without renewal: the margin is a sixth),
// renewed every 500 ms; the rescuer sweeps every 500 ms. The session
// timeouts follow the lease (1.5 s), so a cut connection fails fast.
std::vector<std::string> worker_args(const std::string& id, int handlers) {
  return {"--workers", std::to_string(handlers), "--lease", "3s",
          "--set", "worker.heartbeat_interval=500ms",
          "--set", "worker.rescue_interval=500ms",
          "--poll-interval", "50ms", "--set", "worker.id=" + id};
}

// The time (ms) of the log line in `log` that contains `needle`; -1 if
// none. Lines start "2026-12-03T06:15:28.320Z jobd: ...".
ms_t time_of_line(const std::string& log, const std::string& needle) {
  for (auto& line : lines_of(log)) {
    if (line.find(needle) == std::string::npos)
      continue;
    ms_t at = -1;
    auto sp = line.find(' ');
    if (sp == std::string::npos || !parse_time(line.substr(0, sp), at))
      return -1;
    return at;
  }
  return -1;
}

size_t starts_by(const std::vector<job_start>& ledger, pid_t pid) {
  size_t n = 0;
  for (auto& s : ledger)
    n += s.pid == pid;
  return n;
}

} // namespace

TEST_CASE("postgresql: a worker cut off from the database stops its jobs "
          "before another worker takes them over",
          "[integration][pg][partition]") {
  cluster c{"postgresql"};
  auto& pg = pg_server::shared();
  fault_proxy proxy{"127.0.0.1", static_cast<uint16_t>(pg.port())};
  auto jobs = c.enqueue_echo(3, R"({"delayMs":8000})");
  auto& a = c.start_worker_at(via(c.db(), proxy.port()),
                              worker_args("part-A", 3));
  c.wait_until([&] { return starts_by(c.ledger(), a.pid()) == 3; }, 60s,
               "the cut-off-to-be worker has started all 3 jobs");
  proxy.blackhole();
  auto& b = c.start_worker(worker_args("part-B", 3));
  c.wait_until([&] { return starts_by(c.ledger(), b.pid()) == 3; }, 60s,
               "the other worker has taken over all 3 jobs");
  // The first worker comes back while the others still run its old jobs:
  // it must neither run them again nor record their outcome.
  proxy.heal();
  c.wait_until([&] { return c.count("COMPLETED") == 3; }, 60s,
               "all 3 jobs are COMPLETED");
  auto ledger = c.ledger();
  INFO(c.describe() << "\nworker A's log:\n" << a.err());
  CHECK(ledger.size() == 6);
  std::set<std::pair<std::string, int32_t>> seen;
  for (auto& s : ledger) {
    CHECK(seen.insert({s.id, s.attempt}).second);
    CHECK(s.pid == (s.attempt == 1 ? a.pid() : b.pid()));
  }
  for (auto& j0 : jobs) {
    auto j = c.get(j0.id);
    INFO(job_to_json(j));
    CHECK(j.status == job_status::completed);
    CHECK(j.attempt == 2);
    // The lease ran out on a running job: the rescue spends a retry.
    CHECK(j.retry_count == 1);
    // The cut-off worker stopped attempt 1 before the rescuer started
    // attempt 2 (startedAt is the claim's time, on this machine's clock).
    auto fenced = time_of_line(a.err(), "job fenced id=" + j.id
                                          + " type=ECHO attempt=1 ");
    REQUIRE(fenced > 0);
    CHECK(fenced < j.started_at);
    CHECK(a.err().find("stopping it so it cannot run twice")
          != std::string::npos);
  }
  // Nothing of attempt 1 reached the database: no completion refused.
  CHECK(a.err().find("completion") == std::string::npos);
  c.stop_all();
}

TEST_CASE("postgresql: under a partition every job completes and no "
          "attempt starts twice",
          "[integration][pg][partition]") {
  cluster c{"postgresql"};
  auto& pg = pg_server::shared();
  fault_proxy proxy{"127.0.0.1", static_cast<uint16_t>(pg.port())};
  // 8 handlers at 200 ms a job: about 10 s of work, so both workers are
  // busy when the cut comes and when it heals.
  const size_t n_jobs = 400;
  c.enqueue_echo(n_jobs, R"({"delayMs":200})", 10);
  auto& a = c.start_worker_at(via(c.db(), proxy.port()),
                              worker_args("drain-A", 4));
  auto& b = c.start_worker(worker_args("drain-B", 4));
  c.wait_until(
    [&] {
      auto l = c.ledger();
      return starts_by(l, a.pid()) >= 8 && starts_by(l, b.pid()) >= 8;
    },
    60s, "both workers have started jobs");
  proxy.blackhole();
  // Its requests get no reply: after a lease (3 s) it gives the connection
  // up and says so; meanwhile the other worker rescues the jobs whose
  // outcomes it could not record. Then the network heals.
  c.wait_until(
    [&] {
      return a.err().find("database unreachable") != std::string::npos
             && b.err().find("whose lease expired") != std::string::npos;
    },
    60s, "the cut-off worker reports the outage and the other one has "
         "rescued its jobs");
  proxy.heal();
  c.wait_until([&] { return c.count("COMPLETED") == n_jobs; }, 120s,
               "every job is COMPLETED");
  INFO(c.describe() << "\nworker A's log:\n" << a.err());
  auto ledger = c.ledger();
  std::set<std::pair<std::string, int32_t>> seen;
  std::set<std::string> ids;
  for (auto& s : ledger) {
    INFO("job " << s.id << " attempt " << s.attempt << " pid " << s.pid);
    REQUIRE(seen.insert({s.id, s.attempt}).second);
    ids.insert(s.id);
  }
  CHECK(ids.size() == n_jobs);
  // The jobs rescued from the cut-off worker ran again: more starts than
  // jobs.
  CHECK(ledger.size() > n_jobs);
  CHECK(c.count("FAILED") == 0);
  CHECK(c.count("PROCESSING") == 0);
  // The cut-off worker said so once, and that it is back.
  CHECK(a.err().find("database unreachable") != std::string::npos);
  CHECK(a.err().find("database reachable again") != std::string::npos);
  c.stop_all();
}
