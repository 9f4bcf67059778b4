// The workloads of shared/WORKLOADS.md and their baselines, one function
// each. Every function sets up its own fresh database (untimed), times only
// the work the workload names, checks the result in the store (untimed) and
// returns the figure. bench.cpp lists them in its workload table.
#pragma once

#include <algorithm>
#include <cstdint>
#include <ctime>
#include <vector>
#include <memory>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "bench/bench_db.hpp"
#include "app/config.hpp"
#include "handlers/handler.hpp"

namespace jobd::bench {

/// One timed run.
struct measurement {
  int64_t jobs = 0;
  double seconds = 0;
  /// Latency workloads (W3): one entry per job, in ms.
  std::vector<double> latencies_ms = {};
  /// CPU time per job in microseconds of the side that stores the jobs: for
  /// W1 over HTTP the server (this process's CPU time less its client
  /// threads'), for the one-commit-per-job baseline its insert loop (with
  /// synchronous=FULL mostly the kernel's fsync); negative = not measured.
  double cpu_us = -1;
  double rate() const { return seconds > 0 ? jobs / seconds : 0; }
  /// The q-quantile (0..1) of latencies_ms; 0 if there are none.
  double latency_quantile(double q) const {
    if (latencies_ms.empty())
      return 0;
    auto xs = latencies_ms;
    std::sort(xs.begin(), xs.end());
    auto i = static_cast<size_t>(q * static_cast<double>(xs.size() - 1) + 0.5);
    return xs[std::min(i, xs.size() - 1)];
  }
};

/// CPU time in microseconds used so far by this process (all threads,
/// CLOCK_PROCESS_CPUTIME_ID) or by the calling thread
/// (CLOCK_THREAD_CPUTIME_ID).
inline double cpu_time_us(clockid_t which) {
  timespec ts{};
  clock_gettime(which, &ts);
  return static_cast<double>(ts.tv_sec) * 1e6
         + static_cast<double>(ts.tv_nsec) / 1e3;
}

/// VmHWM (peak resident set) from /proc/self/status, in kB; 0 if unknown.
int64_t peak_rss_kb();

/// Resets VmHWM to the current RSS (Linux >= 4.0), so the next reading is
/// the peak of one workload. False where the kernel does not allow it.
bool reset_peak_rss();

/// What every workload needs.
struct bench_env {
  const jobd_config& cfg;
  /// N: jobs per workload.
  int64_t jobs = 20'000;
  /// Handler actors of the W2/W4 worker; also the baseline's claim batch
  /// (a worker with this many handlers claims at most this many at once).
  int32_t workers = 10;
  /// Finished jobs already in the table for W4; 0 = W4 is skipped.
  int64_t scale_rows = 1'000'000;
  caf::actor_system& sys;
  bench_storage& storage;
  std::shared_ptr<const handler_registry> handlers;
};

using workload_fn = caf::expected<measurement> (*)(bench_env&);

/// A fresh, empty database for one workload, and raw access to it.
struct fresh_db {
  store_options opts;
  std::unique_ptr<bench_db> raw;
};
caf::expected<fresh_db> make_fresh(bench_env& env);

/// Checks that the store holds exactly `n` jobs with `status`; the error
/// names the workload.
caf::error expect_count(bench_db& raw, const char* status, int64_t n,
                        const char* workload);

// -- baselines (raw statements, bench_db) --------------------------------------

/// N inserts in one transaction: the ceiling for batch enqueue.
caf::expected<measurement> baseline_bulk_insert(bench_env& env);
/// N inserts, one committed transaction each: the ceiling for W1.
caf::expected<measurement> baseline_row_commit(bench_env& env);
/// N bulk-inserted jobs (untimed), then claim `workers` per transaction and
/// complete them in a second one until none is left: the ceiling for W2.
caf::expected<measurement> baseline_claim_complete(bench_env& env);
/// The same with 100 jobs per transaction: what batching alone buys, the
/// baseline W2 is divided by (issue 10: W2 >= 0.5x of it).
caf::expected<measurement> baseline_claim_complete_100(bench_env& env);

// -- jobd ----------------------------------------------------------------------

/// W1 in-process: N enqueues of one job each through the store actor, each
/// acknowledged (committed) before the next is sent.
caf::expected<measurement> w1_store_actor(bench_env& env);
/// W1 through job_store::enqueue directly (what `jobd jobs add` does).
caf::expected<measurement> w1_job_store(bench_env& env);
/// W2: N jobs queued; start a worker runtime with `workers` handlers; time
/// until the store holds no unfinished job, polled every 2 ms on a second
/// connection; then check that all N are COMPLETED.
caf::expected<measurement> w2_drain(bench_env& env);
/// W4: W2 with `scale_rows` finished jobs already in the table.
caf::expected<measurement> w4_scale(bench_env& env);

/// W5 (PostgreSQL only): workers on other machines than the database.
/// network_workers runtimes of network_handlers handlers each, every one
/// with its own connection through a fault proxy (fault_proxy.hpp), drain
/// N jobs. "Near": the proxy adds no delay (its own cost is the only
/// difference from W2); "far": network_one_way_ms each way.
constexpr int network_workers = 3;
constexpr int network_handlers = 10;
constexpr int network_one_way_ms = 5;
caf::expected<measurement> w5_network_near(bench_env& env);
caf::expected<measurement> w5_network_far(bench_env& env);

} // namespace jobd::bench
