// The schedule actor: creates the jobs of recurring schedules when their
// runs come due. Every process that runs workers has one; the store
// creates each (schedule, run time) once whichever process asks first
// (job_store::fire_schedule), so running many is safe and a run is not
// lost while any one of them is up.
#pragma once

#include <caf/typed_actor.hpp>

#include "actors/type_ids.hpp"

namespace jobd {

using schedule_actor = caf::typed_actor<
  // Internal timer N: look at the schedules now, create the runs due, and
  // set the next look (at the next run or after `refresh`, whichever comes
  // first). Only the timer armed last counts.
  caf::reacts_to<poll_atom, uint32_t>,
  // A schedule was created, changed, resumed or deleted through this
  // process: look again now rather than at the next refresh.
  caf::reacts_to<wake_atom>,
  // Live settings (SIGHUP): the new refresh interval applies from now.
  caf::reacts_to<reconfig_atom, schedule_actor_config>>;

} // namespace jobd
