// The retention actor: deletes finished jobs past their age, in batches.
#pragma once

#include <caf/typed_actor.hpp>

#include "actors/type_ids.hpp"

namespace jobd {

using retention_actor = caf::typed_actor<
  // Internal timer: prune one round (batch after batch until none is left).
  caf::reacts_to<prune_atom>>;

} // namespace jobd
