// jobd's entry point: parses the command line and config, then runs one of
// the commands (see usage_text()).
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <set>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/bench.hpp"
#include "actors/cli.hpp"
#include "actors/log.hpp"
#include "actors/runtime.hpp"
#include "actors/wake_dir.hpp"
#include "handlers/builtin.hpp"
#include "http/server.hpp"
#include "storage/pg_conninfo.hpp"

using namespace jobd;

namespace {

int fail(const std::string& msg) {
  std::cerr << "jobd: " << msg << std::endl;
  return 2;
}

// Blocks SIGINT, SIGTERM (stop) and SIGHUP (reload the config) in every
// thread (threads inherit the mask), so only wait_for_signal() sees them.
sigset_t block_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
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

// Settings SIGHUP applies to a running process (see reconfigure_runtime);
// every other one needs a restart.
bool is_live_setting(const std::string& name) {
  static const std::set<std::string> names = {
    "worker.workers", "worker.poll_interval", "worker.rescue_interval",
    "worker.shutdown_deadline"};
  for (auto prefix : {"retry.", "retention.", "openai.", "export.",
                      "preview.", "recap."})
    if (name.rfind(prefix, 0) == 0)
      return true;
  return names.count(name) > 0;
}

// Settings that feed the handlers: a change rebuilds them.
bool is_handler_setting(const std::string& name) {
  for (auto prefix : {"openai.", "export.", "preview.", "recap."})
    if (name.rfind(prefix, 0) == 0)
      return true;
  return false;
}

// A setting's value as a log line may show it: secrets never, a storage
// URL without its password.
std::string value_for_log(const std::string& name, const std::string& v) {
  if (name == "openai.api_key" || name == "http.api_token")
    return v.empty() ? "(empty)" : "(hidden)";
  if (name == "storage.db")
    return "'" + storage_for_log(v) + "'";
  return "'" + v + "'";
}

// The configuration a running server was started with, and how to read it
// again: the command line as given (--config FILE and the flags, which
// still override the file on a reload).
struct server_settings {
  command_line cl;
  jobd_config cfg;
  http_config hcfg;
};

// SIGHUP: re-reads the config file and flags. Live settings are applied;
// each restart-only setting that changed is reported in one line and kept;
// an invalid file is refused in one line and nothing changes. Updates `cur`
// to the settings in force.
void reload(server_settings& cur, const runtime& rt, bool run_workers,
            std::shared_ptr<const clock_source> clock) {
  server_settings next;
  next.cl = cur.cl;
  settings s_next, s_cur;
  add_core_settings(s_next, next.cfg);
  add_http_settings(s_next, next.hcfg);
  add_core_settings(s_cur, cur.cfg);
  add_http_settings(s_cur, cur.hcfg);
  auto err = load_config(next.cl, s_next, next.cfg);
  if (!err.empty()) {
    log_line("reload: " + err + "; keeping the settings in force");
    return;
  }
  std::vector<std::string> applied;
  bool new_handlers = false;
  for (auto& name : s_cur.names()) {
    auto was = s_cur.value(name);
    auto now = s_next.value(name);
    if (was == now)
      continue;
    bool live = is_live_setting(name);
    // An API-only node has no pool to resize, and a worker pool cannot
    // shrink to nothing while the process runs.
    if (name == "worker.workers" && (!run_workers || now == "0"))
      live = false;
    if (!live) {
      log_line("reload: " + name + " changed to " + value_for_log(name, now)
               + "; restart to apply, keeping " + value_for_log(name, was));
      s_next.set(name, was, "reload");
      continue;
    }
    new_handlers = new_handlers || is_handler_setting(name);
    applied.push_back(name + " " + value_for_log(name, was) + " -> "
                      + value_for_log(name, now));
  }
  if (applied.empty()) {
    log_line("reload: nothing to apply");
    return;
  }
  // Checked again as merged: a live value may clash with a kept one.
  if (auto bad = validate_config(next.cfg); !bad.empty()) {
    log_line("reload: " + bad + "; keeping the settings in force");
    return;
  }
  std::shared_ptr<handler_registry> registry;
  if (new_handlers) {
    registry = std::make_shared<handler_registry>();
    register_builtin_handlers(*registry, next.cfg.handlers, clock);
  }
  reconfigure_runtime(rt, next.cfg.runtime, registry);
  std::string list;
  for (auto& a : applied)
    list += (list.empty() ? "" : ", ") + a;
  log_line("reload: applied " + list);
  cur.cfg = next.cfg;
  cur.hcfg = next.hcfg;
}

void init_caf(caf::actor_system_config& cfg) {
  register_types(cfg);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  cfg.set("logger.console", caf::atom("none"));
}

// `jobd worker` and `jobd serve`: run until SIGINT/SIGTERM, then stop
// gracefully (see stop_runtime) and exit 0. SIGHUP reloads the settings.
int run_server(server_settings cur, bool with_http) {
  auto signals = block_signals();
  const auto& cfg = cur.cfg;
  const auto& hcfg = cur.hcfg;
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
    int sig = sigtimedwait(&signals, nullptr, &ts);
    if (sig > 0 && sig != SIGHUP)
      return fail("stopped while waiting for the database");
    store = open_store(cfg.storage, clock);
  }
  if (!store)
    return fail(message_of(store.error()));
  auto registry = std::make_shared<handler_registry>();
  register_builtin_handlers(*registry, cfg.handlers, clock);
  caf::actor_system_config sys_cfg;
  init_caf(sys_cfg);
  apply_caf_tuning(sys_cfg, cfg.caf);
  caf::actor_system sys{sys_cfg};
  auto rcfg = cfg.runtime;
  if (cfg.storage.url.rfind("postgres", 0) == 0)
    rcfg.notify_url = cfg.storage.url;
  else if (rcfg.wake_sockets)
    rcfg.wake_dir = wake_dir_of(cfg.storage.url);
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
  int sig = 0;
  while ((sig = wait_for_signal(signals)) == SIGHUP) {
    reload(cur, rt, rcfg.run_workers, clock);
    rcfg.shutdown_deadline_ms = cur.cfg.runtime.shutdown_deadline_ms;
  }
  log_line(std::string{"received "} + (sig == SIGINT ? "SIGINT" : "SIGTERM")
           + ": stopping (running jobs get "
           + format_duration_ms(rcfg.shutdown_deadline_ms)
           + "; a second signal exits at once)");
  // A second stop signal ends the process at once: leases bring its jobs
  // back. A SIGHUP while stopping changes nothing.
  std::thread([signals] {
    while (wait_for_signal(signals) == SIGHUP) {
    }
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
  auto cl_as_given = cl; // load_config consumes flags; SIGHUP re-reads them
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
    return run_server({cl_as_given, cfg, hcfg}, false);
  }
  if (cmd == "serve")
    return run_server({cl_as_given, cfg, hcfg}, true);
  return fail("unknown command '" + cmd + "' (see jobd --help)");
}
