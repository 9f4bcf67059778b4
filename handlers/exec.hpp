// handler = exec: a job type defined in the config file ([types.NAME])
// whose jobs run a program. No shell: `command` is the argv, as given.
//
// For each attempt:
// 1. The program is started (posix_spawnp: argv[0] is looked up in PATH
//    if it has no slash) in a process group of its own, in `cwd` if set,
//    with every signal at its default and none blocked.
// 2. Its environment is jobd's, minus the secrets jobd knows of
//    (OPENAI_API_KEY, JOBD_API_TOKEN, PGPASSWORD, and every variable a
//    [types.*] secret_env names), plus JOBD_JOB_ID, JOBD_ATTEMPT and
//    JOBD_TYPE.
// 3. The payload is written to its stdin, which is then closed; its
//    stdout and stderr are read at the same time (poll), so no pipe fills
//    up and nothing deadlocks. A program that does not read its stdin is
//    fine.
// 4. When it exits, anything it left running in its process group is
//    killed (SIGKILL), and the outcome is:
//    - exit 0: done; the result is stdout, which must be JSON (blank =
//      null). Not JSON: a permanent failure (the program has done its
//      work; running it again would do it twice).
//    - exit 75 (EX_TEMPFAIL): a retryable failure.
//    - exit 65 (EX_DATAERR): a permanent failure (the payload is wrong).
//    - any other code, or killed by a signal: a retryable failure.
//    A failure's error is "exited with code N" plus the last lines of
//    stderr (sanitised, at most exec_stderr_quote_bytes).
// 5. timeout_ms passed, or the job cancelled (shutdown, the pool's
//    timeout): the whole group gets SIGTERM, then SIGKILL after
//    exec_kill_grace_ms, and is reaped; a retryable failure.
// 6. stdout or stderr longer than max_output_bytes: the group is killed;
//    a permanent failure (the same input would give the same output).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "handlers/handler.hpp"
#include "handlers/payload_schema.hpp"

namespace jobd {

/// Exit codes with a meaning (sysexits.h).
constexpr int exec_exit_tempfail = 75; ///< retryable
constexpr int exec_exit_dataerr = 65;  ///< permanent
/// Between SIGTERM and SIGKILL when a command is stopped.
constexpr int32_t exec_kill_grace_ms = 2'000;
/// How much of stderr a failure quotes (its end), in bytes.
constexpr size_t exec_stderr_quote_bytes = 500;

/// One exec type's settings ([types.NAME] with handler = exec).
struct exec_config {
  /// argv: the program, then its arguments. Not empty.
  std::vector<std::string> command;
  /// Working directory; empty = jobd's.
  std::string cwd;
  /// An attempt may run this many ms before its group is stopped.
  /// Default 60000.
  int32_t timeout_ms = 60'000;
  /// Most bytes read from stdout, and from stderr, each. Default 1 MiB.
  int64_t max_output_bytes = 1024 * 1024;
  /// Jobs of this type running at once per process; 0 = only the pool
  /// size limits them. Default 0.
  int32_t max_concurrency = 0;
  /// Environment variables not passed to the program (besides the fixed
  /// ones in the file comment): the secret_env names of the [types.*]
  /// sections.
  std::vector<std::string> withheld_env;
};

/// Thread-safe: run() may be called from several handler actors at once.
class exec_handler final : public job_handler {
public:
  /// `type` is the job type (JOBD_TYPE); `schema` may be empty.
  /// REQUIRES: cfg passed validate_type_config.
  exec_handler(std::string type, exec_config cfg,
               std::optional<payload_schema> schema);

  /// A JSON object that satisfies the schema, if any.
  std::optional<field_error> validate(std::string_view payload) const override;
  /// Runs the command once; outcomes as in the file comment.
  outcome run(const job& j, run_context& ctx) override;
  int32_t max_concurrency() const override { return cfg_.max_concurrency; }

private:
  std::string type_;
  exec_config cfg_;
  std::optional<payload_schema> schema_;
};

} // namespace jobd
