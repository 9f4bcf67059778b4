#include "bench/bench_cli.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

#include "bench/bench_http.hpp" // w3_jobs, w3_gap_ms
#include "storage/clock.hpp"

namespace jobd::bench {

namespace {

using steady = std::chrono::steady_clock;

// `jobd jobs add` as a child process; returns the id it printed.
caf::expected<std::string> cli_add(const std::string& exe,
                                   const std::string& db, bool wake) {
  auto cmd = "'" + exe + "' jobs add --db '" + db
             + "' --type ECHO --payload '{}' --set storage.wake_sockets="
             + (wake ? "true" : "false") + " 2>&1";
  auto* p = popen(cmd.c_str(), "r");
  if (p == nullptr)
    return make_error(errc::io, "cannot run " + exe);
  char line[256] = "";
  std::string out;
  while (std::fgets(line, sizeof(line), p) != nullptr)
    out += line;
  int rc = pclose(p);
  while (!out.empty() && (out.back() == '\n' || out.back() == '\r'))
    out.pop_back();
  if (rc != 0 || out.size() != 26)
    return make_error(errc::io, "jobd jobs add failed: " + out);
  return out;
}

} // namespace

caf::expected<measurement> w3_latency_cli(bench_env& env) {
  auto db = make_fresh(env);
  if (!db)
    return db.error();
  auto exe = self_exe();
  if (exe.empty())
    return make_error(errc::io, "cannot find the jobd binary");
  auto worker = worker_process::start(env, db->opts.url);
  if (!worker)
    return worker.error();
  // The CLI children follow this run's storage.wake_sockets too.
  bool wake = env.cfg.runtime.wake_sockets;
  auto wait_all_done = [&](std::chrono::seconds limit,
                           const char* what) -> caf::error {
    auto deadline = steady::now() + limit;
    for (;;) {
      auto any = db->raw->any_unfinished();
      if (!any)
        return any.error();
      if (!*any)
        return {};
      if (steady::now() > deadline)
        return make_error(errc::io, what);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  };
  // Untimed: the worker runs a probe job, so it is up and idle.
  if (auto id = cli_add(exe, db->opts.url, wake); !id)
    return id.error();
  if (auto err = wait_all_done(std::chrono::seconds(30),
                               "W3 CLI: the worker process did not start "
                               "within 30 s"))
    return err;
  std::vector<std::string> ids;
  auto t0 = steady::now();
  for (int64_t i = 0; i < w3_jobs; ++i) {
    std::this_thread::sleep_until(t0 + std::chrono::milliseconds(i * w3_gap_ms));
    auto id = cli_add(exe, db->opts.url, wake);
    if (!id)
      return id.error();
    ids.push_back(std::move(*id));
  }
  if (auto err = wait_all_done(std::chrono::seconds(60),
                               "W3 CLI: jobs still unfinished after 60 s"))
    return err;
  measurement m{w3_jobs, std::chrono::duration<double>(steady::now() - t0)
                           .count()};
  auto reader = open_store(db->opts, std::make_shared<system_clock_source>());
  if (!reader)
    return reader.error();
  for (auto& id : ids) {
    auto j = (*reader)->get(id);
    if (!j)
      return j.error();
    if (j->status != job_status::completed)
      return make_error(errc::io, "W3 CLI: job " + id + " is "
                                    + to_string(j->status));
    m.latencies_ms.push_back(
      static_cast<double>(std::max<ms_t>(0, j->started_at - j->created_at)));
  }
  return m;
}

} // namespace jobd::bench
