// The scheduler: decides when to claim. It polls the store on a timer, is
// woken at once by in-process enqueues and by retries coming due, claims at
// most as many jobs as the pool has free handlers, and sweeps expired leases.
#pragma once

#include <caf/typed_actor.hpp>

#include "actors/type_ids.hpp"

namespace jobd {

using scheduler_actor = caf::typed_actor<
  // Work may be due now: claim if handlers are free.
  caf::reacts_to<wake_atom>,
  // Internal poll timer (a delayed message to itself), of timer chain N:
  // a reconfigure starts a new chain and the old one's ticks are dropped.
  caf::reacts_to<poll_atom, uint32_t>,
  // Internal lease-sweep timer, of timer chain N (as poll).
  caf::reacts_to<rescue_atom, uint32_t>,
  // From the pool: N more handlers are free (N may be negative).
  caf::reacts_to<slots_atom, int32_t>,
  // Live settings (SIGHUP): a new poll or rescue interval starts its timer
  // afresh; a new `slots` (the pool size) adds the difference to the free
  // handler count (claims stop until a shrunk pool's running jobs finish).
  caf::reacts_to<reconfig_atom, scheduler_config>,
  // Stop claiming (graceful shutdown). Replies once no claim is in flight.
  caf::replies_to<shutdown_atom>::with<bool>>;

/// The retry actor: turns failures into durable retries with backoff.
using retry_actor = caf::typed_actor<
  // A job's attempt failed with this outcome: store the retry (PENDING with
  // a later scheduledFor) or the final failure, and wake the registered
  // actor when the retry is due.
  caf::reacts_to<failed_atom, job, outcome>,
  // Internal: the same, again after a transient store error (try number).
  caf::reacts_to<failed_atom, job, outcome, int32_t>,
  // Registers the actor to wake when a retry comes due (the scheduler).
  caf::reacts_to<wake_atom, caf::actor>,
  // Live settings (SIGHUP): failures from now on use this backoff.
  caf::reacts_to<reconfig_atom, retry_config>,
  // Barrier for shutdown: replies once every failure received before it is
  // committed by the store.
  caf::replies_to<shutdown_atom>::with<bool>>;

} // namespace jobd
