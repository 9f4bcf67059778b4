// The retention actor: deletes finished jobs past their age, in batches.
#pragma once

#include <caf/typed_actor.hpp>

#include "actors/type_ids.hpp"

namespace jobd {

using retention_actor = caf::typed_actor<
  // Internal timer of timer chain N: prune one round (batch after batch
  // until none is left). A reconfigure starts a new chain.
  caf::reacts_to<prune_atom, uint32_t>,
  // Live settings (SIGHUP): if they differ, prune at once with them, then
  // every interval (never, if max_age is 0).
  caf::reacts_to<reconfig_atom, retention_config>>;

} // namespace jobd
