// The handler pool: a supervisor owning N handler actors. It runs claimed
// jobs, renews their leases while they run, reports outcomes (completions to
// the store, failures to the retry actor) and replaces handlers that die.
#pragma once

#include <atomic>
#include <cstdint>

#include <caf/typed_actor.hpp>

#include "actors/type_ids.hpp"
#include "storage/job.hpp"

namespace jobd {

/// What a worker's leases and claims went through, for /metrics. Shared by
/// the pool and the scheduler (which count) and the HTTP server (which
/// shows them).
struct worker_counters {
  /// Heartbeats that did not renew a job's lease: someone else holds it.
  std::atomic<int64_t> leases_lost{0};
  /// Jobs stopped because their leases could not be renewed in time.
  std::atomic<int64_t> jobs_fenced{0};
  /// Completions the store refused: the attempt no longer held the job.
  std::atomic<int64_t> outcomes_refused{0};
  /// Outages seen by the scheduler: runs of claims failing with a
  /// transient error (the database down, locked, full).
  std::atomic<int64_t> database_outages{0};
  /// Claims that failed with such an error.
  std::atomic<int64_t> claims_failed{0};
};

using pool_actor = caf::typed_actor<
  // Runs these claimed jobs (queued if no handler or type slot is free).
  // The scheduler it was spawned with gets (slots_atom, +1) as each one
  // finishes or is handed back, and (slots_atom, +/-N) as the prefetch
  // allowance changes (pool_state.hpp, duty 2a).
  caf::reacts_to<run_atom, std::vector<job>>,
  // From a handler: the job it was running finished with this outcome.
  caf::reacts_to<done_atom, outcome>,
  // Internal: record a completion (ref, result JSON, try number) again
  // after a transient store error (database restarting, locked).
  caf::reacts_to<complete_atom, lease_ref, std::string, int32_t>,
  // From the store actor: attempt `ref` was cancelled or settled by hand
  // (the job is no longer PROCESSING). If it runs here its handler is told
  // to stop and its outcome dropped; if it is queued it never starts.
  caf::reacts_to<cancel_atom, lease_ref>,
  // Internal timer: store the progress reports of running jobs
  // (pool_state.hpp, duty 3b).
  caf::reacts_to<progress_atom>,
  // Internal timer: renew the leases of running and queued jobs.
  caf::reacts_to<heartbeat_atom>,
  // From the wake-up listener: a job was cancelled or settled by hand in
  // another process. Renews the leases now (off the timer): one this
  // process no longer holds stops its job, as at a heartbeat.
  caf::reacts_to<cancel_atom>,
  // Internal timer: stop the jobs whose leases this process could not
  // renew in time (self-fencing, pool_state.hpp duty 3a).
  caf::reacts_to<fence_atom>,
  // Graceful stop: take no more jobs, hand queued ones back at once, let
  // running ones finish for up to N ms, then hand those back too. Replies
  // with the number of jobs handed back once nothing is running.
  caf::replies_to<shutdown_atom, ms_t>::with<int64_t>,
  // Internal: the shutdown deadline passed.
  caf::reacts_to<release_atom>,
  // (running, queued) counts.
  caf::replies_to<status_atom>::with<int32_t, int32_t>,
  // Live settings (SIGHUP): a larger pool spawns handlers at once; a
  // smaller one stops idle handlers and retires busy ones as their jobs
  // finish (no job is dropped). New handlers (a non-null registry) apply to
  // jobs started from now on: idle handlers are replaced at once, busy
  // ones after their job.
  caf::reacts_to<reconfig_atom, pool_reconfig>,
  // (handlers alive, pool size wanted); alive counts retiring ones.
  caf::replies_to<slots_atom>::with<int32_t, int32_t>>;

} // namespace jobd
