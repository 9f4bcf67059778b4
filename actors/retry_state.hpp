// State of the retry actor (interface: retry_actor.hpp; behaviour and the
// retry life cycle: retry_actor.cpp).
#pragma once

#include <random>

#include <caf/stateful_actor.hpp>

#include "actors/retry_actor.hpp"
#include "actors/scheduler_actor.hpp"
#include "actors/store_actor.hpp"

namespace jobd {

struct retry_config {
  /// Backoff before the first retry; doubles with each retry. Default 1 s.
  ms_t base_ms = 1'000;
  /// Longest backoff. Default 30 s.
  ms_t cap_ms = 30'000;
  /// Fraction of the backoff taken off at random (0 = exact, 0.2 = up to 20%
  /// sooner), so jobs that failed together do not retry together.
  /// Default 0.2.
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
  /// Woken when a retry comes due.
  scheduler_actor scheduler;
  std::mt19937_64 rng{std::random_device{}()};
};

using retry_ptr = retry_actor::stateful_pointer<retry_state>;

/// The behaviour: records failures through `store` and wakes `scheduler`
/// when each retry is due.
retry_actor::behavior_type retry_fn(retry_ptr self, retry_config cfg,
                                    store_actor store,
                                    scheduler_actor scheduler);

} // namespace jobd
