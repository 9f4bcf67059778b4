// The scheduler: decides when to claim. It polls the store on a timer, is
// woken at once by in-process enqueues and by retries coming due, claims at
// most as many jobs as the pool has free handlers plus its prefetch
// allowance (pool_state.hpp), and sweeps expired leases.
#pragma once

#include <caf/typed_actor.hpp>

#include "actors/type_ids.hpp"

namespace jobd {

using scheduler_actor = caf::typed_actor<
  // The pool to hand claimed jobs to. Sent once by the runtime right after
  // spawn (the pool is spawned knowing the scheduler, so one of the two
  // must learn of the other by message); nothing is claimed before it.
  caf::reacts_to<run_atom, job_runner>,
  // Work may be due now: claim if handlers are free.
  caf::reacts_to<wake_atom>,
  // Internal poll timer (a delayed message to itself), of timer chain N:
  // a reconfigure starts a new chain and the old one's ticks are dropped.
  caf::reacts_to<poll_atom, uint32_t>,
  // Internal lease-sweep timer, of timer chain N (as poll).
  caf::reacts_to<rescue_atom, uint32_t>,
  // From the pool: it can take N more jobs (N may be negative): a job
  // finished or was handed back, or its prefetch allowance changed.
  caf::reacts_to<slots_atom, int32_t>,
  // Live settings (SIGHUP): a new poll or rescue interval starts its timer
  // afresh; a new `slots` (the pool size) adds the difference to the free
  // handler count (claims stop until a shrunk pool's running jobs finish).
  caf::reacts_to<reconfig_atom, scheduler_config>,
  // Stop claiming (graceful shutdown). Replies once no claim is in flight.
  caf::replies_to<shutdown_atom>::with<bool>>;

} // namespace jobd
