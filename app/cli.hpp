// The command line: parsing flags into the config, and the `jobs`
// subcommands that talk to the store directly (no actor system needed).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "app/config.hpp"

namespace jobd {

/// Parsed command line: the command words ("worker", "jobs add", ...), the
/// flags (--name value / --name=value / --flag) and positional arguments.
/// A repeated flag keeps its last value, except --set: every one counts.
/// A flag's value is nullopt when the command line ends before it.
struct command_line {
  std::vector<std::string> words;
  std::map<std::string, std::optional<std::string>> flags;
  std::vector<std::string> args;
  /// The values of every --set, in order ("name=value").
  std::vector<std::optional<std::string>> sets;
};

/// Splits argv. Flags that take no value must be listed in `switches`.
command_line parse_command_line(int argc, char** argv,
                                const std::vector<std::string>& switches);

/// Loads the config file (--config FILE, default none) and applies flags
/// that override settings (--db, --workers, --poll-interval, --lease,
/// --port, --bind, --api-token, --set name=value). Consumes those flags.
/// Then derives the settings left "auto" (derive_settings) and checks the
/// whole (validate_config). Returns "" or the error line.
std::string load_config(command_line& cl, settings& s, jobd_config& cfg);

/// `jobd jobs ...`: returns the process exit code: 0 on success, 2 when the
/// words or flags are refused (nothing is opened or stored), 1 when the
/// store refuses or fails (no such job, a conflict, an I/O error). Prints
/// results on stdout and one-line errors on stderr.
int run_jobs_command(command_line& cl, const jobd_config& cfg);

/// `jobd schedules list|add|pause|resume|delete|run-now`: exit codes as
/// run_jobs_command's (2: refused words or flags, nothing opened; 1: the
/// store refused or failed).
int run_schedules_command(command_line& cl, const jobd_config& cfg);

/// Parses `--flag`'s value as a whole number in [min, max]. On failure sets
/// `err` to "--flag must be a whole number min..max, got 'v'".
bool parse_int_flag(const std::string& flag, const std::string& v,
                    int64_t min, int64_t max, int64_t& out, std::string& err);

/// The usage text of `jobd --help`.
std::string usage_text();

} // namespace jobd
