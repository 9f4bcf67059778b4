// Live updates. The server hooks the hub to the store actor twice:
// 1. a change_observer (called on the store's thread after each commit of
//    this process, so no thread is woken for it) feeds the metrics: claim
//    latency and run times, finished-job counters, and the throughput ring
//    (GET /api/stats): this process's own work;
// 2. a feed_observer receives the change feed (every process's changes,
//    retention's deletions included, in commit order; store_actor.hpp)
//    while a stream is open, and turns each change into one Server-Sent
//    Events frame pushed to every open /api/events stream (each stream
//    queues it on its own connection):
//      id: <position>            the change's position in the feed
//      event: job | deleted      data: the job's JSON | {"id": ...}
//    and, when changes were missed (the feed fell behind its tombstones),
//      event: reset              data: {}   (reload the jobs)
//    Each job's frames come in the order its changes were committed; a
//    job that changed several times between two reads of the feed comes
//    once, as it is now (states are coalesced, never reordered).
// The hub is shared by io threads (streams come and go) and the store's
// thread (changes arrive), so it is guarded by a mutex.
#pragma once

#include "http/metrics.hpp"

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
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
  /// Queues one frame; `seq` is the change's feed position (-1 for a frame
  /// that is no change). Called from any thread; must not block.
  virtual void push(std::shared_ptr<const std::string> frame, int64_t seq)
    = 0;
};

/// An SSE frame and the feed position of its change (-1: none).
struct sse_event {
  std::shared_ptr<const std::string> frame;
  int64_t seq = -1;
};

/// The frames of a page of the change feed: "reset" first if it has a gap,
/// then a "job" or "deleted" frame per change, each with its position.
std::vector<sse_event> feed_frames(const change_page& page);

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
  /// A stream joins through the store actor (join_feed), so that it is
  /// added between two pages of the feed.
  void add(const std::shared_ptr<event_sink>& sink);

  /// Sends a frame to every live stream.
  void publish(const sse_event& ev);

  /// Whether any stream is open.
  bool has_streams();

  /// This process changed a job: counts it (metrics, throughput).
  void job_changed(const job& j);

  /// A page of the change feed: publishes its feed_frames.
  void feed(const change_page& page);

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

/// "event: <name>\ndata: <data>\n\n" (data must hold no newline), after
/// "id: <id>\n" when id >= 0.
std::string sse_frame(const char* name, const std::string& data,
                      int64_t id = -1);

/// Subscribes `hub` to `store`'s changes and its change feed (held weakly:
/// a hub that is gone hears nothing more).
void subscribe_events(const store_actor& store,
                      const std::shared_ptr<event_hub>& hub);

/// Has `sink` join `hub`'s streams through the store actor (feed_resume):
/// if `after` >= 0 it first gets the changes after that feed position
/// (SSE Last-Event-ID), then `skip_through` is set to the position the
/// replay reached (the sink drops live frames up to it), it joins, and it
/// gets the comment ": connected": every change committed after that
/// reaches it.
void join_feed(const store_actor& store, const std::shared_ptr<event_hub>& hub,
               const std::shared_ptr<event_sink>& sink, int64_t after,
               std::function<void(int64_t)> skip_through);

} // namespace jobd
