#include "storage/postgres/pg_watchdog.hpp"

#include <sys/socket.h>

namespace jobd {

pg_watchdog::pg_watchdog(int64_t timeout_ms)
  : timeout_ms_(timeout_ms), thread_([this] { loop(); }) {
}

pg_watchdog::~pg_watchdog() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void pg_watchdog::arm(int fd) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    fd_ = fd;
    fired_ = false;
    ++generation_;
    deadline_ = std::chrono::steady_clock::now()
                + std::chrono::milliseconds(timeout_ms_);
  }
  cv_.notify_one();
}

void pg_watchdog::disarm() {
  std::lock_guard<std::mutex> guard{mtx_};
  fd_ = -1;
  ++generation_;
}

bool pg_watchdog::fired() const {
  std::lock_guard<std::mutex> guard{mtx_};
  return fired_;
}

void pg_watchdog::loop() {
  std::unique_lock<std::mutex> lock{mtx_};
  for (;;) {
    // Idle (nothing armed): no wake-ups at all.
    cv_.wait(lock, [this] { return stop_ || fd_ >= 0; });
    if (stop_)
      return;
    auto gen = generation_;
    auto deadline = deadline_;
    cv_.wait_until(lock, deadline,
                   [this, gen] { return stop_ || generation_ != gen; });
    if (stop_)
      return;
    if (generation_ != gen || fd_ < 0)
      continue; // disarmed or re-armed in time
    // Under the lock: disarm() cannot return while the socket is being
    // shut down, so a later call's socket is never touched. The descriptor
    // stays open (libpq closes it), so its number cannot be reused
    // meanwhile; the blocked read returns end-of-file.
    ::shutdown(fd_, SHUT_RDWR);
    fired_ = true;
    fd_ = -1;
  }
}

} // namespace jobd
