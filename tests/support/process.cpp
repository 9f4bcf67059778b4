#include "support/process.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace jobd::test {

std::string jobd_binary() {
  return JOBD_BINARY;
}

namespace {

int open_output(const std::string& path) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0)
    throw std::runtime_error("child_process: cannot create " + path + ": "
                             + std::strerror(errno));
  return fd;
}

// Writes a message without allocating (between fork and exec).
void write_str(int fd, const char* s) {
  auto n = ::write(fd, s, std::strlen(s));
  (void) n;
}

} // namespace

child_process::child_process(std::string program, std::vector<std::string> args,
                             options opts)
  : program_(std::move(program)), args_(std::move(args)) {
  // Everything the child needs is prepared here: between fork and exec
  // only async-signal-safe calls are allowed (the test has threads).
  std::vector<std::string> argv_s;
  argv_s.push_back(program_);
  argv_s.insert(argv_s.end(), args_.begin(), args_.end());
  std::vector<char*> argv;
  for (auto& a : argv_s)
    argv.push_back(a.data());
  argv.push_back(nullptr);
  std::vector<std::string> env_s;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv = *e;
    auto name = kv.substr(0, kv.find('='));
    if (opts.env.count(name) == 0)
      env_s.push_back(std::move(kv));
  }
  for (auto& [name, value] : opts.env)
    if (value)
      env_s.push_back(name + "=" + *value);
  std::vector<char*> envp;
  for (auto& e : env_s)
    envp.push_back(e.data());
  envp.push_back(nullptr);
  int out = open_output(dir_.file("stdout"));
  int err = open_output(dir_.file("stderr"));
  int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t parent = ::getpid();
  const char* cwd = opts.cwd.empty() ? nullptr : opts.cwd.c_str();
  pid_ = ::fork();
  if (pid_ == 0) {
    // Die with the starting thread, so no child outlives a crashed test.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent)
      ::_exit(126);
    // Signal dispositions set to "ignore" and the signal mask survive exec;
    // the child starts clean.
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    for (int sig : {SIGINT, SIGTERM, SIGPIPE, SIGHUP, SIGQUIT})
      ::signal(sig, SIG_DFL);
    ::dup2(in, 0);
    ::dup2(out, 1);
    ::dup2(err, 2);
    if (cwd != nullptr && ::chdir(cwd) != 0) {
      write_str(2, "child_process: chdir failed\n");
      ::_exit(127);
    }
    ::execve(argv[0], argv.data(), envp.data());
    write_str(2, "child_process: exec failed: ");
    write_str(2, std::strerror(errno));
    write_str(2, "\n");
    ::_exit(127);
  }
  ::close(out);
  ::close(err);
  if (in >= 0)
    ::close(in);
  if (pid_ < 0)
    throw std::runtime_error(std::string{"child_process: fork failed: "}
                             + std::strerror(errno));
}

child_process::~child_process() {
  kill_now();
}

void child_process::reap(int status) {
  reaped_ = true;
  status_ = status;
}

bool child_process::running() {
  if (reaped_ || pid_ <= 0)
    return false;
  int status = 0;
  auto r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    reap(status);
    return false;
  }
  return true;
}

void child_process::signal(int sig) {
  if (running())
    ::kill(pid_, sig);
}

bool child_process::wait_for(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

void child_process::kill_now() {
  if (reaped_ || pid_ <= 0)
    return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reap(status);
}

int child_process::exit_code() const {
  return reaped_ && WIFEXITED(status_) ? WEXITSTATUS(status_) : -1;
}

int child_process::term_signal() const {
  return reaped_ && WIFSIGNALED(status_) ? WTERMSIG(status_) : 0;
}

std::string child_process::status_text() const {
  if (!reaped_)
    return "still running";
  if (WIFEXITED(status_))
    return "exit code " + std::to_string(WEXITSTATUS(status_));
  if (WIFSIGNALED(status_))
    return "killed by signal " + std::to_string(WTERMSIG(status_));
  return "status " + std::to_string(status_);
}

std::string child_process::out() const {
  return read_file(dir_.file("stdout"));
}

std::string child_process::err() const {
  return read_file(dir_.file("stderr"));
}

std::string child_process::describe() const {
  std::string cmd = program_;
  for (auto& a : args_)
    cmd += " " + a;
  auto e = err();
  if (e.size() > 1500)
    e = "..." + e.substr(e.size() - 1500);
  return "[pid " + std::to_string(pid_) + ", " + status_text() + "] " + cmd
         + "\n  stderr: " + (e.empty() ? "(empty)" : e);
}

run_result run_jobd(const std::vector<std::string>& args,
                    child_process::options opts,
                    std::chrono::milliseconds timeout) {
  child_process p{jobd_binary(), args, std::move(opts)};
  run_result r;
  if (!p.wait_for(timeout)) {
    p.kill_now();
    r.timed_out = true;
  }
  r.exit_code = p.exit_code();
  r.out = p.out();
  r.err = p.err();
  return r;
}

bool eventually(const std::function<bool()>& cond,
                std::chrono::milliseconds timeout,
                std::chrono::milliseconds every) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (cond())
      return true;
    if (std::chrono::steady_clock::now() >= deadline)
      return false;
    std::this_thread::sleep_for(every);
  }
}

std::string read_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line))
    out.push_back(line);
  return out;
}

uint16_t free_port() {
  boost::asio::io_context ioc;
  boost::asio::ip::tcp::acceptor a{
    ioc, {boost::asio::ip::address_v4::loopback(), 0}};
  return a.local_endpoint().port();
}

} // namespace jobd::test
