// State and behaviour of the listener actor (interface: listener_actor.hpp).
// It runs detached: pg_listener::wait blocks its own thread only, and exit
// messages are seen between waits (at most a second later).
#pragma once

#include <memory>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/listener_actor.hpp"
#include "actors/scheduler_actor.hpp"
#include "storage/postgres/pg_listener.hpp"

namespace jobd {

struct listener_state {
  static inline const char* name = "jobd.listener";
  std::shared_ptr<pg_listener> listener;
  scheduler_actor scheduler;
  /// Whether LISTEN was up after the last wait (logged when it changes).
  bool listening = false;
};

using listener_ptr = listener_actor::stateful_pointer<listener_state>;

listener_actor::behavior_type listener_fn(listener_ptr self,
                                          std::shared_ptr<pg_listener> l,
                                          scheduler_actor scheduler);

} // namespace jobd
