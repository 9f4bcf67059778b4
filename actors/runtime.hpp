// The worker runtime of one process: store actor, scheduler, retry actor and
// handler pool, wired together; and its graceful stop.
//
// What happens on crash (kill -9, power loss): jobs this process held stay
// PROCESSING until their lease runs out; then any process's lease sweep
// hands them back to PENDING (counting a retry) and they run again. Writes
// acknowledged before the crash are durable (SQLite synchronous=FULL).
#pragma once

#include <memory>

#include <caf/actor_system.hpp>

#include "actors/pg_notify_actor.hpp"
#include "actors/pool_state.hpp"
#include "actors/retry_state.hpp"
#include "actors/retention_actor.hpp"
#include "actors/retention_state.hpp"
#include "actors/schedule_actor.hpp"
#include "actors/schedule_state.hpp"
#include "actors/scheduler_state.hpp"
#include "actors/store_state.hpp"
#include "storage/sqlite/wake_dir.hpp"

namespace jobd {

struct runtime_config {
  store_actor_config store;
  scheduler_config scheduler;
  pool_config pool;
  retry_config retry;
  retention_config retention;
  schedule_actor_config schedules;
  /// A postgresql:// URL to LISTEN on for wake-ups; empty = none (SQLite).
  std::string notify_url;
  /// SQLite: the wake-up directory shared with the other processes on the
  /// database (wake_dir_of, storage/sqlite/wake_dir.hpp); empty = none.
  std::string wake_dir;
  /// storage.wake_sockets: whether a SQLite process sets wake_dir.
  bool wake_sockets = true;
  /// How long a graceful stop waits for running jobs before handing them
  /// back. Keep it below your process manager's kill timeout (systemd's
  /// default is 90 s, Kubernetes' 30 s).
  ms_t shutdown_deadline_ms = 20'000;
  /// Run the scheduler and pool (false: API-only node, store actor only).
  bool run_workers = true;
};

struct runtime {
  store_actor store;
  scheduler_actor scheduler; ///< null when !run_workers
  pool_actor pool;           ///< null when !run_workers
  retry_actor retry;         ///< null when !run_workers
  retention_actor retention; ///< null when !run_workers
  schedule_actor schedules;  ///< null when !run_workers
  pg_notify_actor pg_notify; ///< null unless notify_url is set
  pg_notify_actor pg_settled; ///< null unless notify_url is set
  /// This process's wake-up socket (SQLite); null unless it listens.
  std::shared_ptr<wake_inbox> wake;
  /// What the pool's leases went through (for /metrics); null when
  /// !run_workers.
  std::shared_ptr<worker_counters> counters;
};

/// Every actor of the runtime (those spawned), store last.
std::vector<caf::actor> actors_of(const runtime& rt);

/// Registers jobd's message types with a config (before the system starts).
void register_types(caf::actor_system_config& cfg);

/// Spawns and wires the actors. The store actor takes the store.
/// `clock` is the store's clock (retention ages jobs by it).
runtime start_runtime(caf::actor_system& sys, std::unique_ptr<job_store> store,
                      std::shared_ptr<const handler_registry> handlers,
                      const runtime_config& cfg,
                      std::shared_ptr<const clock_source> clock
                      = std::make_shared<system_clock_source>());

/// Applies the settings of `cfg` that can change while jobs run (SIGHUP):
/// pool size, poll and rescue intervals, retry backoff, retention; and new
/// `handlers` for jobs started from now on (null = keep them). No job is
/// dropped or run again: a smaller pool retires handlers as their jobs
/// finish. Returns at once; each actor applies its part after the messages
/// already queued to it. Does nothing on an API-only runtime.
/// REQUIRES: cfg.pool.workers >= 1.
void reconfigure_runtime(const runtime& rt, const runtime_config& cfg,
                         std::shared_ptr<const handler_registry> handlers);

/// Graceful stop, blocking the caller: stop claiming, let running jobs
/// finish up to the deadline, hand back the rest (PENDING, not counted as a
/// retry), commit everything, then terminate the actors. Returns how many
/// jobs were handed back.
caf::expected<int64_t> stop_runtime(caf::actor_system& sys, runtime& rt,
                                    ms_t deadline_ms);

} // namespace jobd
