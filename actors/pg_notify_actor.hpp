// The PostgreSQL notification actors (PostgreSQL only): one turns database
// notifications on jobd_jobs into wake-ups of the scheduler, so idle
// workers on other machines start a job as soon as it is enqueued; the
// other turns those on jobd_settled (a job cancelled or settled by hand)
// into an early lease renewal of the pool, so a cancelled job stops at
// once. Hints only: polling and the heartbeat stay the fallback.
#pragma once

#include <caf/typed_actor.hpp>

#include "actors/type_ids.hpp"

namespace jobd {

using pg_notify_actor = caf::typed_actor<
  // Internal loop step: wait up to a second for a notification, wake the
  // scheduler (or the pool) if one came, then send itself the next step.
  caf::reacts_to<poll_atom>>;

} // namespace jobd
