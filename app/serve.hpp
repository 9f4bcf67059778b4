// `jobd serve` and `jobd worker`: run the worker runtime (and, for serve,
// the HTTP server) until SIGINT/SIGTERM, then stop gracefully (see
// stop_runtime) and exit 0. SIGHUP reloads the settings (see README,
// "Signals, health and disk space").
#pragma once

#include <string>

#include "app/caf_tuning.hpp"
#include "app/cli.hpp"

namespace caf {
class actor_system_config;
} // namespace caf

namespace jobd {

/// The configuration a running server was started with, and how to read it
/// again: the command line as given (--config FILE and the flags, which
/// still override the file on a reload).
struct server_settings {
  command_line cl;
  jobd_config cfg;
};

/// Runs `jobd serve` (with_http) or `jobd worker`. Returns (or exits the
/// process with) the exit code: 0 after a graceful stop, 1 when the stop
/// failed or a second signal came, 2 when start-up is refused.
int run_server(server_settings cur, bool with_http);

/// The actor system settings of every jobd process: jobd's message types,
/// CAF's own logging off (jobd logs with log_line), and the scheduler
/// settings of [runtime]. `jobd bench` uses it too, so its runtime runs as
/// `jobd worker` runs it.
void init_caf(caf::actor_system_config& cfg, const caf_tuning& tuning);

/// Prints "jobd: <msg>" on stderr; returns 2, the exit code of a refused
/// start-up or command line.
int exit_with_error(const std::string& msg);

} // namespace jobd
