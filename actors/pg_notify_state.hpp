// State of the PostgreSQL notification actor (interface:
// pg_notify_actor.hpp; behaviour: pg_notify_actor.cpp).
// It runs detached: pg_listener::wait blocks its own thread only, and exit
// messages are seen between waits (at most a second later).
#pragma once

#include <memory>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/pg_notify_actor.hpp"
#include "actors/pool_actor.hpp"
#include "actors/scheduler_actor.hpp"
#include "storage/postgres/pg_listener.hpp"

namespace jobd {

struct pg_notify_state {
  static inline const char* name = "jobd.pg_notify";
  std::shared_ptr<pg_listener> listener;
  /// Woken on each notification (the jobs channel); null for the other.
  scheduler_actor scheduler;
  /// Told to renew its leases on each notification (the settled
  /// channel); null for the other.
  pool_actor pool;
  /// Whether LISTEN was up after the last wait (logged when it changes).
  bool listening = false;
};

using pg_notify_ptr = pg_notify_actor::stateful_pointer<pg_notify_state>;

pg_notify_actor::behavior_type pg_notify_fn(pg_notify_ptr self,
                                          std::shared_ptr<pg_listener> l,
                                          scheduler_actor scheduler,
                                          pool_actor pool);

} // namespace jobd
