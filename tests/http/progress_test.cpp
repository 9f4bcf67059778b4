// A running job's progress in the API and the event stream (issue 11 item
// 5): ECHO reports the time it waited as progress.
#include <catch2/catch.hpp>

#include <regex>

#include "support/http_fixture.hpp"

using namespace jobd;
using namespace jobd::test;
using namespace std::chrono_literals;

namespace {

http_env_options fast_progress() {
  http_env_options opts;
  opts.tune = [](runtime_config& rc) { rc.pool.progress_interval_ms = 100; };
  return opts;
}

} // namespace

TEST_CASE("a job's progress is null until its handler reports, then shown "
          "while it runs and kept when it finishes",
          "[http][progress]") {
  http_env env{test_http_config(), fast_progress()};
  http_client c{env.port()};
  // Not yet run: no progress.
  auto later = c.post("/api/jobs", R"({"type":"ECHO","scheduledFor":"2099-01-01T00:00:00Z"})");
  REQUIRE(later.status == 201);
  CHECK(json_at(later.body, "/progress") == "null");
  CHECK(json_at(c.get("/api/jobs/" + *json_at(later.body, "/id")).body,
                "/progress")
        == "null");
  // A job that waits 1.5 s reports as it goes.
  auto r = c.post("/api/jobs", R"({"type":"ECHO","payload":{"delayMs":1500}})");
  REQUIRE(r.status == 201);
  auto id = *json_at(r.body, "/id");
  std::string running;
  REQUIRE(wait_until([&] {
    auto g = c.get("/api/jobs/" + id);
    if (json_at(g.body, "/status") != "PROCESSING"
        || json_at(g.body, "/progress") == "null")
      return false;
    running = g.body;
    return true;
  }));
  auto fraction = std::stod(*json_at(running, "/progress/fraction"));
  CHECK(fraction >= 0);
  CHECK(fraction < 1);
  CHECK(std::regex_match(*json_at(running, "/progress/message"),
                         std::regex{"waited [0-9]+ of 1500 ms"}));
  auto at = *json_at(running, "/progress/updatedAt");
  CHECK(at.size() == 24);
  CHECK(at.back() == 'Z');
  // The list shows it too.
  CHECK_THAT(c.get("/api/jobs?status=PROCESSING").body,
             Catch::Contains("\"progress\":{\"fraction\":"));
  REQUIRE(wait_until([&] {
    return json_at(c.get("/api/jobs/" + id).body, "/status") == "COMPLETED";
  }, 10s));
  auto done = c.get("/api/jobs/" + id).body;
  CHECK(json_at(done, "/progress") != "null");
  CHECK(std::regex_match(*json_at(done, "/progress/message"),
                         std::regex{"waited [0-9]+ of 1500 ms"}));
}

TEST_CASE("the event stream carries progress as job events",
          "[http][sse][progress]") {
  http_env env{test_http_config(), fast_progress()};
  raw_connection stream{env.port()};
  stream.send("GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n");
  stream.read_until(
    [](const std::string& s) { return s.find(": connected") != std::string::npos; },
    5s);
  http_client c{env.port()};
  auto id = *json_at(
    c.post("/api/jobs", R"({"type":"ECHO","payload":{"delayMs":1000}})").body,
    "/id");
  auto seen = stream.read_until(
    [&](const std::string& s) {
      return s.find("\"status\":\"COMPLETED\"") != std::string::npos;
    },
    10s);
  // While PROCESSING, at least one event said how far it was.
  std::regex progressing{"\"id\":\"" + id
                         + "\",\"type\":\"ECHO\",\"status\":\"PROCESSING\"[^\n]*"
                           "\"progress\":\\{\"fraction\":0(\\.[0-9]+)?,"
                           "\"message\":\"waited [0-9]+ of 1000 ms\""};
  CHECK(std::regex_search(seen, progressing));
}

// -- per-job timeout (issue 11 item 8) ----------------------------------------

TEST_CASE("timeoutMs: stored and shown; a job past it fails with the "
          "timeout named; a bad one is 400 naming the field",
          "[http][timeout]") {
  http_env env;
  http_client c{env.port()};
  auto plain = c.post("/api/jobs", R"({"type":"ECHO","scheduledFor":"2099-01-01T00:00:00Z"})");
  REQUIRE(plain.status == 201);
  CHECK(json_at(plain.body, "/timeoutMs") == "null");
  auto r = c.post("/api/jobs",
                  R"({"type":"ECHO","payload":{"delayMs":60000},"timeoutMs":200,"maxRetries":0})");
  REQUIRE(r.status == 201);
  CHECK(json_at(r.body, "/timeoutMs") == "200");
  auto id = *json_at(r.body, "/id");
  REQUIRE(wait_until([&] {
    return json_at(c.get("/api/jobs/" + id).body, "/status") == "FAILED";
  }, 10s));
  auto failed = c.get("/api/jobs/" + id).body;
  CHECK(json_at(failed, "/error") == "timed out after 200 ms (timeoutMs)");
  CHECK(json_at(failed, "/timeoutMs") == "200");
  for (auto bad : {R"("timeoutMs":0)", R"("timeoutMs":-5)",
                   R"("timeoutMs":604800001)", R"("timeoutMs":"1s")",
                   R"("timeoutMs":1.5)"}) {
    INFO(bad);
    auto refused = c.post("/api/jobs", std::string{R"({"type":"ECHO",)"} + bad + "}");
    CHECK(refused.status == 400);
    CHECK(json_at(refused.body, "/error/field") == "timeoutMs");
  }
  auto batch = c.post("/api/jobs/batch",
                      R"({"jobs":[{"type":"ECHO"},{"type":"ECHO","timeoutMs":0}]})");
  CHECK(batch.status == 400);
  CHECK(json_at(batch.body, "/error/field") == "jobs[1].timeoutMs");
}
