// jobd's entry point: parses the command line and config, then runs one of
// the commands (see usage_text()).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/bench.hpp"
#include "actors/cli.hpp"
#include "actors/log.hpp"
#include "actors/runtime.hpp"
#include "handlers/builtin.hpp"
#include "http/server.hpp"
#include "storage/pg_conninfo.hpp"

using namespace jobd;

namespace {

int fail(const std::string& msg) {
  std::cerr << "jobd: " << msg << std::endl;
  return 2;
}

// Blocks SIGINT and SIGTERM in every thread (threads inherit the mask), so
// only wait_for_signal() sees them.
sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

int wait_for_signal(const sigset_t& set) {
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

// How the logs name the storage: a SQLite path as given; a PostgreSQL URL
// by server, database and user only, since it may hold a password (in the
// authority or as a password= parameter).
std::string storage_for_log(const std::string& url) {
  if (!is_pg_url(url))
    return url;
  auto info = make_pg_conninfo(url, 10);
  return "PostgreSQL at " + (info ? info->server : std::string{"(URL hidden)"});
}

void init_caf(caf::actor_system_config& cfg) {
  register_types(cfg);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  cfg.set("logger.console", caf::atom("none"));
}

// `jobd worker` and `jobd serve`: run until SIGINT/SIGTERM, then stop
// gracefully (see stop_runtime) and exit 0.
int run_server(const jobd_config& cfg, bool with_http,
               const http_config& hcfg) {
  auto signals = block_stop_signals();
  auto clock = std::make_shared<system_clock_source>();
  auto store = open_store(cfg.storage, clock);
  // A database server that is down (PostgreSQL) is waited for, with
  // backoff up to 30 s, saying so each time; anything else (a bad file, a
  // newer schema, bad credentials) stops start-up at once.
  for (ms_t wait = 1'000; !store && code_of(store.error()) == errc::unavailable;
       wait = std::min<ms_t>(wait * 2, 30'000)) {
    log_line(message_of(store.error()) + "; retrying in "
             + format_duration_ms(wait) + " (Ctrl-C to give up)");
    timespec ts{static_cast<time_t>(wait / 1000),
                static_cast<long>((wait % 1000) * 1'000'000)};
    if (sigtimedwait(&signals, nullptr, &ts) > 0)
      return fail("stopped while waiting for the database");
    store = open_store(cfg.storage, clock);
  }
  if (!store)
    return fail(message_of(store.error()));
  auto registry = std::make_shared<handler_registry>();
  register_builtin_handlers(*registry, cfg.handlers, clock);
  caf::actor_system_config sys_cfg;
  init_caf(sys_cfg);
  caf::actor_system sys{sys_cfg};
  auto rcfg = cfg.runtime;
  if (cfg.storage.url.rfind("postgres", 0) == 0)
    rcfg.notify_url = cfg.storage.url;
  if (with_http && rcfg.pool.workers == 0)
    rcfg.run_workers = false;
  auto rt = start_runtime(sys, std::move(*store), registry, rcfg, clock);
  std::unique_ptr<http_server> http;
  if (with_http) {
    auto srv = http_server::start(sys, hcfg, rt.store, registry);
    if (!srv) {
      stop_runtime(sys, rt, 0);
      std::fflush(nullptr);
      std::_Exit(fail(message_of(srv.error())));
    }
    http = std::move(*srv);
    log_line("dashboard: http://" + hcfg.bind + ":"
             + std::to_string(http->port()) + "/jobs");
  }
  log_line(std::string{with_http ? "serve" : "worker"} + " started: "
           + std::to_string(rcfg.run_workers ? rcfg.pool.workers : 0)
           + " handler(s), storage " + storage_for_log(cfg.storage.url));
  auto sig = wait_for_signal(signals);
  log_line(std::string{"received "} + (sig == SIGINT ? "SIGINT" : "SIGTERM")
           + ": stopping (running jobs get "
           + format_duration_ms(rcfg.shutdown_deadline_ms)
           + "; a second signal exits at once)");
  // A second signal ends the process at once: leases bring its jobs back.
  std::thread([signals] {
    wait_for_signal(signals);
    std::_Exit(1);
  }).detach();
  if (http)
    http->stop();
  auto released = stop_runtime(sys, rt, rcfg.shutdown_deadline_ms);
  if (!released) {
    log_line("stopped with an error: " + message_of(released.error()));
    std::fflush(nullptr);
    std::_Exit(1);
  }
  log_line("stopped; " + std::to_string(*released)
           + " unfinished job(s) handed back to PENDING");
  // Handlers still blocked in a job (past the deadline) would keep the actor
  // system from ending; their jobs are already handed back.
  std::fflush(nullptr);
  std::_Exit(0);
}

} // namespace

int main(int argc, char** argv) {
  auto cl = parse_command_line(argc, argv, {"help", "json"});
  if (cl.flags.count("help") || cl.words.empty()) {
    std::cout << usage_text();
    return cl.words.empty() && !cl.flags.count("help") ? 2 : 0;
  }
  jobd_config cfg;
  http_config hcfg;
  settings s;
  add_core_settings(s, cfg);
  add_http_settings(s, hcfg);
  auto cmd = cl.words[0];
  if (cmd == "config" && cl.words.size() > 1 && cl.words[1] == "defaults") {
    std::cout << s.render();
    return 0;
  }
  auto err = load_config(cl, s, cfg);
  if (!err.empty())
    return fail(err);
  if (cmd == "jobs")
    return run_jobs_command(cl, cfg); // 0, 1 (store), 2 (usage)
  if (cmd == "bench")
    return run_bench(cl, cfg);
  if (!cl.args.empty())
    return fail("unexpected argument '" + cl.args[0] + "' (see jobd --help)");
  for (auto& kv : cl.flags)
    return fail("unknown option --" + kv.first + " for '" + cmd
                + "' (see jobd --help)");
  if (cmd == "config") {
    if (cl.words.size() > 1 && cl.words[1] == "check") {
      std::cout << "config ok" << std::endl;
      return 0;
    }
    return fail("config needs a subcommand: defaults or check");
  }
  if (cmd == "worker") {
    if (cfg.runtime.pool.workers == 0)
      return fail("worker.workers must be at least 1 for 'jobd worker' (an "
                  "API-only node is 'jobd serve --workers 0')");
    return run_server(cfg, false, hcfg);
  }
  if (cmd == "serve")
    return run_server(cfg, true, hcfg);
  return fail("unknown command '" + cmd + "' (see jobd --help)");
}
