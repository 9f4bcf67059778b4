// handler = exec with small programs run without a shell by jobd (/bin/cat,
// /usr/bin/yes, and /bin/sh -c when a test needs a script): results,
// failures, exit-code policy, the environment, timeouts and cancellation
// that kill the whole process group, the output cap, and a payload larger
// than a pipe buffer.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <future>
#include <thread>

#include <signal.h>

#include "handlers/exec.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

using namespace jobd;
using namespace jobd::test;
using namespace std::chrono_literals;

namespace {

struct exec_env {
  exec_config cfg;
  std::atomic<bool> cancelled{false};

  explicit exec_env(std::vector<std::string> command) {
    cfg.command = std::move(command);
    cfg.timeout_ms = 20'000;
  }

  outcome run(const std::string& payload = "{}") {
    exec_handler h{"THUMBNAIL", cfg, std::nullopt};
    job j;
    j.id = "01JTESTEXEC0000000000000000";
    j.type = "THUMBNAIL";
    j.attempt = 2;
    j.payload = payload;
    run_context ctx;
    ctx.cancelled = &cancelled;
    return h.run(j, ctx);
  }
};

std::vector<std::string> sh(const std::string& script) {
  return {"/bin/sh", "-c", script};
}

// Whether process `pid` is gone (or only a zombie waiting for its reaper,
// which runs no more code).
bool process_gone(const std::string& pid) {
  auto stat = read_file("/proc/" + pid + "/stat");
  if (stat.empty())
    return true;
  auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size()
         && stat[close + 2] == 'Z';
}

std::string trimmed(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
    s.pop_back();
  return s;
}

} // namespace

TEST_CASE("exec: stdout as JSON is the result", "[handlers][exec]") {
  exec_env env{{"/bin/cat"}};
  auto o = env.run(R"({"to":"x","n":[1,2]})");
  INFO(o.error);
  REQUIRE(o.ok);
  CHECK(o.result == R"({"to":"x","n":[1,2]})");
  // No output at all is the result null.
  exec_env quiet{{"/bin/true"}};
  o = quiet.run();
  REQUIRE(o.ok);
  CHECK(o.result == "null");
}

TEST_CASE("exec: the program sees the job in its environment, not jobd's "
          "secrets",
          "[handlers][exec]") {
  ::setenv("OPENAI_API_KEY", "sk-should-not-pass-0123456789", 1);
  ::setenv("HOOK_SECRET_VAR", "also-secret-0123456789", 1);
  ::setenv("JOBD_TEST_PLAIN", "plain", 1);
  exec_env env{sh("printf '{\"id\":\"%s\",\"attempt\":\"%s\",\"type\":\"%s\","
                  "\"key\":\"%s\",\"hook\":\"%s\",\"plain\":\"%s\"}' "
                  "\"$JOBD_JOB_ID\" \"$JOBD_ATTEMPT\" \"$JOBD_TYPE\" "
                  "\"${OPENAI_API_KEY:-none}\" \"${HOOK_SECRET_VAR:-none}\" "
                  "\"$JOBD_TEST_PLAIN\"")};
  env.cfg.withheld_env = {"HOOK_SECRET_VAR"};
  auto o = env.run();
  ::unsetenv("OPENAI_API_KEY");
  ::unsetenv("HOOK_SECRET_VAR");
  ::unsetenv("JOBD_TEST_PLAIN");
  INFO(o.error);
  REQUIRE(o.ok);
  CHECK(o.result
        == R"({"id":"01JTESTEXEC0000000000000000","attempt":"2",)"
           R"("type":"THUMBNAIL","key":"none","hook":"none","plain":"plain"})");
}

TEST_CASE("exec: stdout that is not JSON fails the job permanently",
          "[handlers][exec]") {
  exec_env env{{"/usr/bin/env"}};
  auto o = env.run();
  CHECK_FALSE(o.ok);
  CHECK(o.permanent);
  CHECK_THAT(o.error, Catch::Contains("exited with code 0 but its stdout is "
                                      "not JSON"));
}

TEST_CASE("exec: a non-zero exit fails with the code and stderr's last "
          "lines; 75 retryable, 65 permanent",
          "[handlers][exec]") {
  exec_env env{sh("echo first >&2; echo; echo second >&2; echo 'last words' >&2; "
                  "echo $(printf 'tab\\there') >&2; exit 3")};
  auto o = env.run();
  CHECK_FALSE(o.ok);
  CHECK_FALSE(o.permanent);
  CHECK(o.error
        == "the command /bin/sh exited with code 3: second | last words | "
           "tab here");
  exec_env fails{{"/bin/false"}};
  o = fails.run();
  CHECK_FALSE(o.permanent);
  CHECK(o.error == "the command /bin/false exited with code 1");
  exec_env temp{sh("exit 75")};
  o = temp.run();
  CHECK_FALSE(o.ok);
  CHECK_FALSE(o.permanent);
  exec_env data{sh("echo 'bad input' >&2; exit 65")};
  o = data.run();
  CHECK_FALSE(o.ok);
  CHECK(o.permanent);
  CHECK_THAT(o.error, Catch::EndsWith("code 65: bad input"));
}

TEST_CASE("exec: a program that cannot run fails permanently",
          "[handlers][exec]") {
  exec_env env{{"/nonexistent/program"}};
  auto o = env.run();
  CHECK_FALSE(o.ok);
  CHECK(o.permanent);
  CHECK_THAT(o.error, Catch::StartsWith("cannot run /nonexistent/program"));
  exec_env cwd{{"/bin/true"}};
  cwd.cfg.cwd = "/nonexistent-dir";
  o = cwd.run();
  CHECK_FALSE(o.ok);
  CHECK_THAT(o.error, Catch::Contains("in /nonexistent-dir"));
}

TEST_CASE("exec: the timeout kills the whole process group, grandchildren "
          "that ignore SIGTERM included",
          "[handlers][exec]") {
  temp_dir dir;
  auto pidfile = dir.file("grandchild.pid");
  // The shell and its child ignore SIGTERM, so only the SIGKILL after the
  // grace ends them.
  exec_env env{sh("trap '' TERM; /bin/sleep 60 & echo $! > " + pidfile
                  + "; wait")};
  env.cfg.timeout_ms = 300;
  auto start = std::chrono::steady_clock::now();
  auto o = env.run();
  auto took = std::chrono::steady_clock::now() - start;
  CHECK_FALSE(o.ok);
  CHECK_FALSE(o.permanent);
  CHECK_THAT(o.error, Catch::Contains("did not finish within 300 ms; its "
                                      "process group was stopped"));
  CHECK(took < 10s);
  auto grandchild = trimmed(read_file(pidfile));
  REQUIRE_FALSE(grandchild.empty());
  CHECK(eventually([&] { return process_gone(grandchild); }, 10s));
}

TEST_CASE("exec: cancelling stops the process group", "[handlers][exec]") {
  temp_dir dir;
  auto pidfile = dir.file("grandchild.pid");
  exec_env env{sh("/bin/sleep 60 & echo $! > " + pidfile + "; wait")};
  auto run = std::async(std::launch::async, [&] { return env.run(); });
  REQUIRE(eventually([&] { return !trimmed(read_file(pidfile)).empty(); },
                     10s));
  env.cancelled = true;
  REQUIRE(run.wait_for(10s) == std::future_status::ready);
  auto o = run.get();
  CHECK_FALSE(o.ok);
  CHECK_THAT(o.error, Catch::StartsWith("cancelled while the command /bin/sh "
                                        "ran"));
  auto grandchild = trimmed(read_file(pidfile));
  CHECK(eventually([&] { return process_gone(grandchild); }, 10s));
}

TEST_CASE("exec: what an exited command left running does not hold the "
          "job up",
          "[handlers][exec]") {
  temp_dir dir;
  auto pidfile = dir.file("left.pid");
  exec_env env{sh("/bin/sleep 60 & echo $! > " + pidfile + "; echo '{}'")};
  auto start = std::chrono::steady_clock::now();
  auto o = env.run();
  INFO(o.error);
  REQUIRE(o.ok);
  CHECK(o.result == "{}");
  CHECK(std::chrono::steady_clock::now() - start < 10s);
  auto left = trimmed(read_file(pidfile));
  CHECK(eventually([&] { return process_gone(left); }, 10s));
}

TEST_CASE("exec: output over max_output_bytes stops the program",
          "[handlers][exec]") {
  exec_env env{{"/usr/bin/yes"}};
  env.cfg.max_output_bytes = 1000;
  auto o = env.run();
  CHECK_FALSE(o.ok);
  CHECK(o.permanent);
  CHECK_THAT(o.error, Catch::Contains("more than 1000 bytes to stdout"));
  exec_env err{sh("/usr/bin/yes >&2")};
  err.cfg.max_output_bytes = 1000;
  o = err.run();
  CHECK_THAT(o.error, Catch::Contains("more than 1000 bytes to stderr"));
}

TEST_CASE("exec: a payload larger than a pipe buffer goes in while the "
          "output comes out",
          "[handlers][exec]") {
  // 4 MiB in and out: neither side may wait for the other.
  std::string payload = "{\"s\":\"" + std::string(4 << 20, 'x') + "\"}";
  exec_env env{{"/bin/cat"}};
  env.cfg.max_output_bytes = 8 << 20;
  auto o = env.run(payload);
  INFO(o.error);
  REQUIRE(o.ok);
  CHECK(o.result == payload);
  // A program that never reads its stdin is fine too.
  exec_env deaf{sh("echo 1")};
  o = deaf.run(payload);
  INFO(o.error);
  REQUIRE(o.ok);
  CHECK(o.result == "1");
}
