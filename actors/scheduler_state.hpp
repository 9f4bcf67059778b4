// State of the scheduler (interface: scheduler_actor.hpp; behaviour:
// scheduler_actor.cpp).
//
// Duties, in order:
// 1. Know how many jobs the pool can take: free handlers plus its prefetch
//    allowance (starts at the pool size; the pool reports each freed slot
//    and each change of its allowance).
// 2. Claim due jobs, at most as many as the pool can take, and hand them
//    to the pool. One claim is in flight at a time; a wake that arrives
//    meanwhile triggers another claim when it returns.
// 3. Poll: a delayed message to itself every poll interval, so jobs enqueued
//    by other processes, and scheduled jobs coming due, are picked up.
// 4. Sweep: every rescue interval, ask the store to rescue jobs whose lease
//    expired (their worker died); the jobs then run again (at least once).
// 5. On shutdown, stop claiming.
// 6. On reconfigure (SIGHUP), take the new intervals and pool size at once.
#pragma once

#include <chrono>
#include <memory>

#include <caf/stateful_actor.hpp>

#include "actors/pool_actor.hpp"
#include "actors/scheduler_actor.hpp"
#include "storage/clock.hpp"
#include "actors/store_actor.hpp"

namespace jobd {

struct scheduler_config {
  /// How often the store is asked for due jobs when nothing wakes us. Wakes
  /// come at once for in-process enqueues and retries coming due, and from
  /// other processes (SQLite wake-up sockets, PostgreSQL NOTIFY), so the
  /// poll only bounds the pick-up delay of jobs scheduled for later and of
  /// a lost wake-up. An idle poll costs ~0.3 ms of CPU (thread wake-ups and
  /// one indexed read): at 250 ms that alone was 0.12 % of a core, over
  /// the idle budget of 0.2 % with the rest. Default 1 s.
  ms_t poll_interval_ms = 1'000;
  /// How often expired leases are swept. A dead worker's job waits its lease
  /// plus up to this long before it runs again. Default 5 s.
  ms_t rescue_interval_ms = 5'000;
  /// Free handler slots at start: the pool size. Default 10.
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
  /// Where claimed jobs go (the pool); null until the runtime says.
  job_runner pool;
  int32_t free_slots = 0;
  /// Most jobs claimed in one transaction; more free slots take several
  /// claims in a row. Keeps each write short, so other processes on the
  /// same database get their turn (SQLite has one writer at a time).
  static constexpr int32_t max_claim = 100;
  bool claim_in_flight = false;
  bool wake_pending = false; ///< a wake came while a claim was in flight
  bool stopping = false;
  /// Timer chains: ticks of an older chain are dropped (see reconfig).
  uint32_t poll_chain = 0;
  uint32_t rescue_chain = 0;

  /// An outage (claims failing with a transient error: the database down,
  /// locked, full): one log line when it starts and one when it ends, and
  /// one backoff for every claim, poll and wake alike (1 s doubling to
  /// max_backoff), instead of a line and a retry per failure.
  struct outage_state {
    bool on = false;
    ms_t since = 0; ///< by `clock`
    int32_t failures = 0;
    /// No claim before this (the backoff); a retry wake is armed for it.
    ms_t next_try = 0;
    bool retry_armed = false;
  } outage;
  static constexpr ms_t max_backoff_ms = 30'000;
  /// The outage's clock (the runtime's; manual in tests).
  std::shared_ptr<const clock_source> clock;
  /// Where outages and failed claims are counted; null = not counted.
  std::shared_ptr<worker_counters> counters;
};

using scheduler_ptr = scheduler_actor::stateful_pointer<scheduler_state>;

/// The behaviour. Registers itself with `store` for wake-ups, and claims
/// nothing until it is sent its pool (run_atom, job_runner).
scheduler_actor::behavior_type
scheduler_fn(scheduler_ptr self, scheduler_config cfg, store_actor store,
             std::shared_ptr<const clock_source> clock,
             std::shared_ptr<worker_counters> counters);

} // namespace jobd
