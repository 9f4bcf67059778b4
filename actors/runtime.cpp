#include "actors/runtime.hpp"

#include "actors/log.hpp"
#include "actors/pg_notify_state.hpp"
#include "storage/postgres/pg_store.hpp"
#include "actors/sqlite_wake_state.hpp"
#include "storage/errors.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace jobd {

std::vector<caf::actor> actors_of(const runtime& rt) {
  std::vector<caf::actor> out;
  for (auto a : {caf::actor_cast<caf::actor>(rt.scheduler),
                 caf::actor_cast<caf::actor>(rt.pool),
                 caf::actor_cast<caf::actor>(rt.retry),
                 caf::actor_cast<caf::actor>(rt.retention),
                 caf::actor_cast<caf::actor>(rt.schedules),
                 caf::actor_cast<caf::actor>(rt.pg_notify),
                 caf::actor_cast<caf::actor>(rt.pg_settled),
                 caf::actor_cast<caf::actor>(rt.store)})
    if (a)
      out.push_back(a);
  return out;
}

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_types<caf::id_block::jobd_storage>();
  cfg.add_message_types<caf::id_block::jobd_handlers>();
  cfg.add_message_types<caf::id_block::jobd_actors>();
}

runtime start_runtime(caf::actor_system& sys, std::unique_ptr<job_store> store,
                      std::shared_ptr<const handler_registry> handlers,
                      const runtime_config& cfg,
                      std::shared_ptr<const clock_source> clock) {
  runtime rt;
  auto store_cfg = cfg.store;
  if (!store_cfg.clock)
    store_cfg.clock = clock;
  store_cfg.retry = cfg.retry;
  // SQLite wake-ups: a worker listens on its own socket; every process
  // (an API node too) tells the others after its commits.
  std::shared_ptr<wake_inbox> inbox;
  if (!cfg.wake_dir.empty()) {
    if (cfg.run_workers)
      inbox = open_wake_inbox(cfg.wake_dir);
    store_cfg.wake_others = std::make_shared<wake_notifier>(
      cfg.wake_dir, inbox ? inbox->name() : std::string{});
  }
  rt.store = spawn_store_actor(sys, std::move(store), std::move(store_cfg));
  if (!cfg.run_workers)
    return rt;
  auto sched_cfg = cfg.scheduler;
  sched_cfg.slots = cfg.pool.workers;
  rt.counters = std::make_shared<worker_counters>();
  rt.scheduler = sys.spawn(scheduler_fn, sched_cfg, rt.store, clock,
                           rt.counters);
  rt.retry = sys.spawn(retry_fn, cfg.retry, rt.store, rt.scheduler);
  auto pool_cfg = cfg.pool;
  pool_cfg.lease_ms = cfg.store.lease_ms;
  if (!pool_cfg.clock)
    pool_cfg.clock = clock;
  pool_cfg.counters = rt.counters;
  rt.pool = sys.spawn(pool_fn, pool_cfg, handlers, rt.store, rt.retry,
                      rt.scheduler);
  // The scheduler claims nothing until it knows where jobs go.
  caf::anon_send(rt.scheduler, run_atom::value, job_runner{rt.pool});
  // Jobs cancelled or settled by hand through this process stop at once.
  caf::anon_send(rt.store, caf::subscribe_atom::value, settle_listener{rt.pool});
  rt.retention = sys.spawn(retention_fn, cfg.retention, rt.store, clock);
  rt.schedules = sys.spawn(schedule_fn, cfg.schedules, rt.store, clock);
  caf::anon_send(rt.store, schedules_atom::value, wake_listener{rt.schedules});
  if (inbox)
    rt.wake = start_wake_listener(sys, rt.store, rt.scheduler, rt.pool,
                                  std::move(inbox));
  if (!cfg.notify_url.empty()) {
    // A server that is down or restarting as the worker starts must not
    // cost the wake-ups for the life of the process: the listener keeps
    // trying (with backoff), and says when it is lost and back.
    pg_listener_options opts;
    opts.retry_first_connect = true;
    auto l = pg_listener::open(cfg.notify_url, opts);
    if (l) {
      std::shared_ptr<pg_listener> shared{std::move(*l)};
      rt.pg_notify = sys.spawn<caf::detached>(pg_notify_fn, shared,
                                              rt.scheduler, pool_actor{});
      // Cancels by hand in other processes: a second connection, LISTEN
      // jobd_settled, renewing this pool's leases at once.
      auto so = opts;
      so.channel = pg_settled_channel;
      if (auto s = pg_listener::open(cfg.notify_url, so))
        rt.pg_settled = sys.spawn<caf::detached>(
          pg_notify_fn, std::shared_ptr<pg_listener>{std::move(*s)},
          scheduler_actor{}, rt.pool);
    } else {
      // Only a malformed URL gets here. Polling still finds every job.
      log_line("LISTEN unavailable, relying on polling: "
               + message_of(l.error()));
    }
  }
  return rt;
}

void reconfigure_runtime(const runtime& rt, const runtime_config& cfg,
                         std::shared_ptr<const handler_registry> handlers) {
  if (!rt.scheduler)
    return;
  caf::anon_send(rt.retry, reconfig_atom::value, cfg.retry);
  caf::anon_send(rt.pool, reconfig_atom::value,
                 pool_reconfig{cfg.pool.workers, std::move(handlers),
                               cfg.pool.prefetch, cfg.pool.prefetch_wait_ms});
  auto sched_cfg = cfg.scheduler;
  sched_cfg.slots = cfg.pool.workers;
  caf::anon_send(rt.scheduler, reconfig_atom::value, sched_cfg);
  caf::anon_send(rt.retention, reconfig_atom::value, cfg.retention);
  caf::anon_send(rt.schedules, reconfig_atom::value, cfg.schedules);
}

caf::expected<int64_t> stop_runtime(caf::actor_system& sys, runtime& rt,
                                    ms_t deadline_ms) {
  caf::scoped_actor self{sys};
  caf::expected<int64_t> released{int64_t{0}};
  if (rt.scheduler) {
    self->request(rt.scheduler, caf::infinite, shutdown_atom::value)
      .receive([](bool) {}, [](caf::error&) {});
    self->request(rt.pool, caf::infinite, shutdown_atom::value, deadline_ms)
      .receive([&](int64_t n) { released = n; },
               [&](caf::error& err) { released = std::move(err); });
    // Failures the pool forwarded before it replied are committed before
    // the retry actor answers this barrier.
    self->request(rt.retry, caf::infinite, shutdown_atom::value)
      .receive([](bool) {}, [](caf::error&) {});
  }
  {
    // Completions the pool sent are committed before this is answered.
    self->request(rt.store, caf::infinite, release_atom::value,
                  std::vector<lease_ref>{})
      .receive([](int64_t) {}, [](caf::error&) {});
  }
  if (rt.wake) // gone before we return: main may _Exit right after
    rt.wake->stop();
  for (auto& a : actors_of(rt))
    self->send_exit(a, caf::exit_reason::user_shutdown);
  // The store's connection closes when its actor ends.
  self->wait_for(rt.store);
  return released;
}

} // namespace jobd
