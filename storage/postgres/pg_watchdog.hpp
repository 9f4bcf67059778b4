// A deadline for each call pg_store makes to the server.
//
// libpq waits for a reply for as long as the socket stays open. When the
// network silently drops what it carries, the kernel ends the connection
// after tcp_user_timeout (pg_conninfo.hpp sets it) - but only if nobody
// acknowledges the bytes. Something in between that accepts them and never
// answers (a proxy or load balancer that lost its upstream, a stalled
// server) leaves the call, and with it the store actor's thread and every
// write of the process, waiting forever: even after the network heals,
// the request is gone and no reply will come.
//
// The watchdog bounds each call: while armed, a thread of its own waits
// for the deadline and then shuts the connection's socket down, so libpq's
// wait ends with a broken connection; the store treats that as a lost
// connection (reconnects on the next call; a commit whose reply was lost
// is in doubt, see pg_store::release_in_doubt).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>

namespace jobd {

class pg_watchdog {
public:
  /// `timeout_ms` > 0: how long an armed call may take.
  explicit pg_watchdog(int64_t timeout_ms);
  /// Stops the thread (an armed call is left alone).
  ~pg_watchdog();
  pg_watchdog(const pg_watchdog&) = delete;
  pg_watchdog& operator=(const pg_watchdog&) = delete;

  /// Arms the deadline for a call on socket `fd` (< 0: nothing to watch).
  /// Clears fired().
  void arm(int fd);
  /// The call is over: once this returns, the socket is not touched.
  void disarm();
  /// The deadline of the last armed call passed and its socket was shut
  /// down (the connection is unusable from then on).
  bool fired() const;
  int64_t timeout_ms() const { return timeout_ms_; }

  /// Arms for a scope.
  class scope {
  public:
    scope(pg_watchdog* w, int fd) : w_(w) {
      if (w_)
        w_->arm(fd);
    }
    ~scope() {
      if (w_)
        w_->disarm();
    }
    scope(const scope&) = delete;
    scope& operator=(const scope&) = delete;

  private:
    pg_watchdog* w_;
  };

private:
  void loop();

  const int64_t timeout_ms_;
  mutable std::mutex mtx_;
  std::condition_variable cv_;
  bool stop_ = false;
  int fd_ = -1;
  uint64_t generation_ = 0; // bumped by each arm and disarm
  std::chrono::steady_clock::time_point deadline_;
  bool fired_ = false;
  std::thread thread_;
};

} // namespace jobd
