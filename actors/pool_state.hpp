// State of the handler pool (interface: pool_actor.hpp; behaviour:
// pool_actor.cpp).
//
// Duties, in order:
// 1. Spawn N handler actors and monitor each.
// 2. Give each claimed job to an idle handler, respecting each job type's
//    max_concurrency(); jobs that cannot start yet wait in a FIFO queue
//    (they stay leased, and their leases are renewed).
// 2a. Prefetch: while recent jobs are short, let the scheduler claim up to
//    an allowance of jobs beyond the free handlers, so a handler that
//    finishes starts its next job at once instead of waiting for a claim's
//    commit. The allowance is workers x prefetch_wait / the mean run time of
//    recent jobs, at most `prefetch`: a queued job waits about prefetch_wait
//    at the recent pace, and a pool of slow jobs (over workers x
//    prefetch_wait each) holds none. If jobs turn slow while some wait, so
//    that the oldest queued job has waited over hand_back_after_ms (5 s),
//    the queued jobs beyond workers + allowance are handed back to PENDING
//    (not a retry; newest first), so other workers can run them. A handed
//    back job was claimed once more: its attempt number grows by one.
// 3. Every heartbeat interval, renew the leases of all jobs it holds.
// 3a. Self-fencing: each held job has a local deadline, the time its lease
//    was last extended (the job arrived, or a heartbeat request that
//    renewed it was sent) + lease -
//    fence_margin (the pool received the job just after its claim
//    committed). A job past its deadline (the database did not answer
//    the heartbeats: a partition, an outage) is stopped: its handler is
//    told to cancel, its outcome is dropped, queued ones are not started.
//    A job a heartbeat did not renew (another worker or an operator has it
//    now) is stopped the same way at once. Each is logged once and counted
//    (worker_counters). The promise: while clocks run at the same rate, a
//    job stops here before its lease can expire and the rescuer hand it to
//    another worker, with fence_margin to spare, if its handler heeds the
//    cancellation (run_context::is_cancelled; the built-in handlers do).
// 3b. Progress: while jobs run, every progress_interval, store the reports
//    their handlers made since the last time (only the latest of each), in
//    one write, one write in flight at a time. A job that finishes with a
//    report not yet stored has it written at once, before its outcome, so
//    a finished job shows its last progress. Fenced jobs report nothing.
// 3c. Timeouts: a job that runs longer than its timeout (job::timeout_ms,
//    else its type's in timeout_by_type, else job_timeout_ms; 0 = none) is
//    stopped like a fenced one (its handler told to cancel, its outcome
//    dropped) and its attempt fails at once, retryably, through the retry
//    actor: "timed out after N ms". Its handler stays busy until it
//    returns (a thread cannot be killed), so the pool never runs more
//    handlers than it has. Checked with the fencing (duty 3a): at least
//    once a second, and at the timeout when it is the next thing due.
// 4. When a handler reports an outcome: a success goes to the store as a
//    completion (one write in flight at a time; those finishing meanwhile
//    wait and go together), a failure to the retry actor; the handler is idle again and
//    the scheduler hears of the free slot.
// 5. When a handler dies, its job fails with the exit reason (and is retried
//    per the policy) and a new handler takes its place, unless shutting down.
// 6. On shutdown: hand queued jobs back at once, wait for running ones up to
//    the deadline, then hand those back (not counted as a retry) and ask
//    their handlers to cancel; an outcome arriving later is dropped (and
//    the store's fencing would ignore it anyway).
// 7. On reconfigure (SIGHUP): grow by spawning handlers; shrink by stopping
//    idle handlers and retiring busy ones when their job is done; with new
//    handlers, replace idle handlers now and busy ones after their job.
//    A job is never taken from a handler to resize the pool.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <map>
#include <memory>
#include <set>
#include <unordered_map>

#include <caf/stateful_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/handler_actor.hpp"
#include "actors/pool_actor.hpp"
#include "actors/retry_actor.hpp"
#include "actors/scheduler_actor.hpp"
#include "actors/store_actor.hpp"
#include "handlers/handler.hpp"
#include "storage/clock.hpp"

namespace jobd {

struct pool_config {
  /// Handler actors per process: how many jobs run at once. Default 10.
  int32_t workers = 10;
  /// How often leases of held jobs are renewed. Keep well below the lease
  /// (a third of it): two missed heartbeats must not lose a job.
  /// Default 10 s.
  ms_t heartbeat_interval_ms = 10'000;
  /// The lease a claim or heartbeat gives (the store's lease_ms). Default
  /// 30 s.
  ms_t lease_ms = 30'000;
  /// Self-fencing (duty 3a): a job whose lease was not renewed for
  /// lease_ms - this is stopped; 0 = lease_ms / 6. Must cover the time a
  /// claim or heartbeat takes to commit. Default 0.
  ms_t fence_margin_ms = 0;
  /// The clock of the fencing deadlines; null = the system clock.
  std::shared_ptr<const clock_source> clock;
  /// Where leases lost, jobs fenced and outcomes refused are counted;
  /// null = not counted.
  std::shared_ptr<worker_counters> counters;
  /// How often the progress handlers report is stored (duty 3b): at most
  /// one write per this interval for all running jobs. Default 1 s.
  ms_t progress_interval_ms = 1'000;
  /// How long an attempt may run when neither the job (timeoutMs) nor its
  /// type (timeout_by_type) says: duty 3c. 0 = no limit. Default 0.
  ms_t job_timeout_ms = 0;
  /// Each type's default timeout (0 or missing = job_timeout_ms).
  std::map<std::string, ms_t> timeout_by_type;
  /// Spawn handler actors detached (own thread each: handlers may block).
  /// Tests on the deterministic scheduler turn this off. Default true.
  bool detached = true;
  /// Most jobs held beyond the running ones (claimed and waiting in the
  /// pool's queue) while jobs are short; 0 = claim only for free handlers.
  /// A bound on memory and lease renewals: prefetch_wait sets how many are
  /// held. Default 1000.
  int32_t prefetch = 1000;
  /// How long a prefetched job may wait in the queue at the recent pace:
  /// the allowance is workers x this / the mean run time of recent jobs (at
  /// most `prefetch`). Default 20 ms.
  ms_t prefetch_wait_ms = 20;
  /// Times job runs for the prefetch allowance; null = the steady clock
  /// (microseconds). Tests pass a manual clock to make jobs "slow".
  std::shared_ptr<const clock_source> run_clock;
  /// If set, each handler appends "<job id> <attempt> <worker pid>\n" to
  /// this file as it starts a job: an audit trail of every start (the
  /// multi-process tests use it to prove no job ran twice). Default ""
  /// (off).
  std::string ledger_path;
};

/// What a reconfigure changes in a running pool.
struct pool_reconfig {
  /// The new pool size (handler actors), >= 1.
  int32_t workers = 10;
  /// New handlers for jobs started from now on; null = keep the current.
  std::shared_ptr<const handler_registry> registry;
  /// The new prefetch cap and wait (pool_config).
  int32_t prefetch = 1000;
  ms_t prefetch_wait_ms = 20;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, pool_reconfig& x) {
  // The registry is process-local and never leaves it; only the size shows.
  return f(caf::meta::type_name("jobd::pool_reconfig"), x.workers,
           x.prefetch, x.prefetch_wait_ms);
}

struct pool_state {
  static inline const char* name = "jobd.pool";

  struct running {
    job j;
    std::shared_ptr<std::atomic<bool>> cancel;
    std::shared_ptr<progress_slot> progress; ///< its handler's reports
    handler_actor handler; ///< the handler running it
    int64_t started_us = 0; ///< by run_clock (see pool_config)
    ms_t deadline = 0; ///< fencing deadline (duty 3a), by cfg.clock
    ms_t timeout_ms = 0; ///< its timeout (duty 3c); 0 = none
    ms_t timeout_at = 0; ///< when it times out, by cfg.clock; 0 = never
    bool fenced = false; ///< stopped: its outcome is dropped
    bool timed_out = false; ///< stopped by its timeout (duty 3c)
  };

  pool_config cfg;
  std::shared_ptr<const handler_registry> registry;
  store_actor store;
  retry_actor retry;
  scheduler_actor scheduler; ///< told of free slots

  std::vector<handler_actor> idle;
  /// Every live handler (idle or busy): keeps busy ones alive and lets the
  /// pool stop them all when it ends.
  std::shared_ptr<std::vector<handler_actor>> all_handlers
    = std::make_shared<std::vector<handler_actor>>();
  std::map<caf::actor_addr, running> busy;
  std::map<caf::actor_addr, std::shared_ptr<std::atomic<bool>>> cancel_flags;
  /// Each handler's progress slot (duty 3b).
  std::map<caf::actor_addr, std::shared_ptr<progress_slot>> progress_slots;
  struct queued {
    job j;
    int64_t since_us = 0; ///< claimed at, by run_clock
    ms_t deadline = 0; ///< fencing deadline (duty 3a), by cfg.clock
  };
  std::deque<queued> queue;
  std::unordered_map<std::string, int32_t> running_by_type;

  /// Handlers told to exit (pool shrunk, or handlers replaced); they still
  /// count in all_handlers until their down message arrives.
  std::set<caf::actor_addr> retiring;
  /// The registry generation each handler was spawned with; a reconfigure
  /// with new handlers bumps `generation`, and older handlers retire.
  std::map<caf::actor_addr, uint32_t> generation_of;
  uint32_t generation = 0;

  /// Completions waiting for the one write in flight (duty 4): they go
  /// to the store together when it returns.
  std::vector<completion> completions;
  bool completing = false;

  /// Mean run time of recent jobs in microseconds (exponentially weighted,
  /// 1/8 per job); negative until a job finished.
  double mean_run_us = -1;
  /// The prefetch allowance the scheduler was last told of (duty 2a).
  int32_t allowance = 0;
  /// Queued jobs may be handed back once the oldest waited this long.
  static constexpr int64_t hand_back_after_ms = 5'000;

  /// The fencing timer (duty 3a) is armed; it runs while jobs are held.
  bool fence_timer = false;
  /// The progress timer (duty 3b) is armed; it runs while jobs run.
  bool progress_timer = false;
  /// A progress write of the timer's is in flight.
  bool storing_progress = false;
  /// The last heartbeat failed (logged once until one works again).
  bool heartbeat_failing = false;

  bool stopping = false;
  bool finishing = false; ///< the final release is under way
  int64_t released = 0;
  caf::typed_response_promise<int64_t> shutdown_rp;
};

using pool_ptr = pool_actor::stateful_pointer<pool_state>;

/// The behaviour: spawns cfg.workers handlers running `reg`'s handlers,
/// writes completions through `store`, hands failures to `retry` and tells
/// `scheduler` of each freed slot.
pool_actor::behavior_type pool_fn(pool_ptr self, pool_config cfg,
                                  std::shared_ptr<const handler_registry> reg,
                                  store_actor store, retry_actor retry,
                                  scheduler_actor scheduler);

} // namespace jobd
