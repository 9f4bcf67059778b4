// HTTP and latency workloads of shared/WORKLOADS.md (W1 over HTTP, W3), in
// the same shape as bench_workloads.hpp: each sets up its own fresh
// database and server (untimed), times only the work the workload names,
// and checks the result in the store.
#pragma once

#include <memory>
#include <string>

#include <sys/types.h>

#include "bench/bench_workloads.hpp"

namespace jobd::bench {

/// How many jobs W3 enqueues, and how far apart (WORKLOADS.md).
constexpr int64_t w3_jobs = 200;
constexpr int64_t w3_gap_ms = 10;

/// W1 over HTTP: one client on one keep-alive connection POSTs N jobs to an
/// in-process `jobd serve --workers 0`, each answered (committed) before the
/// next.
caf::expected<measurement> w1_http_one(bench_env& env);

/// W1 over HTTP with 32 clients, each on its own keep-alive connection,
/// N jobs in all. Concurrent enqueues share commits (group commit).
caf::expected<measurement> w1_http_concurrent(bench_env& env);

/// The job type W2 drains through external workers (bench_env's handlers
/// declare it external).
constexpr const char* bench_external_type = "BENCH_EXTERNAL";

/// W2 through external workers: the jobs of an external type drained by 10
/// HTTP clients speaking the worker protocol (fetch up to `workers` jobs,
/// complete them in one POST /api/worker/complete-all), against a server
/// that runs no jobs itself.
caf::expected<measurement> w2_external(bench_env& env);

/// The latency floor: with raw statements, insert one job (committed), then
/// claim it at once; 200 times, one every 10 ms. Latency = insert start to
/// claim commit.
caf::expected<measurement> baseline_latency(bench_env& env);

/// W3 in-process: an idle `jobd serve` (API and workers in this process);
/// 200 POSTs one every 10 ms; latency = POST sent to the job's startedAt
/// (its claim, which hands it to a handler at once).
caf::expected<measurement> w3_latency_inproc(bench_env& env);

/// W3 across processes: POSTs to an API-only node in this process, jobs
/// run by a separate `jobd worker` process on the same database (which
/// finds them by polling on SQLite, by LISTEN/NOTIFY on PostgreSQL).
caf::expected<measurement> w3_latency_cross(bench_env& env);

/// A `jobd worker` child on `db_url` with this run's workers, synchronous,
/// poll interval and wake_sockets, its stderr quiet (its log lines would
/// interleave with the table). Stopped (SIGTERM, waited for) when
/// destroyed.
class worker_process {
public:
  static caf::expected<std::unique_ptr<worker_process>>
  start(const bench_env& env, const std::string& db_url);
  ~worker_process();

private:
  explicit worker_process(pid_t pid) : pid_(pid) {}
  pid_t pid_;
};

/// Issue 15's scale run (`jobd bench --only scale`): fills one database with
/// env.scale_rows finished jobs and `live_rows` PENDING ones due tomorrow,
/// in bulk; then, per round, W1 (one HTTP client POSTs env.jobs jobs) and
/// W2 (a server with workers drains them) on an empty database and on the
/// big one, each `jobd serve` in this process with its read pool, while a
/// dashboard polls GET /api/stats and a list page 10 times a second.
struct scale_report {
  int64_t finished_rows = 0, live_rows = 0;
  double fill_seconds = 0;
  int64_t disk_bytes = -1; ///< the big database after the fill
  /// Rates (jobs/s) per round.
  std::vector<double> w1_empty, w1_big, w2_empty, w2_big;
  /// W3 latencies (ms, enqueue to start) over every round.
  std::vector<double> w3_empty, w3_big;
  /// The dashboard's timings on the big table (ms), over every round.
  struct reads {
    std::vector<double> stats_ms, list_ms;
  } big;
  /// Peak RSS during the big table's phases (kB).
  int64_t peak_rss_kb = 0;
};

caf::expected<scale_report> scale_run(bench_env& env, int rounds,
                                      int64_t live_rows);

/// This binary's path (for child processes), "" if unknown.
std::string self_exe();

} // namespace jobd::bench
