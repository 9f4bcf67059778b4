// `jobd serve` and `jobd worker`: start-up (storage, handlers, the actor
// runtime, the HTTP server), signals (stop, reload) and the graceful stop.
#include "app/serve.hpp"

#include <algorithm>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <set>
#include <thread>
#include <tuple>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/log.hpp"
#include "actors/reader_actor.hpp"
#include "actors/runtime.hpp"
#include "app/sd_notify.hpp"
#include "storage/sqlite/wake_dir.hpp"
#include "handlers/builtin.hpp"
#include "http/server.hpp"
#include "storage/postgres/pg_conninfo.hpp"

namespace jobd {

void init_caf(caf::actor_system_config& cfg, const caf_tuning& tuning) {
  register_types(cfg);
  cfg.set("logger.verbosity", caf::atom("quiet"));
  cfg.set("logger.console", caf::atom("none"));
  apply_caf_tuning(cfg, tuning);
}

int exit_with_error(const std::string& msg) {
  std::cerr << "jobd: " << msg << std::endl;
  return 2;
}

namespace {



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

// wait_for_signal, telling systemd's watchdog every `ping_ms` meanwhile
// (0: no watchdog).
int wait_for_signal_pinging(const sigset_t& set, int64_t ping_ms) {
  if (ping_ms <= 0)
    return wait_for_signal(set);
  for (;;) {
    timespec ts{static_cast<time_t>(ping_ms / 1000),
                static_cast<long>((ping_ms % 1000) * 1'000'000)};
    int sig = sigtimedwait(&set, nullptr, &ts);
    if (sig > 0)
      return sig;
    sd_notify("WATCHDOG=1");
  }
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
    "worker.shutdown_deadline", "worker.prefetch", "worker.prefetch_wait"};
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
  if (name == "storage.db") {
    auto shown = storage_for_log(v);
    return "'" + shown + "'";
  }
  return "'" + v + "'";
}

// Whether two sets of [types.NAME] sections define the same types.
bool same_types(const std::map<std::string, type_config>& a,
                const std::map<std::string, type_config>& b) {
  auto key = [](const type_config& t) {
    return std::tie(t.handler, t.schema, t.timeout_ms, t.max_concurrency,
                    t.url, t.secret, t.secret_env, t.command, t.cwd,
                    t.max_output_bytes);
  };
  return a.size() == b.size()
         && std::equal(a.begin(), a.end(), b.begin(),
                       [&](const auto& x, const auto& y) {
                         return x.first == y.first
                                && key(x.second) == key(y.second);
                       });
}

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
  add_http_settings(s_next, next.cfg.http);
  add_core_settings(s_cur, cur.cfg);
  add_http_settings(s_cur, cur.cfg.http);
  auto err = load_config(next.cl, s_next, next.cfg);
  if (!err.empty()) {
    log_line("reload: " + err + "; keeping the settings in force");
    return;
  }
  // [types.NAME] sections need a restart: the types in force stay (and
  // their attempt timeouts).
  if (!same_types(cur.cfg.types, next.cfg.types))
    log_line("reload: [types.*] sections changed; restart to apply, keeping "
             "the job types in force");
  auto& timeouts = next.cfg.runtime.pool.timeout_by_type;
  for (auto& kv : next.cfg.types)
    timeouts.erase(kv.first);
  next.cfg.types = cur.cfg.types;
  for (auto& [name, t] : next.cfg.types)
    timeouts[name] = type_timeout_ms(t);
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
    register_configured_handlers(*registry, next.cfg, clock);
  }
  reconfigure_runtime(rt, next.cfg.runtime, registry);
  std::string list;
  for (auto& a : applied)
    list += (list.empty() ? "" : ", ") + a;
  log_line("reload: applied " + list);
  cur.cfg = next.cfg;
}


} // namespace

int run_server(server_settings cur, bool with_http) {
  auto signals = block_signals();
  const auto& cfg = cur.cfg;
  const auto& hcfg = cur.cfg.http;
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
      return exit_with_error("stopped while waiting for the database");
    store = open_store(cfg.storage, clock);
  }
  if (!store)
    return exit_with_error(message_of(store.error()));
  auto registry = std::make_shared<handler_registry>();
  register_configured_handlers(*registry, cfg, clock);
  // Types served by external workers are marked in the database, so no
  // process's pool claims their jobs; those this process runs are unmarked
  // (a type moved back into jobd).
  if (auto err = (*store)->declare_types(registry->external_types(),
                                         registry->in_process_types()))
    return exit_with_error("[types]: " + message_of(err));
  // The config file's schedules are written at each start (created, or
  // redefined keeping their pause and last run).
  for (auto& [name, sch] : cfg.schedules) {
    auto where = "[schedule." + name + "] ";
    auto types = registry->types();
    if (std::find(types.begin(), types.end(), sch.type) == types.end()) {
      std::string list;
      for (auto& t : types)
        list += (list.empty() ? "" : ", ") + t;
      return exit_with_error(where + "type = '" + sch.type
                             + "' is not a job type this jobd runs (" + list
                             + ")");
    }
    if (auto put = (*store)->put_schedule(sch); !put)
      return exit_with_error(where + message_of(put.error()));
  }
  caf::actor_system_config sys_cfg;
  init_caf(sys_cfg, cfg.caf);
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
  read_pool readers;
  if (with_http && cfg.storage.read_connections > 0
      && supports_read_pool(cfg.storage.url)) {
    // After start_runtime: the writer has created the schema by now.
    auto pool = start_read_pool(sys, cfg.storage,
                                cfg.storage.read_connections, clock);
    if (!pool) {
      stop_runtime(sys, rt, 0);
      std::fflush(nullptr);
      std::_Exit(exit_with_error(
        "storage.read_connections: cannot open a read-only connection: "
        + message_of(pool.error())));
    }
    readers = std::move(*pool);
  }
  if (with_http) {
    auto srv = http_server::start(sys, hcfg, rt.store, registry, readers,
                                  rt.counters);
    if (!srv) {
      stop_read_pool(sys, readers);
      stop_runtime(sys, rt, 0);
      std::fflush(nullptr);
      std::_Exit(exit_with_error(message_of(srv.error())));
    }
    http = std::move(*srv);
    log_line("dashboard: http://" + hcfg.bind + ":"
             + std::to_string(http->port()) + "/jobs");
  }
  auto started = std::string{with_http ? "serve" : "worker"} + " started: "
                 + std::to_string(rcfg.run_workers ? rcfg.pool.workers : 0)
                 + " handler(s), storage "
                 + storage_for_log(cfg.storage.url);
  log_line(started);
  // systemd (Type=notify): ready once the store is open and the server
  // listens; the watchdog hears from this thread while it waits.
  sd_notify("READY=1\nSTATUS=" + started);
  auto ping_ms = sd_watchdog_ping_ms();
  int sig = 0;
  while ((sig = wait_for_signal_pinging(signals, ping_ms)) == SIGHUP) {
    sd_notify("RELOADING=1");
    reload(cur, rt, rcfg.run_workers, clock);
    rcfg.shutdown_deadline_ms = cur.cfg.runtime.shutdown_deadline_ms;
    sd_notify("READY=1");
  }
  log_line(std::string{"received "} + (sig == SIGINT ? "SIGINT" : "SIGTERM")
           + ": stopping (running jobs get "
           + format_duration_ms(rcfg.shutdown_deadline_ms)
           + "; a second signal exits at once)");
  sd_notify("STOPPING=1\nSTATUS=stopping: running jobs get "
            + format_duration_ms(rcfg.shutdown_deadline_ms));
  // A second stop signal ends the process at once: leases bring its jobs
  // back. A SIGHUP while stopping changes nothing.
  std::thread([signals] {
    while (wait_for_signal(signals) == SIGHUP) {
    }
    std::_Exit(1);
  }).detach();
  if (http)
    http->stop();
  // Readers close before the writer, which then removes the WAL.
  stop_read_pool(sys, readers);
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

} // namespace jobd
