#include "handlers/exec.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "handlers/upstream_text.hpp"

extern char** environ;

namespace jobd {

namespace {

using steady = std::chrono::steady_clock;

// How often the loop looks at the child, the deadline and cancellation
// while no output arrives.
constexpr int poll_slice_ms = 20;
// After the command exited (and its group was killed), how long its pipes
// may take to reach end of file: a process that left the group could hold
// them open forever.
constexpr int drain_after_exit_ms = 1'000;

// Variables never passed to a command: secrets jobd itself reads.
const char* const fixed_withheld[] = {"OPENAI_API_KEY", "JOBD_API_TOKEN",
                                      "PGPASSWORD"};

class fd_holder {
public:
  fd_holder() = default;
  explicit fd_holder(int fd) : fd_(fd) {}
  ~fd_holder() { close(); }
  fd_holder(const fd_holder&) = delete;
  fd_holder& operator=(const fd_holder&) = delete;
  int get() const { return fd_; }
  bool open() const { return fd_ >= 0; }
  void reset(int fd) {
    close();
    fd_ = fd;
  }
  void close() {
    if (fd_ >= 0)
      ::close(fd_);
    fd_ = -1;
  }

private:
  int fd_ = -1;
};

// One pipe: [0] read end, [1] write end; both close-on-exec, so no other
// child inherits them (the spawned command gets its ends through dup2).
bool make_pipe(fd_holder (&ends)[2]) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return false;
  ends[0].reset(fds[0]);
  ends[1].reset(fds[1]);
  return true;
}

void set_nonblocking(int fd) {
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

// SIGPIPE blocked in this thread while the command's stdin is written (a
// command that exits without reading makes write() fail with EPIPE instead
// of killing jobd); on destruction a pending one is taken and the mask
// restored.
class sigpipe_blocked {
public:
  sigpipe_blocked() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &set_, &old_);
  }
  ~sigpipe_blocked() {
    timespec zero{0, 0};
    while (sigtimedwait(&set_, nullptr, &zero) > 0) {
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

private:
  sigset_t set_;
  sigset_t old_;
};

// The end of stderr for an error: its last three non-blank lines, at most
// exec_stderr_quote_bytes (the end is kept), sanitised to one line.
std::string stderr_tail(const std::string& err) {
  std::vector<std::string_view> lines;
  std::string_view rest{err};
  while (!rest.empty() && lines.size() < 3) {
    auto nl = rest.find_last_of('\n');
    auto line = nl == std::string_view::npos ? rest : rest.substr(nl + 1);
    rest = nl == std::string_view::npos ? std::string_view{}
                                        : rest.substr(0, nl);
    if (line.find_first_not_of(" \t\r") != std::string_view::npos)
      lines.insert(lines.begin(), line);
  }
  std::string tail;
  for (auto l : lines)
    tail += (tail.empty() ? "" : " | ") + std::string{l};
  if (tail.size() > exec_stderr_quote_bytes)
    tail = "..." + tail.substr(tail.size() - (exec_stderr_quote_bytes - 3));
  return sanitise(tail, "", exec_stderr_quote_bytes + 16);
}

std::string status_text(int status) {
  if (WIFEXITED(status))
    return "exited with code " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "was killed by signal " + std::to_string(WTERMSIG(status));
  return "ended with status " + std::to_string(status);
}

// Whether the command has exited, without reaping it: while it is an
// unreaped zombie its PID (and so its group's ID) cannot be reused, so
// signalling the group never reaches a stranger.
bool has_exited(pid_t pid) {
  siginfo_t si;
  std::memset(&si, 0, sizeof si);
  return ::waitid(P_PID, static_cast<id_t>(pid), &si,
                  WEXITED | WNOHANG | WNOWAIT)
           == 0
         && si.si_pid == pid;
}

// Ends the group and reaps the command. Still running: SIGTERM to the
// group, up to exec_kill_grace_ms for the command to exit, then SIGKILL to
// whatever is left. Exited: SIGKILL to what it left behind. Returns the
// wait status.
int end_group(pid_t pid, bool exited) {
  if (!exited) {
    ::kill(-pid, SIGTERM);
    auto until = steady::now() + std::chrono::milliseconds(exec_kill_grace_ms);
    while (!(exited = has_exited(pid)) && steady::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(-pid, SIGKILL); // its children may ignore SIGTERM, or outlive it
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

} // namespace

exec_handler::exec_handler(std::string type, exec_config cfg,
                           std::optional<payload_schema> schema)
  : type_(std::move(type)), cfg_(std::move(cfg)), schema_(std::move(schema)) {
}

std::optional<field_error>
exec_handler::validate(std::string_view payload) const {
  if (auto err = job_handler::validate(payload))
    return err;
  return schema_ ? schema_->check(payload) : std::nullopt;
}

outcome exec_handler::run(const job& j, run_context& ctx) {
  if (auto fe = validate(j.payload))
    return outcome::failure(fe->field + ": " + fe->message, true);
  const auto& program = cfg_.command.front();
  const auto name = "the command " + program;

  // 1. Environment and argv.
  std::vector<std::string> env;
  auto withheld = [&](std::string_view var) {
    for (auto w : fixed_withheld)
      if (var == w)
        return true;
    for (auto& w : cfg_.withheld_env)
      if (var == w)
        return true;
    return var == "JOBD_JOB_ID" || var == "JOBD_ATTEMPT" || var == "JOBD_TYPE";
  };
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv{*e};
    if (!withheld(kv.substr(0, kv.find('='))))
      env.emplace_back(kv);
  }
  env.push_back("JOBD_JOB_ID=" + j.id);
  env.push_back("JOBD_ATTEMPT=" + std::to_string(j.attempt));
  env.push_back("JOBD_TYPE=" + type_);
  std::vector<char*> envp;
  for (auto& s : env)
    envp.push_back(s.data());
  envp.push_back(nullptr);
  auto args = cfg_.command;
  std::vector<char*> argv;
  for (auto& s : args)
    argv.push_back(s.data());
  argv.push_back(nullptr);

  // 2. Pipes and the spawn.
  fd_holder in[2], out[2], err[2];
  if (!make_pipe(in) || !make_pipe(out) || !make_pipe(err))
    return outcome::failure("cannot create pipes for " + name + ": "
                            + std::strerror(errno));
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in[0].get(), 0);
  posix_spawn_file_actions_adddup2(&fa, out[1].get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err[1].get(), 2);
  if (!cfg_.cwd.empty())
    posix_spawn_file_actions_addchdir_np(&fa, cfg_.cwd.c_str());
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP
                                    | POSIX_SPAWN_SETSIGMASK
                                    | POSIX_SPAWN_SETSIGDEF);
  posix_spawnattr_setpgroup(&attr, 0); // a group of its own, led by it
  sigset_t none, defaults;
  sigemptyset(&none); // jobd blocks SIGTERM & co. in every thread
  posix_spawnattr_setsigmask(&attr, &none);
  sigemptyset(&defaults); // handled ones are reset by exec; ignored ones not
  for (int sig : {SIGPIPE, SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGCHLD,
                  SIGUSR1, SIGUSR2, SIGALRM})
    sigaddset(&defaults, sig);
  posix_spawnattr_setsigdefault(&attr, &defaults);
  sigpipe_blocked no_sigpipe;
  pid_t pid = -1;
  int rc = posix_spawnp(&pid, program.c_str(), &fa, &attr, argv.data(),
                        envp.data());
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  in[0].close();
  out[1].close();
  err[1].close();
  if (rc != 0) {
    bool permanent = rc == ENOENT || rc == EACCES || rc == ENOEXEC
                     || rc == ENOTDIR || rc == EISDIR;
    return outcome::failure(
      "cannot run " + program
        + (cfg_.cwd.empty() ? "" : " in " + cfg_.cwd) + ": "
        + std::strerror(rc) + "; check types." + type_ + ".command"
        + (cfg_.cwd.empty() ? "" : " and types." + type_ + ".cwd"),
      permanent);
  }

  // 3. Feed stdin, read stdout and stderr, watch the clock.
  for (auto* fd : {&in[1], &out[0], &err[0]})
    set_nonblocking(fd->get());
  if (j.payload.empty())
    in[1].close();
  std::string out_text, err_text;
  size_t written = 0;
  bool exited = false;
  enum class stop { none, timeout, cancelled, too_much, poll_failed };
  stop why = stop::none;
  int poll_errno = 0;
  const char* too_much_stream = "";
  const auto deadline = steady::now() + std::chrono::milliseconds(cfg_.timeout_ms);
  auto drain_until = steady::time_point::max();
  char buf[64 * 1024];
  while (true) {
    if (!exited && has_exited(pid)) {
      exited = true;
      // Anything it left behind in its group goes with it; its pipes then
      // reach end of file.
      ::kill(-pid, SIGKILL);
      in[1].close();
      drain_until = steady::now() + std::chrono::milliseconds(drain_after_exit_ms);
    }
    if (exited && (!out[0].open() && !err[0].open()))
      break;
    if (exited && steady::now() >= drain_until)
      break;
    if (!exited) {
      if (ctx.is_cancelled())
        why = stop::cancelled;
      else if (steady::now() >= deadline)
        why = stop::timeout;
      if (why != stop::none)
        break;
    }
    pollfd fds[3];
    nfds_t n = 0;
    if (in[1].open())
      fds[n++] = pollfd{in[1].get(), POLLOUT, 0};
    if (out[0].open())
      fds[n++] = pollfd{out[0].get(), POLLIN, 0};
    if (err[0].open())
      fds[n++] = pollfd{err[0].get(), POLLIN, 0};
    if (::poll(n > 0 ? fds : nullptr, n, poll_slice_ms) < 0 && errno != EINTR) {
      why = stop::poll_failed;
      poll_errno = errno;
      break;
    }
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].revents == 0)
        continue;
      if (fds[i].fd == in[1].get()) {
        auto w = ::write(in[1].get(), j.payload.data() + written,
                         j.payload.size() - written);
        if (w > 0)
          written += static_cast<size_t>(w);
        if (written == j.payload.size() || (w < 0 && errno != EAGAIN
                                            && errno != EINTR))
          in[1].close(); // all written, or it stopped reading (EPIPE)
        continue;
      }
      auto& fd = fds[i].fd == out[0].get() ? out[0] : err[0];
      auto& text = &fd == &out[0] ? out_text : err_text;
      auto r = ::read(fd.get(), buf, sizeof buf);
      if (r > 0) {
        text.append(buf, static_cast<size_t>(r));
        if (static_cast<int64_t>(text.size()) > cfg_.max_output_bytes) {
          why = stop::too_much;
          too_much_stream = &fd == &out[0] ? "stdout" : "stderr";
        }
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR))
        fd.close();
    }
    if (why != stop::none)
      break;
  }
  const int status = end_group(pid, exited);

  // 4. The outcome.
  switch (why) {
    case stop::cancelled:
      return outcome::failure("cancelled while " + name
                              + " ran; its process group was stopped");
    case stop::timeout:
      return outcome::failure(name + " did not finish within "
                              + std::to_string(cfg_.timeout_ms)
                              + " ms; its process group was stopped (raise "
                                "types."
                              + type_ + ".timeout_ms if it is just slow)");
    case stop::too_much:
      return outcome::failure(name + " wrote more than "
                                + std::to_string(cfg_.max_output_bytes)
                                + " bytes to " + too_much_stream
                                + "; it was stopped (types." + type_
                                + ".max_output_bytes)",
                              true);
    case stop::poll_failed:
      return outcome::failure("cannot watch " + name + " (poll: "
                              + std::strerror(poll_errno)
                              + "); it was stopped");
    case stop::none:
      break;
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    auto msg = name + " " + status_text(status);
    auto tail = stderr_tail(err_text);
    if (!tail.empty())
      msg += ": " + tail;
    bool permanent = WIFEXITED(status)
                     && WEXITSTATUS(status) == exec_exit_dataerr;
    return outcome::failure(msg, permanent);
  }
  std::string bad;
  auto result = result_json_of(upstream_text{std::move(out_text)}, "", bad);
  if (!result)
    return outcome::failure(name + " exited with code 0 but its stdout is "
                              + "not JSON (" + bad
                              + "); it must print its result as JSON, or "
                                "nothing",
                            true);
  return outcome::success(std::move(*result));
}

} // namespace jobd
