// Per-type request and token budgets for calls to a rate-limited API (the
// OpenAI handlers). A job that finds the budget spent waits for it, in short
// slices so a shutdown is noticed, rather than failing: the API would only
// answer 429 and the job would burn a retry.
//
// The model is a token bucket per budget, as OpenAI describes its own
// limits: a bucket holds at most one minute's budget, starts full, and
// refills continuously at budget/60000 per millisecond. A call takes one
// request and its estimated tokens; once the real usage is known, settle()
// gives back (or takes) the difference.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "storage/clock.hpp"

namespace jobd {

/// Budgets per minute; 0 means unlimited.
struct rate_limits {
  int64_t requests_per_minute = 0; ///< default 0 (unlimited)
  int64_t tokens_per_minute = 0;   ///< default 0 (unlimited)
};

/// Sleeps for about `ms` milliseconds. Tests pass one that advances a
/// manual_clock instead, so waiting costs no real time.
using sleep_fn = std::function<void(ms_t ms)>;

/// The real sleep (std::this_thread::sleep_for).
void sleep_real(ms_t ms);

/// Thread-safe. Waiters are not served in arrival order: whoever asks after
/// the budget refilled gets it (the waits are short and fairness between
/// jobs of one type does not matter here).
class rate_limiter {
public:
  /// The longest single sleep while waiting, so cancellation is seen
  /// within about this long.
  static constexpr ms_t max_sleep_slice_ms = 100;

  /// REQUIRES: limits are >= 0 and `clock` is not null.
  rate_limiter(rate_limits limits, std::shared_ptr<const clock_source> clock,
               sleep_fn sleep = sleep_real);

  /// Waits until one request costing `tokens` fits both budgets, then takes
  /// it. A request larger than a whole minute's token budget waits for a
  /// full bucket and then drives it negative (it could never fit
  /// otherwise). Returns false, taking nothing, once `cancelled()` returns
  /// true while waiting.
  bool acquire(int64_t tokens, const std::function<bool()>& cancelled);

  /// Corrects a taken estimate with the real usage: gives back
  /// `estimated - actual` tokens (takes more when the estimate was low).
  void settle(int64_t estimated, int64_t actual);

  /// How long acquire(tokens) would wait if called now (0 = at once).
  ms_t wait_ms(int64_t tokens) const;

  const rate_limits& limits() const { return limits_; }

private:
  // One budget. Amounts are scaled by 60000 (ms per minute) so refilling
  // `per_minute` units per minute is exact integer arithmetic.
  struct bucket {
    int64_t per_minute = 0; // 0 = unlimited
    int64_t level = 0;      // scaled; may go negative after settle()

    int64_t capacity() const { return per_minute * 60000; }
    void refill(ms_t elapsed);
    ms_t wait_ms(int64_t amount) const;
  };

  void refill_locked(ms_t now) const;
  ms_t wait_locked(int64_t tokens) const;

  rate_limits limits_;
  std::shared_ptr<const clock_source> clock_;
  sleep_fn sleep_;
  mutable std::mutex mtx_;
  mutable bucket requests_;
  mutable bucket tokens_;
  mutable ms_t last_refill_ = 0;
};

} // namespace jobd
