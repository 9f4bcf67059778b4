// http/openapi.yaml is the API's contract, checked by third-party tools
// (tests/http/node, packages pinned in its package-lock.json):
// - spec.test.mjs: valid OpenAPI 3.0 (swagger-parser), lint-clean (redocly);
// - contract.test.mjs: two live `jobd serve` processes answer every
//   operation and status as the spec says (Ajv over the dereferenced spec),
//   and the server's route table (written here from http_routes()) is the
//   spec's list of operations;
// - types.test.mjs: the client module's hand-written types agree with a
//   client generated from the spec (openapi-typescript, tsc --noEmit);
// - client-package.test.mjs: the client package (http/client) resolves by
//   its name, an example app on it type-checks (tsc --noEmit) and its
//   wrong jobs do not, and a live `jobd serve` runs the example jobs with
//   results of the declared shapes and refuses the wrong ones.
#include <catch2/catch.hpp>

#include <fstream>
#include <regex>

#include "node_support.hpp"
#include "support/process.hpp"

using namespace jobd;
using namespace jobd::test;
using namespace std::chrono_literals;

namespace {

int run_node_test(const std::string& file, const std::string& env = {}) {
  std::string out;
  auto rc = run_command("cd " + shell_quote(node_dir) + " && " + env
                          + " node --test " + file,
                        out);
  INFO(out);
  CHECK(rc == 0);
  return rc;
}

// A `jobd serve` on a free port (--port 0), ended with the test.
struct serve_process {
  serve_process(const temp_dir& dir, const std::string& name,
                std::vector<std::string> flags) {
    std::vector<std::string> args{"serve", "--db", dir.file(name + ".db"),
                                  "--port", "0", "--poll-interval", "50ms"};
    args.insert(args.end(), flags.begin(), flags.end());
    proc.emplace(jobd_binary(), std::move(args));
    // It logs "dashboard: http://127.0.0.1:PORT/jobs" once it listens.
    std::regex listening{R"(http://127\.0\.0\.1:(\d+)/jobs)"};
    std::smatch m;
    bool up = eventually(
      [&] {
        auto log = proc->err() + proc->out();
        if (!std::regex_search(log, m, listening))
          return false;
        url = "http://127.0.0.1:" + m[1].str();
        return true;
      },
      30s);
    INFO(proc->describe());
    REQUIRE(up);
  }

  std::optional<child_process> proc;
  std::string url;
};

} // namespace

TEST_CASE("openapi.yaml is valid OpenAPI 3 and lint-clean",
          "[http][node][openapi]") {
  ensure_node_modules();
  run_node_test("spec.test.mjs");
}

TEST_CASE("a live jobd serve answers every operation and status as "
          "openapi.yaml says",
          "[http][node][openapi][contract]") {
  ensure_node_modules();
  temp_dir dir;
  // A type for external workers (the worker protocol's operations).
  auto conf = dir.file("contract.ini");
  std::ofstream{conf} << "[types.SEND_SMS]\nhandler = external\n";
  // Small limits, so 413 and 503 are cheap to reach.
  serve_process api{dir,
                    "api",
                    {"--config", conf, "--api-token", "contract-token",
                     "--workers", "2",
                     "--set", "http.body_limit=4096", "--set",
                     "http.batch_body_limit=8192", "--set",
                     "http.max_connections=16", "--set",
                     // Held connections must not time out mid-test.
                     "http.idle_timeout=600s"}};
  serve_process bare{dir, "bare",
                     {"--workers", "0", "--set", "http.dashboard=false"}};
  // The route table the server dispatches on.
  auto routes = dir.file("routes.json");
  {
    std::ofstream out{routes};
    out << "[";
    bool first = true;
    for (auto& r : http_routes()) {
      out << (first ? "" : ",") << "{\"method\":\"" << r.method
          << "\",\"path\":\"" << r.path
          << "\",\"needsAuth\":" << (r.needs_auth ? "true" : "false") << "}";
      first = false;
    }
    out << "]";
  }
  auto rc = run_node_test(
    "contract.test.mjs",
    "JOBD_URL=" + api.url + " JOBD_BARE_URL=" + bare.url
      + " JOBD_TOKEN=contract-token JOBD_BODY_LIMIT=4096"
        " JOBD_BATCH_BODY_LIMIT=8192 JOBD_MAX_CONNECTIONS=16 JOBD_ROUTES="
      + shell_quote(routes));
  if (rc != 0) {
    INFO(api.proc->describe());
    INFO(bare.proc->describe());
    CHECK(api.proc->running());
  }
}

TEST_CASE("jobs-client.d.ts agrees with openapi.yaml and with jobs-client.js",
          "[http][node][openapi][types]") {
  ensure_node_modules();
  run_node_test("types.test.mjs");
}

TEST_CASE("the client package: an example app type-checks, the jobs its types "
          "refuse jobd refuses, and results have the declared shapes",
          "[http][node][types][client]") {
  ensure_node_modules();
  temp_dir dir;
  // The chat types call a fake OpenAI API the node test serves on this port.
  const auto openai_port = std::to_string(free_port());
  serve_process api{dir,
                    "client",
                    {"--workers", "2", "--set",
                     "export.directory=" + dir.file("exports"), "--set",
                     "openai.base_url=http://127.0.0.1:" + openai_port + "/v1",
                     "--set", "openai.api_key=client-test-key"}};
  std::string out;
  auto rc = run_command("cd " + shell_quote(node_dir) + " && JOBD_URL="
                          + api.url + " FAKE_OPENAI_PORT=" + openai_port
                          + " node --test client-package.test.mjs",
                        out);
  INFO(out);
  CHECK(rc == 0);
  // The live tests skip without JOBD_URL; here they must have run.
  CHECK(out.find("# skipped 0") != std::string::npos);
  if (rc != 0) {
    INFO(api.proc->describe());
    CHECK(api.proc->running());
  }
}
