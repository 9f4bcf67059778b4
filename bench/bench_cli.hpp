// W3 with the enqueue coming from the CLI: `jobd jobs add` processes
// enqueue, a separate `jobd worker` process runs the jobs (the shape of
// bench_http.hpp's workloads).
#pragma once

#include "bench/bench_workloads.hpp"

namespace jobd::bench {

/// 200 `jobd jobs add` runs, one every 10 ms (or as soon as the previous
/// one exits, if that takes longer), against a `jobd worker` child process
/// at the configured poll interval; latency = the job's createdAt (its
/// insert, in the CLI process) to its startedAt (the worker's claim). The
/// CLI's own start-up is not counted: it is the same with or without a
/// wake-up.
caf::expected<measurement> w3_latency_cli(bench_env& env);

} // namespace jobd::bench
