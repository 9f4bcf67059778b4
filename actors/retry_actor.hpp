// The retry actor: turns failures into durable retries with backoff. The
// retry life cycle, step by step, is in retry_actor.cpp.
#pragma once

#include <caf/typed_actor.hpp>

#include "actors/type_ids.hpp"

namespace jobd {

using retry_actor = caf::typed_actor<
  // A job's attempt failed with this outcome: store the retry (PENDING with
  // a later scheduledFor) or the final failure, and wake the scheduler when
  // the retry is due.
  caf::reacts_to<failed_atom, job, outcome>,
  // Internal: the same, again after a transient store error (try number).
  caf::reacts_to<failed_atom, job, outcome, int32_t>,
  // Live settings (SIGHUP): failures from now on use this backoff.
  caf::reacts_to<reconfig_atom, retry_config>,
  // Barrier for shutdown: replies once every failure received before it is
  // committed by the store.
  caf::replies_to<shutdown_atom>::with<bool>>;

} // namespace jobd
