// Child processes for process-level tests: runs a program (usually the
// jobd binary) with arguments and environment, its stdout and stderr going
// to files, and lets the test wait for it with a deadline, signal it and
// read what it printed.
//
// Nothing outlives the test: the destructor SIGKILLs a child that is still
// running and reaps it; and each child asks the kernel to SIGKILL it when
// the thread that started it ends (PR_SET_PDEATHSIG), so a crashed or killed
// test run leaves no workers behind either. Start children from the test's
// main thread (or a thread that outlives them).
//
// Waiting never sleeps for a fixed time: wait_for() polls the child's state
// and eventually() polls a condition, each up to a deadline.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <sys/types.h>

#include "support/temp_dir.hpp"

namespace jobd::test {

/// Where the jobd binary under test lives (the compile-time JOBD_BINARY).
std::string jobd_binary();

class child_process {
public:
  struct options {
    /// Environment changes on top of the test's own environment: each
    /// name is set to its value, or removed if the value is std::nullopt.
    std::map<std::string, std::optional<std::string>> env;
    /// Working directory; empty = the test's.
    std::string cwd;
  };

  /// Starts `program` with `args` (argv[1..]); stdin is /dev/null.
  /// Throws std::runtime_error if the fork fails. A program that cannot be
  /// executed exits with code 127 and says why on its stderr.
  child_process(std::string program, std::vector<std::string> args,
                options opts);
  child_process(std::string program, std::vector<std::string> args)
    : child_process(std::move(program), std::move(args), options{}) {
  }
  /// SIGKILLs the child if it still runs, reaps it, removes its output.
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }

  /// True until the child has exited (reaps it when it has).
  bool running();

  /// Sends `sig` to the child (not to anyone else: a reaped child's PID is
  /// never signalled).
  void signal(int sig);

  /// Waits until the child exits or `timeout` passes. Returns whether it
  /// exited.
  bool wait_for(std::chrono::milliseconds timeout);

  /// SIGKILLs the child and reaps it.
  void kill_now();

  /// The exit code, or -1 if it has not exited normally (still running,
  /// or ended by a signal).
  int exit_code() const;
  /// The signal that ended the child, or 0.
  int term_signal() const;
  /// "exit code 0", "killed by signal 9", "still running".
  std::string status_text() const;

  /// Everything the child wrote so far.
  std::string out() const;
  std::string err() const;

  /// One line for failure messages: the command, its status and the tail
  /// of its stderr.
  std::string describe() const;

private:
  void reap(int status);

  std::string program_;
  std::vector<std::string> args_;
  temp_dir dir_; // holds stdout and stderr
  pid_t pid_ = -1;
  bool reaped_ = false;
  int status_ = 0;
};

/// What a command that ran to its end printed.
struct run_result {
  int exit_code = -1; ///< -1: did not exit normally (or timed out)
  std::string out;
  std::string err;
  bool timed_out = false;
};

/// Runs `jobd args...` to its end, up to `timeout` (then it is killed and
/// timed_out is set).
run_result run_jobd(const std::vector<std::string>& args,
                    child_process::options opts = {},
                    std::chrono::milliseconds timeout
                    = std::chrono::seconds(60));

/// Polls `cond` every `every` until it returns true or `timeout` passes.
/// Returns whether it became true.
bool eventually(const std::function<bool()>& cond,
                std::chrono::milliseconds timeout,
                std::chrono::milliseconds every
                = std::chrono::milliseconds(50));

/// The file's whole content ("" if it does not exist).
std::string read_file(const std::string& path);

/// The lines of `text`, without their '\n'; no empty last line.
std::vector<std::string> lines_of(const std::string& text);

/// A TCP port on 127.0.0.1 that was free a moment ago (for a child
/// process's --port).
uint16_t free_port();

} // namespace jobd::test
