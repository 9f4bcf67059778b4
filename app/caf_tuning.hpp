// [runtime]: how CAF's work-stealing scheduler threads wait for work.
//
// CAF 0.17.6's defaults (max(cores, 4) threads; after each actor a thread
// takes 500 sleeps of 50 us looking for more work before it waits on its
// condition variable, waking every 10 ms to steal) cost an idle `jobd
// worker` about 4 % of a core: every poll tick and store reply sends one or
// two threads through those 500 sleeps. jobd's defaults below keep idle
// processes under 0.2 % of a core with W1/W2 unchanged (README,
// "Benchmarks", lists what each setting was measured at).
//
// Latency does not depend on these sleeps: a message from outside the
// scheduler (a detached actor such as the store, an HTTP thread, a timer)
// wakes a waiting thread at once through its condition variable. Only work
// that a busy thread queued for itself waits for a steal, and a busy thread
// runs it next anyway.
#pragma once

#include <cstdint>

#include <caf/fwd.hpp>

#include "app/settings.hpp"

namespace jobd {

struct caf_tuning {
  /// Scheduler threads for event-based actors (CAF scheduler.max-threads);
  /// 0 = one per core, at least 2. Detached actors (store, listeners) and
  /// the HTTP io threads are extra.
  int32_t threads = 0;
  /// After running an actor, how many times a thread sleeps 50 us looking
  /// for more work before it waits to be woken (CAF
  /// work-stealing.moderate-poll-attempts; CAF's default is 500).
  int32_t busy_polls = 0;
  /// A waiting thread wakes this often to steal work queued on a busy
  /// thread (CAF work-stealing.relaxed-sleep-duration; CAF's default 10 ms).
  int64_t steal_interval_ms = 1'000;
};

/// Declares runtime.threads, runtime.busy_polls and runtime.steal_interval.
void add_caf_settings(settings& s, caf_tuning& t);

/// Puts the tuning into a CAF config, before the actor system starts.
void apply_caf_tuning(caf::actor_system_config& cfg, const caf_tuning& t);

} // namespace jobd
