// `jobd bench`: the workloads of shared/WORKLOADS.md against a raw SQLite
// baseline measured in the same run.
#pragma once

#include "app/cli.hpp"

namespace jobd {

/// Runs the benchmarks; returns the exit code.
int run_bench(command_line& cl, const jobd_config& cfg);

} // namespace jobd
