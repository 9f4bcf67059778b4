// Tests written in JavaScript, run against a live in-process server:
// - the React hooks of /jobs-client.js (node --test, tests/http/node), and
// - the dashboard in headless chromium (tests/http/browser/dashboard.mjs),
//   which this test starts and ends by PID.
// Both need tests/http/node/node_modules; `npm ci` installs it when missing.
#include <catch2/catch.hpp>

#include <csignal>
#include <fstream>
#include <sys/wait.h>
#include <unistd.h>

#include "handlers/configured_types.hpp"
#include "node_support.hpp"
#include "support/http_fixture.hpp"
#include "support/process.hpp"

using namespace jobd;
using namespace jobd::test;
using namespace std::chrono_literals;

namespace {

// A headless chromium with a DevTools port, ended by PID when it goes.
class chromium_process {
public:
  chromium_process() {
    auto profile = dir_.path().string();
    std::vector<std::string> args{
      "/usr/bin/chromium", "--headless", "--no-sandbox", "--disable-gpu",
      "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync",
      "--user-data-dir=" + profile, "--remote-debugging-address=127.0.0.1",
      "--remote-debugging-port=0", "about:blank"};
    pid_ = ::fork();
    if (pid_ == 0) {
      // Own process group, so its helper processes can be ended with it.
      ::setpgid(0, 0);
      std::vector<char*> argv;
      for (auto& a : args)
        argv.push_back(a.data());
      argv.push_back(nullptr);
      auto log = (profile + "/chromium.log");
      if (auto f = std::fopen(log.c_str(), "w")) {
        ::dup2(fileno(f), 1);
        ::dup2(fileno(f), 2);
      }
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    // Chromium writes the port it picked to DevToolsActivePort.
    auto port_file = profile + "/DevToolsActivePort";
    if (!wait_until([&] { return port_from(port_file) > 0; }, 30s))
      throw std::runtime_error("chromium did not open its DevTools port");
    port_ = port_from(port_file);
  }

  ~chromium_process() {
    if (pid_ <= 0)
      return;
    ::kill(pid_, SIGTERM);
    int status = 0;
    bool gone = wait_until([&] { return ::waitpid(pid_, &status, WNOHANG) == pid_; },
                           5s);
    if (!gone) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, &status, 0);
    }
    // Helpers it left behind are in its process group.
    ::kill(-pid_, SIGKILL);
  }

  std::string cdp_url() const {
    return "http://127.0.0.1:" + std::to_string(port_);
  }

private:
  static int port_from(const std::string& path) {
    std::ifstream in{path};
    int port = 0;
    in >> port;
    return in ? port : 0;
  }

  temp_dir dir_;
  pid_t pid_ = -1;
  int port_ = 0;
};

} // namespace

TEST_CASE("the React hooks of jobs-client.js work against a live server",
          "[http][node]") {
  ensure_node_modules();
  http_env_options opts;
  // Progress stored every 100 ms, so useJob sees it move (hooks.test.mjs).
  opts.tune = [](runtime_config& rc) { rc.pool.progress_interval_ms = 100; };
  http_env env{test_http_config(), opts};
  std::string out;
  auto rc = run_command("cd " + shell_quote(node_dir) + " && JOBD_URL="
                          + env.base_url() + " node --test hooks.test.mjs",
                        out);
  INFO(out);
  CHECK(rc == 0);
}

TEST_CASE("the dashboard lists, filters, shows and retries jobs in chromium",
          "[http][browser]") {
  ensure_node_modules();
  // SEND_SMS is served by external workers: the workers panel shows one.
  http_env_options opts;
  opts.add_handlers = [](handler_registry& r) {
    r.add("SEND_SMS",
          std::make_shared<external_handler>("SEND_SMS", std::nullopt));
  };
  http_env env{test_http_config(), opts};
  chromium_process browser;
  auto shot = std::string{JOBD_BINARY};
  shot = shot.substr(0, shot.rfind('/')) + "/artifacts/dashboard.png";
  std::string out;
  auto rc = run_command("node " + shell_quote(JOBD_SOURCE_DIR
                                         "/tests/http/browser/dashboard.mjs")
                          + " " + env.base_url() + " " + browser.cdp_url() + " "
                          + shell_quote(shot),
                        out);
  INFO(out);
  CHECK(rc == 0);
  CHECK(mtime_of(shot) > 0);
}

TEST_CASE("a page of a listed origin uses the API, the client and the event "
          "stream from chromium; another origin's page is kept out",
          "[http][browser][cors]") {
  ensure_node_modules();
  // The script serves each page on 127.0.0.1 at its origin's port.
  const std::string allowed = "http://localhost:" + std::to_string(free_port());
  const std::string other = "http://localhost:" + std::to_string(free_port());
  auto cfg = test_http_config();
  cfg.cors_origins = allowed;
  cfg.api_token = "cors-secret";
  http_env env{cfg};
  chromium_process browser;
  std::string out;
  auto rc = run_command(
    "node " + shell_quote(JOBD_SOURCE_DIR "/tests/http/browser/cors.mjs") + " "
      + env.base_url() + " " + browser.cdp_url() + " " + allowed + " " + other
      + " cors-secret",
    out);
  INFO(out);
  CHECK(rc == 0);
  // The other page's POST never got past its preflight.
  http_client c{env.port(), "cors-secret"};
  auto list = c.get("/api/jobs?limit=100");
  REQUIRE(list.status == 200);
  CHECK(list.body.find("\"from\":\"app\"") != std::string::npos);
  CHECK(list.body.find("\"from\":\"other\"") == std::string::npos);
}
