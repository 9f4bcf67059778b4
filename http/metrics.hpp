// Counters the HTTP module keeps for GET /metrics (Prometheus text format).
// Thread-safe: io threads and CAF threads record into it concurrently.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "storage/job.hpp"

namespace jobd {

class http_metrics {
public:
  /// Upper bounds (seconds) of the request-duration histogram buckets.
  static constexpr std::array<double, 10> duration_buckets{
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0};

  /// One finished request. `route` is the route's pattern
  /// ("/api/jobs/{id}") or "unmatched", so label sets stay small.
  void observe(const std::string& method, const std::string& route,
               unsigned status, double seconds);

  std::atomic<int64_t> connections_open{0};
  std::atomic<int64_t> connections_total{0};
  std::atomic<int64_t> connections_rejected{0}; ///< over max_connections
  std::atomic<int64_t> timeouts{0};             ///< header/body/write/idle
  std::atomic<int64_t> event_streams_open{0};
  /// Requests read and handed on whose answer is not yet being written
  /// (waiting on the store or a reader).
  std::atomic<int64_t> requests_in_flight{0};
  std::atomic<int64_t> events_sent{0};
  std::atomic<int64_t> event_streams_dropped{0}; ///< too slow to keep up

  /// The HTTP metrics as Prometheus text (without the job gauges).
  std::string render() const;

private:
  struct duration_hist {
    std::array<uint64_t, duration_buckets.size()> buckets{};
    uint64_t count = 0;
    double sum = 0;
  };
  mutable std::mutex mtx_;
  /// (method, route, status) -> count
  std::map<std::tuple<std::string, std::string, unsigned>, uint64_t> requests_;
  /// route -> histogram
  std::map<std::string, duration_hist> durations_;
};

/// Job timings seen in job changes, by type, as Prometheus histograms:
/// jobd_job_claim_latency_seconds (from when a job was due to its claim,
/// i.e. how long it waited for a free handler) and
/// jobd_job_run_seconds (from claim to COMPLETED/FAILED: the handler's
/// duration). Thread-safe.
class job_timings {
public:
  static constexpr std::array<double, 12> buckets{
    0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 5, 30, 120, 600};

  /// Records what a change tells: a claim (PROCESSING) or a finish.
  void observe(const job& j);

  std::string render() const;

private:
  struct hist {
    std::array<uint64_t, buckets.size()> counts{};
    uint64_t count = 0;
    double sum = 0;
    void add(double seconds);
  };
  mutable std::mutex mtx_;
  std::map<std::string, hist> claim_latency_; ///< by type
  std::map<std::string, hist> run_;           ///< by type
};

/// Escapes a Prometheus label value (backslash, quote, newline).
std::string prometheus_label(const std::string& value);

/// Appends one unlabelled metric: its HELP and TYPE lines ("counter",
/// "gauge") and its value.
void append_metric(std::string& out, const char* name, const char* help,
                   const char* type, int64_t value);

} // namespace jobd
