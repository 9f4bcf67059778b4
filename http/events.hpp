// Live updates: the server subscribes a function to the store actor's
// changes (a change_observer: called on the store's thread after each
// commit, so no thread is woken per change) that hands each one to the
// event hub, which
// 1. counts finished jobs into the throughput ring (GET /api/stats), and
// 2. formats one Server-Sent Events frame and pushes it to every open
//    /api/events stream (each stream queues it on its own connection);
//    with no stream open it formats nothing.
// The hub is shared by io threads (streams come and go) and the store's
// thread (changes arrive), so it is guarded by a mutex.
#pragma once

#include "http/metrics.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>

#include "actors/store_actor.hpp"
#include "storage/job.hpp"

namespace jobd {

/// Something that takes SSE frames: an open /api/events connection.
class event_sink {
public:
  virtual ~event_sink() = default;
  /// Queues one frame. Called from any thread; must not block.
  virtual void push(std::shared_ptr<const std::string> frame) = 0;
};

/// Jobs finished per time bucket, for the last `bucket_count` buckets.
/// Counts only the changes this process saw (its own workers and API).
class throughput_ring {
public:
  static constexpr ms_t bucket_ms = 10'000;   ///< 10 s per bucket
  static constexpr size_t bucket_count = 60;  ///< 10 minutes of history

  /// Counts one job that became COMPLETED (or FAILED) at time `at`.
  void add(ms_t at, bool completed);

  struct bucket {
    ms_t start = 0;
    int64_t completed = 0;
    int64_t failed = 0;
  };
  /// The buckets up to and including the one holding `now`, oldest first.
  std::vector<bucket> snapshot(ms_t now) const;

private:
  mutable std::mutex mtx_;
  struct slot {
    int64_t index = -1; ///< bucket number (time / bucket_ms) this slot holds
    int64_t completed = 0;
    int64_t failed = 0;
  };
  std::array<slot, bucket_count> slots_{};
};

class event_hub {
public:
  /// Registers a stream; it is dropped when it goes away (held weakly).
  void add(const std::shared_ptr<event_sink>& sink);

  /// Sends a frame to every live stream.
  void publish(std::shared_ptr<const std::string> frame);

  /// Whether any stream is open (one that went away may still count).
  bool has_streams();

  /// A job changed: counts it and publishes an "job" event.
  void job_changed(const job& j);

  /// A job was deleted through this server: publishes a "deleted" event
  /// (the store actor does not report deletions to subscribers).
  void job_deleted(const std::string& id);

  throughput_ring& throughput() { return ring_; }

  /// Jobs seen becoming COMPLETED / FAILED since start (for /metrics).
  /// Claim latency and handler durations, for /metrics.
  job_timings timings;
  std::atomic<int64_t> completed_total{0};
  std::atomic<int64_t> failed_total{0};

private:
  std::mutex mtx_;
  std::vector<std::weak_ptr<event_sink>> sinks_;
  throughput_ring ring_;
};

/// "event: <name>\ndata: <data>\n\n" (data must hold no newline).
std::string sse_frame(const char* name, const std::string& data);

/// Subscribes `hub` to `store`'s changes (held weakly: a hub that is gone
/// hears nothing more).
void subscribe_events(const store_actor& store,
                      const std::shared_ptr<event_hub>& hub);

} // namespace jobd
