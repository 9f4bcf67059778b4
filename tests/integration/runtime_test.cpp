// The delivery promise, end to end: real `jobd worker` processes on one
// database (SQLite file, then PostgreSQL), with the job-start ledger as the
// witness of every start.
//   - several workers drain a large batch; each job starts exactly once;
//   - workers killed with SIGKILL lose no job: their jobs run again;
//   - SIGTERM lets short jobs finish and hands long ones back unharmed; a
//     second SIGTERM exits at once;
//   - a job longer than its lease keeps it by heartbeats (runs once);
//   - failures retry with backoff across workers, then end FAILED;
//   - PostgreSQL: workers wake on NOTIFY; the URL's password is not logged.
#include "integration/cluster.hpp"

#include <algorithm>
#include <csignal>
#include <set>

#include <sqlite3.h>

using namespace jobd;
using namespace jobd::test;

namespace {

// Poll often: the tests wait for jobs enqueued by another process (this one).
const std::vector<std::string> fast_poll = {"--poll-interval", "50ms"};

std::vector<std::string> with(std::vector<std::string> a,
                              const std::vector<std::string>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::string sqlite_integrity(const std::string& path) {
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr)
      != SQLITE_OK) {
    sqlite3_close(db);
    return "cannot open " + path;
  }
  std::string out;
  sqlite3_exec(
    db, "PRAGMA integrity_check",
    [](void* arg, int, char** vals, char**) {
      auto& s = *static_cast<std::string*>(arg);
      s += (s.empty() ? "" : "; ") + std::string{vals[0] ? vals[0] : "NULL"};
      return 0;
    },
    &out, nullptr);
  sqlite3_close(db);
  return out;
}

// Every (job, attempt) in the ledger started once: one attempt never runs
// in two places (fencing), whatever else happened.
void require_attempts_unique(const std::vector<job_start>& ledger) {
  std::set<std::pair<std::string, int32_t>> seen;
  for (auto& s : ledger) {
    INFO("job " << s.id << " attempt " << s.attempt << " pid " << s.pid);
    REQUIRE(seen.insert({s.id, s.attempt}).second);
  }
}

// -- 1. exactly once ----------------------------------------------------------

// Four workers with one handler each, four jobs of 5 s each: a worker holds
// one job at a time (none is prefetched before a job finished, and none of
// a pace that slow), so the four jobs start in four different processes:
// running more workers shares the work.
void every_worker_shares(const std::string& backend) {
  cluster c{backend};
  for (int i = 0; i < 4; ++i)
    c.start_worker(with({"--workers", "1"}, fast_poll));
  c.wait_until(
    [&] {
      for (auto& w : c.workers())
        if (w->err().find("worker started") == std::string::npos)
          return false;
      return true;
    },
    60s, "every worker has started");
  c.enqueue_echo(4, R"({"delayMs":5000})");
  c.wait_until([&] { return c.count("COMPLETED") == 4; }, 120s,
               "the 4 slow jobs are COMPLETED");
  std::set<pid_t> pids;
  for (auto& s : c.ledger())
    pids.insert(s.pid);
  std::set<pid_t> worker_pids;
  for (auto& w : c.workers())
    worker_pids.insert(w->pid());
  INFO(c.describe());
  CHECK(c.ledger().size() == 4);
  CHECK(pids == worker_pids);
  c.stop_all();
}

void exactly_once(const std::string& backend, size_t n_jobs, int n_workers) {
  cluster c{backend};
  // Every worker is up and polling before the jobs arrive, so each has its
  // chance at them: one that started late under load could otherwise find
  // the others had drained everything.
  for (int i = 0; i < n_workers; ++i)
    c.start_worker(with({"--workers", "8"}, fast_poll));
  c.wait_until(
    [&] {
      for (auto& w : c.workers()) {
        if (!w->running())
          FAIL("a worker ended early: " << w->describe());
        if (w->err().find("worker started") == std::string::npos)
          return false;
      }
      return true;
    },
    60s, "every worker has started");
  auto jobs = c.enqueue_echo(n_jobs);
  auto started = std::chrono::steady_clock::now();
  // A few more through the CLI while the workers hold the database busy.
  for (int i = 0; i < 5; ++i) {
    auto r = run_jobd({"jobs", "add", "--type", "ECHO", "--payload",
                       R"({"via":"cli"})", "--db", c.db()});
    INFO("jobs add: exit " << r.exit_code << " stderr " << r.err);
    REQUIRE(r.exit_code == 0);
    auto id = lines_of(r.out).at(0);
    jobs.push_back(c.get(id));
  }
  n_jobs += 5;
  c.wait_until(
    [&] {
      for (auto& w : c.workers())
        if (!w->running())
          FAIL("a worker ended early: " << w->describe());
      return c.count("COMPLETED") == static_cast<int64_t>(n_jobs);
    },
    300s, "all " + std::to_string(n_jobs) + " jobs are COMPLETED");
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now()
                                            - started)
                .count();
  WARN(backend << ": " << n_workers << " workers drained " << n_jobs
               << " ECHO jobs in " << secs << " s");
  // The ledger: every job started exactly once, as attempt 1. (Which
  // workers took part is a race here: with prefetch, three can drain no-op
  // jobs before a fourth, starved of CPU, claims any. every_worker_shares
  // shows the sharing without a race.)
  auto ledger = c.ledger();
  std::map<std::string, int> starts;
  std::set<pid_t> pids;
  for (auto& s : ledger) {
    starts[s.id] += 1;
    pids.insert(s.pid);
  }
  for (auto& s : ledger)
    if (s.attempt != 1) {
      // Say who ran it and when, and what the workers logged (a rescue
      // after a missed lease names the worker).
      std::ostringstream runs;
      for (auto& t : ledger)
        if (t.id == s.id)
          runs << " attempt " << t.attempt << " by pid " << t.pid << ";";
      FAIL("job " << s.id << " started as attempt " << s.attempt << ":"
                  << runs.str() << " " << job_to_json(c.get(s.id)) << "\n"
                  << c.describe());
    }
  CHECK(ledger.size() == n_jobs);
  for (auto& j : jobs)
    if (starts[j.id] != 1)
      FAIL("job " << j.id << " started " << starts[j.id] << " times");
  CHECK(!pids.empty());
  // The store agrees: one attempt each, no retries, nothing left over.
  auto done = c.all_jobs();
  REQUIRE(done.size() == n_jobs);
  for (auto& j : done) {
    if (j.status != job_status::completed || j.attempt != 1
        || j.retry_count != 0 || !j.locked_by.empty())
      FAIL("job " << j.id << " ended " << to_string(j.status) << " attempt "
                  << j.attempt << " retries " << j.retry_count);
  }
  if (backend == "sqlite")
    CHECK(sqlite_integrity(c.db()) == "ok");
  c.stop_all();
  if (backend == "sqlite")
    CHECK(sqlite_integrity(c.db()) == "ok");
}

// -- 2. crash -----------------------------------------------------------------

// A short lease so a killed worker's jobs come back within seconds.
const std::vector<std::string> short_lease = {
  "--workers", "4", "--lease", "2s", "--set",
  "worker.heartbeat_interval=500ms", "--set", "worker.rescue_interval=500ms",
  "--poll-interval", "50ms"};

void crash(const std::string& backend) {
  cluster c{backend};
  // Enough work that every worker is busy at each kill; retries to spare,
  // as a job may be in flight at more than one kill.
  const size_t n_jobs = 80;
  auto jobs = c.enqueue_echo(n_jobs, R"({"delayMs":300})", 10);
  int next_id = 0;
  auto start = [&] {
    auto id = "crash-w" + std::to_string(++next_id);
    auto& w = c.start_worker(with(short_lease, {"--set", "worker.id=" + id}));
    return std::make_pair(&w, id);
  };
  std::vector<std::pair<child_process*, std::string>> alive{start(), start()};
  std::set<std::string> in_flight_at_kill;
  std::set<pid_t> killed_pids;
  const int kills = 3;
  for (int k = 0; k < kills; ++k) {
    auto [victim, victim_id] = alive.front();
    alive.erase(alive.begin());
    // Kill it while it is running jobs (the ledger shows starts by its pid).
    c.wait_until(
      [&, victim = victim] {
        if (!victim->running())
          FAIL("worker ended before it was killed: " << victim->describe());
        auto ledger = c.ledger();
        return std::any_of(ledger.begin(), ledger.end(),
                           [&](const job_start& s) {
                             return s.pid == victim->pid();
                           });
      },
      60s, "worker " + victim_id + " has started jobs");
    victim->signal(SIGKILL);
    REQUIRE(victim->wait_for(10s));
    REQUIRE(victim->term_signal() == SIGKILL);
    killed_pids.insert(victim->pid());
    // The victim can write nothing more: what it holds now was in flight.
    // Its leases run 2 s past its last heartbeat; should a sweep have taken
    // some back already, the rescue's error names the victim.
    size_t held = 0;
    auto rescued_from_victim = "worker " + victim_id + " stopped renewing";
    for (auto& j : c.all_jobs())
      if ((j.status == job_status::processing && j.locked_by == victim_id)
          || j.error.find(rescued_from_victim) != std::string::npos) {
        in_flight_at_kill.insert(j.id);
        ++held;
      }
    INFO("kill " << k << " of " << victim_id);
    CHECK(held > 0);
    alive.push_back(start());
  }
  c.wait_until(
    [&] { return c.count("COMPLETED") == static_cast<int64_t>(n_jobs); },
    120s, "all jobs are COMPLETED after " + std::to_string(kills) + " kills");
  // None lost, none failed.
  auto all = c.all_jobs();
  REQUIRE(all.size() == n_jobs);
  auto ledger = c.ledger();
  require_attempts_unique(ledger);
  std::map<std::string, std::vector<job_start>> starts;
  for (auto& s : ledger)
    starts[s.id].push_back(s);
  size_t rerun_after_kill = 0;
  for (auto& j : all) {
    INFO("job " << j.id << " " << job_to_json(j));
    REQUIRE(j.status == job_status::completed);
    // Its final attempt ran (the one that completed); maybe in a victim,
    // which can complete a job just before it is killed.
    auto& js = starts[j.id];
    REQUIRE(std::any_of(js.begin(), js.end(), [&](const job_start& s) {
      return s.attempt == j.attempt;
    }));
    // Its history has every attempt, each by a worker of this test; the
    // last completed, the others lost with a killed worker (lease_expired,
    // recorded by whichever process rescued it).
    auto h = c.store().attempts(j.id, max_attempts_listed);
    REQUIRE(h);
    REQUIRE(h->attempts.size() == static_cast<size_t>(j.attempt));
    CHECK(h->attempts.back().outcome == attempt_outcome::completed);
    for (size_t i = 0; i < h->attempts.size(); ++i) {
      auto& a = h->attempts[i];
      CHECK(a.attempt == static_cast<int32_t>(i) + 1);
      CHECK(a.worker.rfind("crash-w", 0) == 0);
      CHECK(a.started_at > 0);
      CHECK(a.ended_at >= a.started_at);
      if (i + 1 < h->attempts.size()) {
        CHECK(a.outcome == attempt_outcome::lease_expired);
        CHECK_THAT(a.error, Catch::Contains("worker " + a.worker
                                            + " stopped renewing"));
      }
    }
    if (in_flight_at_kill.count(j.id)) {
      // Rescued after its lease ran out (a retry counted), then run again.
      CHECK(j.attempt >= 2);
      CHECK(j.retry_count >= 1);
      bool started_by_victim
        = std::any_of(js.begin(), js.end(), [&](const job_start& s) {
            return killed_pids.count(s.pid) > 0;
          });
      if (started_by_victim) {
        CHECK(js.size() >= 2);
        ++rerun_after_kill;
      }
    }
  }
  WARN(backend << ": " << in_flight_at_kill.size()
               << " jobs in flight at " << kills << " kills, "
               << rerun_after_kill << " of them started before the kill");
  REQUIRE(rerun_after_kill > 0);
  c.stop_all();
}

// -- 3. graceful stop ---------------------------------------------------------

void graceful_finishes_short_jobs(const std::string& backend) {
  cluster c{backend};
  // 4 handlers; 8 jobs of 1.5 s, far below the 30 s deadline.
  auto jobs = c.enqueue_echo(8, R"({"delayMs":1500})");
  auto& w = c.start_worker(with({"--workers", "4", "--set",
                                 "worker.shutdown_deadline=30s"},
                                fast_poll));
  c.wait_until([&] { return c.ledger().size() >= 4; }, 60s,
               "the worker has started 4 jobs");
  w.signal(SIGTERM);
  INFO(w.describe());
  REQUIRE(w.wait_for(60s));
  REQUIRE(w.exit_code() == 0);
  CHECK(w.err().find("received SIGTERM") != std::string::npos);
  // Jobs it started finished; the others were never claimed.
  std::set<std::string> started;
  for (auto& s : c.ledger())
    started.insert(s.id);
  CHECK(c.count("PROCESSING") == 0);
  for (auto& j0 : jobs) {
    auto j = c.get(j0.id);
    INFO(job_to_json(j));
    if (started.count(j.id)) {
      CHECK(j.status == job_status::completed);
    } else {
      CHECK(j.status == job_status::pending);
      CHECK(j.attempt == 0); // never claimed
    }
  }
}

void graceful_hands_back_long_jobs(const std::string& backend) {
  cluster c{backend};
  // Each job takes 5 s; the deadline is 300 ms.
  auto jobs = c.enqueue_echo(3, R"({"delayMs":5000})");
  auto& w = c.start_worker(with({"--workers", "4", "--set",
                                 "worker.shutdown_deadline=300ms"},
                                fast_poll));
  c.wait_until([&] { return c.ledger().size() == 3; }, 60s,
               "the worker has started all 3 jobs");
  w.signal(SIGTERM);
  {
    INFO(w.describe());
    REQUIRE(w.wait_for(30s));
    REQUIRE(w.exit_code() == 0);
    CHECK(w.err().find("3 unfinished job(s) handed back to PENDING")
          != std::string::npos);
  }
  CHECK(c.count("PROCESSING") == 0);
  for (auto& j0 : jobs) {
    auto j = c.get(j0.id);
    INFO(job_to_json(j));
    CHECK(j.status == job_status::pending);
    CHECK(j.retry_count == 0); // a handback is not a failure
    CHECK(j.attempt == 1);
    CHECK(j.locked_by.empty());
    CHECK(j.completed_at == 0);
  }
  // Another worker picks them up and finishes them.
  c.start_worker(with({"--workers", "4"}, fast_poll));
  c.wait_until([&] { return c.count("COMPLETED") == 3; }, 60s,
               "a new worker has completed the handed-back jobs");
  for (auto& j0 : jobs) {
    auto j = c.get(j0.id);
    CHECK(j.attempt == 2);
    CHECK(j.retry_count == 0);
    // The history: handed back by the first worker, completed by the
    // second (another process).
    auto h = c.store().attempts(j.id, max_attempts_listed);
    REQUIRE(h);
    REQUIRE(h->attempts.size() == 2);
    CHECK(h->attempts[0].outcome == attempt_outcome::released);
    CHECK(h->attempts[1].outcome == attempt_outcome::completed);
    CHECK_FALSE(h->attempts[0].worker.empty());
    CHECK(h->attempts[1].worker == j.worked_by);
    CHECK(h->attempts[0].worker != h->attempts[1].worker);
  }
  require_attempts_unique(c.ledger());
  c.stop_all();
}

// -- leases of long jobs ------------------------------------------------------

// A job running longer than the lease keeps it by heartbeats: no other
// worker's sweep takes it away, and it runs once.
void long_job_keeps_its_lease(const std::string& backend) {
  cluster c{backend};
  auto jobs = c.enqueue_echo(2, R"({"delayMs":5000})");
  for (int i = 0; i < 2; ++i)
    c.start_worker(short_lease);
  c.wait_until([&] { return c.count("COMPLETED") == 2; }, 60s,
               "both 5 s jobs (lease 2 s) are COMPLETED");
  auto ledger = c.ledger();
  CHECK(ledger.size() == 2);
  for (auto& j0 : jobs) {
    auto j = c.get(j0.id);
    INFO(job_to_json(j));
    CHECK(j.attempt == 1);
    CHECK(j.retry_count == 0);
  }
  c.stop_all();
}

// -- retries ------------------------------------------------------------------

// A failing job is retried with backoff, by whichever worker, and ends
// FAILED once its retries are used: maxRetries + 1 starts in all.
void failing_job_retries_then_fails(const std::string& backend) {
  cluster c{backend};
  auto jobs = c.enqueue_echo(3, R"({"fail":true,"error":"boom"})", 2);
  for (int i = 0; i < 2; ++i)
    c.start_worker(with({"--set", "retry.base=50ms", "--set", "retry.jitter=0"},
                        fast_poll));
  c.wait_until([&] { return c.count("FAILED") == 3; }, 60s,
               "the 3 failing jobs are FAILED");
  auto ledger = c.ledger();
  require_attempts_unique(ledger);
  CHECK(ledger.size() == 9);
  for (auto& j0 : jobs) {
    auto j = c.get(j0.id);
    INFO(job_to_json(j));
    CHECK(j.attempt == 3);
    CHECK(j.retry_count == 2);
    CHECK(j.error == "boom");
    CHECK(j.completed_at != 0);
  }
  c.stop_all();
}

// -- a second signal ----------------------------------------------------------

// During a graceful stop, a second SIGTERM ends the process at once (exit
// code 1); its jobs are left to their leases.
void second_signal_exits_at_once(const std::string& backend) {
  cluster c{backend};
  c.enqueue_echo(2, R"({"delayMs":30000})");
  auto& w = c.start_worker(with({"--set", "worker.shutdown_deadline=1m"},
                                fast_poll));
  c.wait_until([&] { return c.ledger().size() == 2; }, 60s,
               "the worker has started both jobs");
  w.signal(SIGTERM);
  c.wait_until([&] {
    return w.err().find("received SIGTERM") != std::string::npos;
  }, 30s, "the worker logs the first SIGTERM");
  w.signal(SIGTERM);
  INFO(w.describe());
  REQUIRE(w.wait_for(20s));
  CHECK(w.exit_code() == 1);
  // Not handed back: still PROCESSING until the lease runs out.
  CHECK(c.count("PROCESSING") == 2);
}

// -- PostgreSQL only ----------------------------------------------------------

// A worker hears of jobs other processes enqueue through LISTEN/NOTIFY, not
// only at its next poll (here 1 minute away).
void notify_wakes_worker() {
  cluster c{"postgresql"};
  // A first job shows the worker has made its start-up claims (the first
  // poll, and the claim after the job freed its handler).
  c.enqueue_echo(1);
  auto& w = c.start_worker({"--poll-interval", "1m", "--workers", "1"});
  c.wait_until([&] { return c.count("COMPLETED") == 1; }, 30s,
               "the first job is COMPLETED");
  // Now only the wake-up can find a job before the next poll.
  auto r = run_jobd({"jobs", "add", "--type", "ECHO", "--db", c.db()});
  REQUIRE(r.exit_code == 0);
  c.wait_until([&] { return c.count("COMPLETED") == 2; }, 30s,
               "the job is COMPLETED well before the next poll");
  CHECK(w.err().find("LISTEN unavailable") == std::string::npos);
  c.stop_all();
}

} // namespace

// SQLite at its default synchronous=FULL: every commit is fsynced.
TEST_CASE("sqlite: 4 worker processes run 20000 jobs exactly once",
          "[integration][sqlite][exactly-once]") {
  exactly_once("sqlite", 20'000, 4);
}

TEST_CASE("sqlite: every worker process takes a share of the work",
          "[integration][sqlite][exactly-once]") {
  every_worker_shares("sqlite");
}

TEST_CASE("sqlite: jobs of workers killed with SIGKILL all complete",
          "[integration][sqlite][crash]") {
  crash("sqlite");
}

TEST_CASE("sqlite: SIGTERM lets jobs within the deadline finish",
          "[integration][sqlite][graceful]") {
  graceful_finishes_short_jobs("sqlite");
}

TEST_CASE("sqlite: SIGTERM hands jobs past the deadline back",
          "[integration][sqlite][graceful]") {
  graceful_hands_back_long_jobs("sqlite");
}

TEST_CASE("postgresql: 4 worker processes run 20000 jobs exactly once",
          "[integration][postgresql][exactly-once]") {
  exactly_once("postgresql", 20'000, 4);
}

TEST_CASE("postgresql: jobs of workers killed with SIGKILL all complete",
          "[integration][postgresql][crash]") {
  crash("postgresql");
}

TEST_CASE("postgresql: SIGTERM lets jobs within the deadline finish",
          "[integration][postgresql][graceful]") {
  graceful_finishes_short_jobs("postgresql");
}

TEST_CASE("postgresql: SIGTERM hands jobs past the deadline back",
          "[integration][postgresql][graceful]") {
  graceful_hands_back_long_jobs("postgresql");
}

TEST_CASE("sqlite: a job longer than the lease keeps it by heartbeats",
          "[integration][sqlite][lease]") {
  long_job_keeps_its_lease("sqlite");
}

TEST_CASE("postgresql: a job longer than the lease keeps it by heartbeats",
          "[integration][postgresql][lease]") {
  long_job_keeps_its_lease("postgresql");
}

TEST_CASE("sqlite: failing jobs retry across workers, then FAIL",
          "[integration][sqlite][retry]") {
  failing_job_retries_then_fails("sqlite");
}

TEST_CASE("postgresql: failing jobs retry across workers, then FAIL",
          "[integration][postgresql][retry]") {
  failing_job_retries_then_fails("postgresql");
}

TEST_CASE("sqlite: a second SIGTERM exits at once",
          "[integration][sqlite][graceful]") {
  second_signal_exits_at_once("sqlite");
}

TEST_CASE("postgresql: a worker wakes on NOTIFY, not only by polling",
          "[integration][postgresql][notify]") {
  notify_wakes_worker();
}

TEST_CASE("postgresql: the worker never logs the storage URL's password",
          "[integration][postgresql]") {
  cluster c{"postgresql"};
  // The test server trusts every login, so any password connects.
  auto in_authority = c.db();
  auto at = in_authority.find("jobd@");
  REQUIRE(at != std::string::npos);
  in_authority.replace(at, 5, "jobd:hunter2secret@");
  auto as_parameter = c.db() + "&password=hunter2secret";
  for (auto& url : {in_authority, as_parameter}) {
    child_process w{jobd_binary(), {"worker", "--db", url}};
    c.wait_until([&] {
      if (!w.running())
        FAIL("worker ended: " << w.describe());
      return w.err().find("worker started") != std::string::npos;
    }, 30s, "the worker has started");
    w.signal(SIGTERM);
    REQUIRE(w.wait_for(30s));
    CHECK(w.exit_code() == 0);
    INFO(w.err());
    CHECK(w.err().find("storage PostgreSQL at 127.0.0.1:") != std::string::npos);
    CHECK(w.err().find("hunter2secret") == std::string::npos);
    CHECK(w.out().find("hunter2secret") == std::string::npos);
  }
}

// The server restarts under running workers: they reconnect, and every job
// still completes (a completion lost with the connection is redone when the
// lease runs out: at least once).
TEST_CASE("postgresql: workers ride out a server restart",
          "[integration][postgresql][restart]") {
  cluster c{"postgresql"};
  const size_t n_jobs = 300;
  c.enqueue_echo(n_jobs, R"({"delayMs":50})", 10); // about 2 s of work
  for (int i = 0; i < 2; ++i)
    c.start_worker(short_lease);
  c.wait_until([&] { return c.count("COMPLETED") >= 50; }, 60s,
               "50 jobs are COMPLETED");
  // The restart must come while work remains.
  REQUIRE(c.count("COMPLETED") < static_cast<int64_t>(n_jobs) - 50);
  auto& server = pg_server::shared();
  server.stop();
  server.start();
  c.wait_until(
    [&] {
      for (auto& w : c.workers())
        if (!w->running())
          FAIL("a worker ended: " << w->describe());
      auto n = c.store().counts();
      // The test's own connection reconnects too; an error just means "not
      // yet".
      if (!n)
        return false;
      return c.count("COMPLETED") == static_cast<int64_t>(n_jobs);
    },
    120s, "all jobs are COMPLETED after the restart");
  require_attempts_unique(c.ledger());
  c.stop_all();
}

TEST_CASE("postgresql: NOTIFY wake-ups resume after a server restart",
          "[integration][postgresql][restart][notify]") {
  cluster c{"postgresql"};
  c.enqueue_echo(1);
  auto& w = c.start_worker({"--poll-interval", "1m", "--workers", "1"});
  c.wait_until([&] { return c.count("COMPLETED") == 1; }, 30s,
               "the first job is COMPLETED");
  auto& server = pg_server::shared();
  server.stop();
  server.start();
  // Jobs added after the restart are found by the wake-up, not the poll.
  for (int n = 2; n <= 3; ++n) {
    auto r = run_jobd({"jobs", "add", "--type", "ECHO", "--db", c.db()});
    REQUIRE(r.exit_code == 0);
    c.wait_until(
      [&] {
        auto counts = c.store().counts();
        return counts && c.count("COMPLETED") == n;
      },
      30s, "job " + std::to_string(n) + " is COMPLETED before the next poll");
  }
  CHECK(w.running());
  c.stop_all();
}
