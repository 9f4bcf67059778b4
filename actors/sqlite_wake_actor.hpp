// The wake-up listener of a SQLite database shared by several processes
// (the mechanism, its guarantees and limits: wake_dir.hpp; the store actor
// tells the other processes itself, store_state.hpp). A hint only: the
// scheduler's poll stays the fallback.
#pragma once

#include <caf/typed_actor.hpp>

#include "actors/type_ids.hpp"

namespace jobd {

/// Receives the other processes' wake-ups (detached: it blocks in poll(2)
/// on its own thread, using no CPU while nothing comes).
using wake_inbox_actor = caf::typed_actor<
  // Internal loop step: wait for wake-ups (up to a few seconds), wake the
  // scheduler if any came (and the pool, to renew its leases now, if a job
  // was settled elsewhere), then send itself the next step; ends once its
  // inbox is stopped.
  caf::reacts_to<poll_atom>>;

} // namespace jobd
