// A database plus the `jobd worker` processes running on it, for the
// process-level tests: the test enqueues and inspects jobs through its own
// store connection, starts and signals workers, and reads the job-start
// ledger every worker appends to (worker.ledger).
#pragma once

#include <catch2/catch.hpp>

#include <chrono>
#include <csignal>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "http/job_json.hpp"
#include "storage/json_text.hpp"
#include "storage/store.hpp"
#include "support/http_fixture.hpp"
#include "support/pg_server.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

namespace jobd::test {

using namespace std::chrono_literals;

/// One line of the ledger: a job start.
struct job_start {
  std::string id;
  int32_t attempt = 0;
  pid_t pid = 0;
};

class cluster {
public:
  /// `backend` is "sqlite" (a file in a temp dir) or "postgresql" (a fresh
  /// schema on the tests' throwaway server).
  explicit cluster(const std::string& backend) : backend_(backend) {
    if (backend == "sqlite")
      db_ = dir_.file("jobs.db");
    else
      db_ = pg_server::shared().fresh_schema_url();
    ledger_ = dir_.file("ledger");
    store_options opts;
    opts.url = db_;
    opts.synchronous = "NORMAL"; // the test's own writes need no fsync
    auto st = open_store(opts, std::make_shared<system_clock_source>());
    if (!st)
      throw std::runtime_error("cannot open " + db_ + ": "
                               + message_of(st.error()));
    store_ = std::move(*st);
  }

  const std::string& backend() const { return backend_; }
  /// The --db value.
  const std::string& db() const { return db_; }
  const std::string& ledger_path() const { return ledger_; }
  const temp_dir& dir() const { return dir_; }
  job_store& store() { return *store_; }

  /// Enqueues `n` ECHO jobs with this payload in one transaction.
  std::vector<job> enqueue_echo(size_t n, const std::string& payload = "{}",
                                int32_t max_retries = 3) {
    std::vector<new_job> batch(n);
    for (auto& nj : batch) {
      nj.type = "ECHO";
      nj.payload = payload;
      nj.max_retries = max_retries;
    }
    auto res = store_->enqueue(batch);
    if (!res)
      FAIL("enqueue failed: " << message_of(res.error()));
    return std::move(*res);
  }

  /// Starts `jobd worker --db <db> --set worker.ledger=<ledger> args...`.
  child_process& start_worker(const std::vector<std::string>& args,
                              child_process::options opts = {}) {
    return start_worker_at(db_, args, std::move(opts));
  }

  /// The same with another --db for the same database (a proxy's port).
  child_process& start_worker_at(const std::string& db,
                                 const std::vector<std::string>& args,
                                 child_process::options opts = {}) {
    std::vector<std::string> all{"worker", "--db", db, "--set",
                                 "worker.ledger=" + ledger_};
    all.insert(all.end(), args.begin(), args.end());
    workers_.push_back(
      std::make_unique<child_process>(jobd_binary(), all, std::move(opts)));
    return *workers_.back();
  }

  std::vector<std::unique_ptr<child_process>>& workers() { return workers_; }

  /// Jobs by status, over all types.
  std::map<std::string, int64_t> counts() {
    std::map<std::string, int64_t> out;
    auto c = store_->counts();
    if (!c)
      FAIL("counting jobs failed: " << message_of(c.error()));
    for (size_t i = 0; i < c->count.size(); ++i)
      out[c->status[i]] += c->count[i];
    return out;
  }

  int64_t count(const std::string& status) {
    auto c = counts();
    auto i = c.find(status);
    return i == c.end() ? 0 : i->second;
  }

  /// Every job (paging through list()).
  std::vector<job> all_jobs(const std::string& status = "") {
    std::vector<job> out;
    job_filter f;
    f.status = status;
    f.limit = max_list_limit;
    for (;;) {
      auto page = store_->list(f);
      if (!page)
        FAIL("listing jobs failed: " << message_of(page.error()));
      for (auto& j : page->jobs)
        out.push_back(std::move(j));
      if (page->next_cursor.empty())
        return out;
      f.cursor = page->next_cursor;
    }
  }

  job get(const std::string& id) {
    auto j = store_->get(id);
    if (!j)
      FAIL("get " << id << " failed: " << message_of(j.error()));
    return std::move(*j);
  }

  /// The ledger's lines so far. A line being written (no '\n' yet) is
  /// left out.
  std::vector<job_start> ledger() const {
    std::vector<job_start> out;
    auto text = read_file(ledger_);
    auto end = text.rfind('\n');
    if (end == std::string::npos)
      return out;
    for (auto& line : lines_of(text.substr(0, end + 1))) {
      std::istringstream in{line};
      job_start s;
      if (!(in >> s.id >> s.attempt >> s.pid))
        FAIL("malformed ledger line '" << line << "'");
      out.push_back(s);
    }
    return out;
  }

  /// Counts by status and each worker's state: for failure messages.
  std::string describe() {
    std::ostringstream out;
    out << backend_ << " store:";
    for (auto& [status, n] : counts())
      out << " " << status << "=" << n;
    out << "; ledger lines: " << ledger().size();
    for (auto& w : workers_)
      out << "\n  worker " << w->describe();
    return out.str();
  }

  /// Waits until `cond` holds, failing the test with `what` and the
  /// cluster's state after `timeout`.
  template <class Pred>
  void wait_until(Pred cond, std::chrono::milliseconds timeout,
                  const std::string& what) {
    if (!eventually(cond, timeout, 100ms))
      FAIL("timed out after " << timeout.count() << " ms waiting until "
                              << what << "\n" << describe());
  }

  /// Waits until the `jobd serve` process `serve` answers /healthz on
  /// `port` (an HTTP helper of tests/support/http_fixture.hpp).
  void wait_serving(uint16_t port, const child_process& serve) {
    wait_until([&] { return answers_healthz(port); }, 30s,
               "jobd serve answers /healthz\n" + serve.describe());
  }

  /// Sends SIGTERM to each worker still running and requires each to exit
  /// 0 within `timeout`.
  void stop_all(std::chrono::milliseconds timeout = 60s) {
    // A worker still starting (slow under load) has not blocked the stop
    // signals yet: SIGTERM would end it by the signal, not by the graceful
    // path checked here. Wait until each says it started.
    for (auto& w : workers_) {
      INFO(w->describe());
      REQUIRE(eventually(
        [&] {
          return !w->running()
                 || w->err().find(" started: ") != std::string::npos;
        },
        timeout, 20ms));
    }
    for (auto& w : workers_)
      w->signal(SIGTERM);
    for (auto& w : workers_) {
      if (w->term_signal() == SIGKILL)
        continue; // killed by the test on purpose
      INFO(w->describe());
      REQUIRE(w->wait_for(timeout));
      CHECK(w->exit_code() == 0);
    }
  }

private:
  std::string backend_;
  temp_dir dir_;
  std::string db_;
  std::string ledger_;
  std::unique_ptr<job_store> store_;
  std::vector<std::unique_ptr<child_process>> workers_;
};

/// `jobd jobs <args> --db <the cluster's db>`, waiting at most 30 s.
inline run_result jobs_cmd(cluster& c, std::vector<std::string> args) {
  args.insert(args.begin(), "jobs");
  args.push_back("--db");
  args.push_back(c.db());
  return run_jobd(args, {}, std::chrono::seconds(30));
}

} // namespace jobd::test
