// Time is injected: every component that needs "now" asks a clock, so tests
// drive backoff, leases and schedules without sleeping.
#pragma once

#include <atomic>
#include <chrono>

#include "storage/job.hpp"

namespace jobd {

/// A source of wall-clock time. Implementations are thread-safe.
class clock_source {
public:
  virtual ~clock_source() = default;
  /// Milliseconds since the Unix epoch, UTC.
  virtual ms_t now_ms() const = 0;
};

/// The real clock (std::chrono::system_clock).
class system_clock_source final : public clock_source {
public:
  ms_t now_ms() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
  }
};

/// A clock that moves only when told to; for tests.
class manual_clock final : public clock_source {
public:
  explicit manual_clock(ms_t start = 1'700'000'000'000) : now_(start) {}
  ms_t now_ms() const override { return now_.load(); }
  void advance(ms_t delta) { now_ += delta; }
  void set(ms_t t) { now_ = t; }

private:
  std::atomic<ms_t> now_;
};

} // namespace jobd
