// A handler actor: runs one job at a time with the handler registered for
// its type, then sends (done_atom, outcome) to its pool. Blocking is fine:
// the pool spawns it detached in production.
#pragma once

#include <caf/typed_actor.hpp>

#include "actors/type_ids.hpp"

namespace jobd {

using handler_actor = caf::typed_actor<
  // Runs the job with the registered handler of its type; the outcome goes
  // to the pool as (done_atom, outcome), sent (not anonymous): the pool
  // knows the job by its sender.
  caf::reacts_to<run_atom, job>>;

} // namespace jobd
