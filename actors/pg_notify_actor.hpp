// The PostgreSQL notification actor (PostgreSQL only): turns database
// notifications (LISTEN) into wake-ups of the scheduler, so idle workers on
// other machines start a job as soon as it is enqueued. A hint only:
// polling stays the fallback.
#pragma once

#include <caf/typed_actor.hpp>

#include "actors/type_ids.hpp"

namespace jobd {

using pg_notify_actor = caf::typed_actor<
  // Internal loop step: wait up to a second for a notification, wake the
  // scheduler if one came, then send itself the next step.
  caf::reacts_to<poll_atom>>;

} // namespace jobd
