// Cancel across processes (issue 11, item 3): `jobd jobs cancel` in one
// process stops a job another process's worker is running. The job is
// CANCELLED at once; the worker learns it at its next heartbeat (which
// renews nothing), stops the handler and records nothing; a graceful stop
// afterwards does not hand the job back.
#include "integration/cluster.hpp"

using namespace jobd;
using namespace jobd::test;
using namespace std::chrono_literals;

namespace {

void cancel_from_another_process(const std::string& backend) {
  cluster c{backend};
  auto id = c.enqueue_echo(1, R"({"delayMs":600000})").front().id;
  auto& w = c.start_worker({"--workers", "2", "--poll-interval", "50ms",
                            "--set", "worker.heartbeat_interval=200ms"});
  c.wait_until([&] { return c.get(id).status == job_status::processing; },
               30s, "the worker starts the job\n" + w.describe());
  std::vector<std::string> args{"jobs",     "cancel",  id,   "--reason",
                                "wrong input", "--by", "ops", "--db",
                                c.db()};
  auto r = run_jobd(args, {}, 30s);
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("\"status\":\"CANCELLED\"") != std::string::npos);
  // The worker stops the handler at its next heartbeat.
  c.wait_until(
    [&] {
      return w.err().find("job fenced id=" + id + " type=ECHO attempt=1 ")
               != std::string::npos
             && w.err().find("its lease was not renewed") != std::string::npos;
    },
    30s, "the worker stops the cancelled job\n" + w.describe());
  w.signal(SIGTERM);
  REQUIRE(w.wait_for(30s)); // nothing left running: no shutdown deadline
  CHECK(w.exit_code() == 0);
  auto j = c.get(id);
  CHECK(j.status == job_status::cancelled);
  CHECK(j.error == "cancelled by ops: wrong input");
  CHECK(j.result.empty());
  CHECK(j.attempt == 1);
  // Cancelling again is refused, in one line.
  auto again = run_jobd({"jobs", "cancel", id, "--db", c.db()}, {}, 30s);
  CHECK(again.exit_code == 1);
  CHECK(again.err == "jobd: job '" + id
                       + "' is CANCELLED; only a PENDING or PROCESSING job "
                         "can be cancelled\n");
}

// A worker whose heartbeats are 30 s apart stops a job cancelled from the
// CLI within seconds: the cancel's notice (SQLite: a "settled" datagram;
// PostgreSQL: NOTIFY jobd_settled) makes it renew its leases at once.
// `bulk`: by filter (jobs cancel --all), which sends the same notice.
void cancel_reaches_at_once(const std::string& backend, bool bulk = false) {
  cluster c{backend};
  auto id = c.enqueue_echo(1, R"({"delayMs":600000})").front().id;
  auto& w = c.start_worker({"--workers", "2", "--poll-interval", "50ms",
                            "--lease", "90s", "--set",
                            "worker.heartbeat_interval=30s"});
  c.wait_until([&] { return c.get(id).status == job_status::processing; },
               30s, "the worker starts the job\n" + w.describe());
  auto cancelled_at = std::chrono::steady_clock::now();
  auto r = bulk ? jobs_cmd(c, {"cancel", "--all", "--type", "ECHO",
                              "--reason", "now"})
                : jobs_cmd(c, {"cancel", id, "--reason", "now"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  if (bulk)
    CHECK(r.out == "cancel: 1 matched, 1 changed, 0 skipped\n");
  c.wait_until(
    [&] {
      return w.err().find("job fenced id=" + id + " type=ECHO attempt=1 ")
             != std::string::npos;
    },
    15s, "the worker stops the cancelled job before its next heartbeat\n"
           + w.describe());
  CHECK(std::chrono::steady_clock::now() - cancelled_at < 20s);
  w.signal(SIGTERM);
  REQUIRE(w.wait_for(30s));
  CHECK(w.exit_code() == 0);
  CHECK(c.get(id).status == job_status::cancelled);
}

} // namespace

TEST_CASE("sqlite: jobs cancel stops a job another process runs",
          "[integration][cancel]") {
  cancel_from_another_process("sqlite");
}

TEST_CASE("postgresql: jobs cancel stops a job another process runs",
          "[integration][cancel][pg]") {
  cancel_from_another_process("postgresql");
}

TEST_CASE("sqlite: jobs cancel reaches a worker in another process at once, "
          "not at its next heartbeat",
          "[integration][cancel]") {
  cancel_reaches_at_once("sqlite");
}

TEST_CASE("postgresql: jobs cancel reaches a worker in another process at "
          "once, not at its next heartbeat",
          "[integration][cancel][pg]") {
  cancel_reaches_at_once("postgresql");
}

TEST_CASE("sqlite: jobs cancel --all reaches a worker in another process at "
          "once, not at its next heartbeat",
          "[integration][cancel][bulk]") {
  cancel_reaches_at_once("sqlite", true);
}

TEST_CASE("postgresql: jobs cancel --all reaches a worker in another process "
          "at once, not at its next heartbeat",
          "[integration][cancel][bulk][pg]") {
  cancel_reaches_at_once("postgresql", true);
}
