#include "handlers/rate_limiter.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

namespace jobd {

namespace {

constexpr int64_t ms_per_minute = 60000;

} // namespace

void sleep_real(ms_t ms) {
  std::this_thread::sleep_for(std::chrono::milliseconds(ms));
}

void rate_limiter::bucket::refill(ms_t elapsed) {
  if (per_minute == 0 || elapsed <= 0)
    return;
  if (level >= capacity())
    return;
  // Time past the moment the bucket is full adds nothing; capping it keeps
  // the product below overflow after a long idle gap.
  auto to_full = (capacity() - level + per_minute - 1) / per_minute;
  level = std::min(capacity(), level + std::min(elapsed, to_full) * per_minute);
}

ms_t rate_limiter::bucket::wait_ms(int64_t amount) const {
  if (per_minute == 0)
    return 0;
  auto need = std::min(amount, per_minute) * ms_per_minute;
  if (level >= need)
    return 0;
  // Refill is per_minute scaled units per ms; round up so that after the
  // wait the amount really fits.
  return (need - level + per_minute - 1) / per_minute;
}

rate_limiter::rate_limiter(rate_limits limits,
                           std::shared_ptr<const clock_source> clock,
                           sleep_fn sleep)
  : limits_(limits), clock_(std::move(clock)), sleep_(std::move(sleep)) {
  requests_.per_minute = std::max<int64_t>(0, limits_.requests_per_minute);
  tokens_.per_minute = std::max<int64_t>(0, limits_.tokens_per_minute);
  requests_.level = requests_.capacity();
  tokens_.level = tokens_.capacity();
  last_refill_ = clock_->now_ms();
}

void rate_limiter::refill_locked(ms_t now) const {
  // The wall clock may step back; that counts as no time passing, and
  // time is measured from the new reading on.
  auto elapsed = now - last_refill_;
  last_refill_ = now;
  if (elapsed <= 0)
    return;
  requests_.refill(elapsed);
  tokens_.refill(elapsed);
}

ms_t rate_limiter::wait_locked(int64_t tokens) const {
  return std::max(requests_.wait_ms(1), tokens_.wait_ms(tokens));
}

bool rate_limiter::acquire(int64_t tokens,
                           const std::function<bool()>& cancelled) {
  tokens = std::max<int64_t>(0, tokens);
  for (;;) {
    ms_t wait;
    {
      std::lock_guard<std::mutex> guard{mtx_};
      refill_locked(clock_->now_ms());
      wait = wait_locked(tokens);
      if (wait == 0) {
        if (requests_.per_minute != 0)
          requests_.level -= ms_per_minute;
        if (tokens_.per_minute != 0)
          tokens_.level -= tokens * ms_per_minute;
        return true;
      }
    }
    if (cancelled && cancelled())
      return false;
    sleep_(std::min(wait, max_sleep_slice_ms));
  }
}

void rate_limiter::settle(int64_t estimated, int64_t actual) {
  std::lock_guard<std::mutex> guard{mtx_};
  if (tokens_.per_minute == 0)
    return;
  refill_locked(clock_->now_ms());
  tokens_.level = std::min(tokens_.capacity(),
                           tokens_.level + (estimated - actual) * ms_per_minute);
}

ms_t rate_limiter::wait_ms(int64_t tokens) const {
  std::lock_guard<std::mutex> guard{mtx_};
  refill_locked(clock_->now_ms());
  return wait_locked(std::max<int64_t>(0, tokens));
}

} // namespace jobd
