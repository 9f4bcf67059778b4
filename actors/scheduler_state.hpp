// State and behaviour of the scheduler and the retry actor
// (interfaces: scheduler_actor.hpp).
//
// Scheduler duties, in order:
// 1. Know how many handlers are free (starts at the pool size; the pool
//    reports each freed slot).
// 2. Claim due jobs, at most as many as there are free handlers, and hand
//    them to the pool. One claim is in flight at a time; a wake that arrives
//    meanwhile triggers another claim when it returns.
// 3. Poll: a delayed message to itself every poll interval, so jobs enqueued
//    by other processes, and scheduled jobs coming due, are picked up.
// 4. Sweep: every rescue interval, ask the store to rescue jobs whose lease
//    expired (their worker died); the jobs then run again (at least once).
// 5. On shutdown, stop claiming.
// 6. On reconfigure (SIGHUP), take the new intervals and pool size at once.
//
// Retry actor duties (the retry life cycle, step by step):
// 1. A handler's failure arrives with the job as claimed (its retry_count).
// 2. Delay = backoff_for(retry_count): base * 2^retry_count capped at `cap`,
//    less up to `jitter` of it at random (so retries of a burst spread out),
//    but never sooner than the handler's Retry-After.
// 3. The store records it in one statement: PENDING with retry_count+1 and
//    scheduledFor = now + delay, or FAILED if permanent or out of retries.
//    The row is the truth: a retry survives a restart.
// 4. A timer wakes the scheduler when the retry is due, so it runs on time
//    rather than at the next poll.
#pragma once

#include <random>

#include <caf/stateful_actor.hpp>

#include "actors/pool_actor.hpp"
#include "actors/scheduler_actor.hpp"
#include "actors/store_actor.hpp"

namespace jobd {

struct scheduler_config {
  /// How often the store is asked for due jobs when nothing wakes us. An idle
  /// poll is one indexed read (no write lock, no fsync), so 4 per second
  /// costs nothing measurable and bounds the pick-up delay of jobs enqueued
  /// by other processes (CLI, other API nodes) and of scheduled jobs to
  /// 250 ms. In-process enqueues and retries wake the scheduler at once.
  ms_t poll_interval_ms = 250;
  /// How often expired leases are swept. A dead worker's job waits its lease
  /// plus up to this long before it runs again.
  ms_t rescue_interval_ms = 5'000;
  /// Free handler slots at start: the pool size.
  int32_t slots = 10;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, scheduler_config& x) {
  return f(caf::meta::type_name("jobd::scheduler_config"), x.poll_interval_ms,
           x.rescue_interval_ms, x.slots);
}

struct scheduler_state {
  static inline const char* name = "jobd.scheduler";
  scheduler_config cfg;
  store_actor store;
  pool_actor pool;
  int32_t free_slots = 0;
  bool claim_in_flight = false;
  bool wake_pending = false; ///< a wake came while a claim was in flight
  bool stopping = false;
  /// Timer chains: ticks of an older chain are dropped (see reconfig).
  uint32_t poll_chain = 0;
  uint32_t rescue_chain = 0;
};

using scheduler_ptr = scheduler_actor::stateful_pointer<scheduler_state>;

scheduler_actor::behavior_type scheduler_fn(scheduler_ptr self,
                                            scheduler_config cfg,
                                            store_actor store, pool_actor pool);

struct retry_config {
  /// Backoff before the first retry; doubles with each retry.
  ms_t base_ms = 1'000;
  /// Longest backoff.
  ms_t cap_ms = 30'000;
  /// Fraction of the backoff taken off at random (0 = exact, 0.2 = up to 20%
  /// sooner), so jobs that failed together do not retry together.
  double jitter = 0.2;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, retry_config& x) {
  return f(caf::meta::type_name("jobd::retry_config"), x.base_ms, x.cap_ms,
           x.jitter);
}

/// base * 2^retry_count, capped; with jitter taken off using `rng` in [0,1).
ms_t backoff_for(int32_t retry_count, const retry_config& cfg,
                 double random01 = 0.0);

struct retry_state {
  static inline const char* name = "jobd.retry";
  retry_config cfg;
  store_actor store;
  caf::actor wake_target;
  std::mt19937_64 rng{std::random_device{}()};
};

using retry_ptr = retry_actor::stateful_pointer<retry_state>;

retry_actor::behavior_type retry_fn(retry_ptr self, retry_config cfg,
                                    store_actor store);

} // namespace jobd
