// jobd under systemd: the unit files in conf/ parse cleanly
// (systemd-analyze verify), and a process speaks the notify protocol a
// Type=notify unit relies on: READY once started, watchdog pings,
// RELOADING/READY around SIGHUP, STOPPING on SIGTERM.
#include <catch2/catch.hpp>

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>

#include "support/process.hpp"

using namespace jobd;
using namespace jobd::test;
using namespace std::chrono_literals;

namespace {

// Runs `cmd` through sh; returns its exit code, its stderr in `err`.
int run_sh(const std::string& cmd, std::string& err, const temp_dir& dir) {
  auto err_file = dir.file("sh.err");
  int rc = std::system((cmd + " 2>" + err_file).c_str());
  err = read_file(err_file);
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

// A datagram socket standing in for systemd's NOTIFY_SOCKET.
class notify_socket {
public:
  explicit notify_socket(const std::string& path) : path_(path) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    REQUIRE(fd_ >= 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    REQUIRE(path.size() < sizeof(a.sun_path));
    std::memcpy(a.sun_path, path.data(), path.size());
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    timeval tv{0, 200'000};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~notify_socket() { ::close(fd_); }
  // The messages received until one matches `re`, or 30 s pass.
  std::vector<std::string> until(const std::regex& re) {
    std::vector<std::string> got;
    auto deadline = std::chrono::steady_clock::now() + 30s;
    while (std::chrono::steady_clock::now() < deadline) {
      char buf[4096];
      auto n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0)
        continue;
      got.emplace_back(buf, static_cast<size_t>(n));
      if (std::regex_search(got.back(), re))
        return got;
    }
    FAIL("no notify message matching the pattern; got "
         << got.size() << " message(s)");
    return got;
  }

private:
  std::string path_;
  int fd_ = -1;
};

} // namespace

TEST_CASE("the systemd units in conf/ pass systemd-analyze verify",
          "[app][systemd]") {
  temp_dir dir;
  // The units name /usr/local/bin/jobd; verify checks the binary exists,
  // so the copies point at the one under test.
  for (auto name : {"jobd.service", "jobd-worker@.service"}) {
    auto text = read_file(std::string{JOBD_SOURCE_DIR} + "/conf/" + name);
    REQUIRE_FALSE(text.empty());
    CHECK(text.find("Type=notify\n") != std::string::npos);
    CHECK(text.find("ExecReload=/bin/kill -HUP $MAINPID") != std::string::npos);
    CHECK(text.find("NoNewPrivileges=yes") != std::string::npos);
    CHECK(text.find("ProtectSystem=strict") != std::string::npos);
    CHECK(text.find("ReadWritePaths=/var/lib/jobd") != std::string::npos);
    text = std::regex_replace(text, std::regex{"/usr/local/bin/jobd"},
                              jobd_binary());
    std::ofstream{dir.file(name)} << text;
  }
  std::string err;
  auto rc = run_sh("cd " + dir.path().string()
                     + " && systemd-analyze verify ./jobd.service "
                       "./jobd-worker@.service",
                   err, dir);
  INFO(err);
  CHECK(rc == 0);
  // verify reports a bad line on stderr and still exits 0.
  CHECK(err.empty());
}

TEST_CASE("jobd worker tells systemd it is ready, alive, reloading and "
          "stopping",
          "[app][systemd]") {
  temp_dir dir;
  notify_socket sock{dir.file("notify")};
  child_process::options opts;
  opts.env["NOTIFY_SOCKET"] = dir.file("notify");
  opts.env["WATCHDOG_USEC"] = "200000"; // pings every 100 ms
  opts.env["WATCHDOG_PID"] = std::nullopt;
  child_process w{jobd_binary(),
                  {"worker", "--db", dir.file("jobs.db")}, opts};
  INFO(w.describe());
  sock.until(std::regex{"^READY=1\nSTATUS=worker started: "});
  // Not before the process says it started.
  CHECK(w.err().find("worker started: ") != std::string::npos);
  sock.until(std::regex{"^WATCHDOG=1$"});
  sock.until(std::regex{"^WATCHDOG=1$"});
  w.signal(SIGHUP);
  sock.until(std::regex{"^RELOADING=1$"});
  sock.until(std::regex{"^READY=1$"});
  w.signal(SIGTERM);
  sock.until(std::regex{"^STOPPING=1\n"});
  REQUIRE(w.wait_for(60s));
  CHECK(w.exit_code() == 0);
}

TEST_CASE("without NOTIFY_SOCKET jobd sends nothing and runs as before",
          "[app][systemd]") {
  temp_dir dir;
  child_process::options opts;
  opts.env["NOTIFY_SOCKET"] = std::nullopt;
  opts.env["WATCHDOG_USEC"] = "200000"; // ignored without a socket
  child_process w{jobd_binary(),
                  {"worker", "--db", dir.file("jobs.db")}, opts};
  INFO(w.describe());
  REQUIRE(eventually(
    [&] { return w.err().find("worker started: ") != std::string::npos; },
    60s));
  w.signal(SIGTERM);
  REQUIRE(w.wait_for(60s));
  CHECK(w.exit_code() == 0);
}
