// State of the schedule actor (interface: schedule_actor.hpp; behaviour:
// schedule_actor.cpp). A look reads every schedule from the store, asks
// due_runs (storage/rules.hpp) which runs are due and not yet created,
// oldest first, and asks the store actor to create each; then it sleeps
// until the next run of any schedule, but at most `refresh_ms`, so
// schedules made or changed by other processes are seen within it. One
// look is in flight at a time; a wake during one starts another after it.
#pragma once

#include <memory>

#include <caf/stateful_actor.hpp>

#include "actors/schedule_actor.hpp"
#include "actors/store_actor.hpp"
#include "storage/clock.hpp"

namespace jobd {

struct schedule_actor_config {
  /// The longest time between two looks at the schedules (schedule.refresh).
  /// A run is created within this of its time when the schedule was made
  /// in another process since the last look; otherwise at its time.
  /// Default 10 s.
  ms_t refresh_ms = 10'000;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f,
                                        schedule_actor_config& x) {
  return f(caf::meta::type_name("jobd::schedule_actor_config"), x.refresh_ms);
}

struct schedule_state {
  static inline const char* name = "jobd.schedules";
  schedule_actor_config cfg;
  store_actor store;
  std::shared_ptr<const clock_source> clock;
  /// The timer armed last: a poll of an older one is dropped (a wake or a
  /// reconfigure looked since, and armed its own).
  uint32_t chain = 0;
  /// A look is in flight (its reads or run creations not all answered).
  bool looking = false;
  /// A wake came during a look: look again when it ends.
  bool look_again = false;
};

using schedule_ptr = schedule_actor::stateful_pointer<schedule_state>;

schedule_actor::behavior_type
schedule_fn(schedule_ptr self, schedule_actor_config cfg, store_actor store,
            std::shared_ptr<const clock_source> clock);

} // namespace jobd
