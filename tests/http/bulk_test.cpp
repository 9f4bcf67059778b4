// Bulk actions over HTTP (issue 11 item 6): POST /api/jobs/bulk retries,
// cancels or deletes every job matching a filter and answers with counts;
// every bad field is 400 naming it.
#include <catch2/catch.hpp>

#include "support/http_fixture.hpp"

using namespace jobd;
using namespace jobd::test;

namespace {

// A job of `type` due in 2030 (no worker takes it), put in `status` by hand.
std::string waiting_job(http_client& c, const std::string& type,
                        const std::string& status = "PENDING") {
  auto r = c.post("/api/jobs", R"({"type":")" + type
                                 + R"(","scheduledFor":"2030-01-01T00:00:00Z"})");
  REQUIRE(r.status == 201);
  auto id = *json_at(r.body, "/id");
  if (status != "PENDING") {
    auto p = c.request("PATCH", "/api/jobs/" + id,
                       R"({"status":")" + status + R"("})");
    REQUIRE(p.status == 200);
  }
  return id;
}

} // namespace

TEST_CASE("bulk: retry, cancel and delete by filter answer with the counts",
          "[http][bulk]") {
  http_env env{test_http_config(), with_other()};
  http_client c{env.port()};
  auto f1 = waiting_job(c, "ECHO", "FAILED");
  auto f2 = waiting_job(c, "ECHO", "FAILED");
  auto f3 = waiting_job(c, "OTHER", "FAILED");
  auto p1 = waiting_job(c, "ECHO");
  auto p2 = waiting_job(c, "OTHER");

  // Retry the FAILED ECHO jobs: due now, so the workers run them.
  auto r = c.post("/api/jobs/bulk", R"({"action":"retry","type":"ECHO"})");
  REQUIRE(r.status == 200);
  CHECK(r.body
        == R"({"action":"retry","matched":2,"changed":2,"skipped":0,"more":false})");
  REQUIRE(wait_until([&] {
    return status_of(c, f1) == "COMPLETED" && status_of(c, f2) == "COMPLETED";
  }));
  CHECK(status_of(c, f3) == "FAILED");

  // Cancel the PENDING ones with who and why; max caps, more says so.
  auto capped = c.post("/api/jobs/bulk",
                       R"({"action":"cancel","status":"PENDING","max":1,)"
                       R"("reason":"bad deploy","by":"alice"})");
  REQUIRE(capped.status == 200);
  CHECK(capped.body
        == R"({"action":"cancel","matched":1,"changed":1,"skipped":0,"more":true})");
  CHECK(status_of(c, p2) == "CANCELLED"); // the newest first
  CHECK(json_at(c.get("/api/jobs/" + p2).body, "/error")
        == "cancelled by alice: bad deploy");
  auto rest = c.post("/api/jobs/bulk", R"({"action":"cancel"})");
  REQUIRE(rest.status == 200);
  CHECK(json_at(rest.body, "/changed") == "1");
  CHECK(json_at(rest.body, "/more") == "false");
  CHECK(status_of(c, p1) == "CANCELLED");
  CHECK(json_at(c.get("/api/jobs/" + p1).body, "/error") == "cancelled");

  // Delete: only what finished before the time given, then all finished.
  auto none = c.post("/api/jobs/bulk",
                     R"({"action":"delete","finishedBefore":"2020-01-01T00:00:00Z"})");
  REQUIRE(none.status == 200);
  CHECK(json_at(none.body, "/matched") == "0");
  auto cancelled = c.post("/api/jobs/bulk",
                          R"({"action":"delete","status":"CANCELLED"})");
  REQUIRE(cancelled.status == 200);
  CHECK(json_at(cancelled.body, "/changed") == "2");
  CHECK(c.get("/api/jobs/" + p1).status == 404);
  auto all = c.post("/api/jobs/bulk",
                    R"({"action":"delete","finishedBefore":"2999-01-01T00:00:00Z","max":10000})");
  REQUIRE(all.status == 200);
  CHECK(json_at(all.body, "/changed") == "3"); // f1, f2 (COMPLETED), f3
  CHECK(json_count(c.get("/api/jobs").body, "/jobs") == 0);
  auto stats = c.get("/api/stats");
  CHECK(json_at(stats.body, "/total") == "0");
}

TEST_CASE("bulk: every bad field is 400 naming it, and nothing changes",
          "[http][bulk]") {
  http_env env{test_http_config(), with_other()};
  http_client c{env.port()};
  auto failed = waiting_job(c, "ECHO", "FAILED");
  auto pending = waiting_job(c, "ECHO");
  struct bad_case {
    std::string body;
    std::string field;
    std::string message; ///< a part of it
  };
  std::vector<bad_case> cases = {
    {R"({})", "action", "action is required"},
    {R"({"action":"purge"})", "action",
     R"(must be one of "retry", "cancel", "delete", got "purge")"},
    {R"({"action":7})", "action", "must be one of"},
    {R"({"action":"retry","status":"PENDING"})", "status",
     "status: retry applies to FAILED jobs only, got 'PENDING'"},
    {R"({"action":"cancel","status":"COMPLETED"})", "status",
     "cancel applies to PENDING and PROCESSING jobs only"},
    {R"({"action":"delete","status":"PROCESSING"})", "status",
     "delete applies to finished jobs only"},
    {R"({"action":"retry","status":"failed"})", "status",
     "status: expected PENDING"},
    {R"({"action":"retry","status":5})", "status", "must be a string"},
    {R"({"action":"retry","type":"NOPE"})", "type",
     "type: expected one of ECHO, OTHER, got 'NOPE'"},
    {R"({"action":"delete","finishedBefore":"yesterday"})", "finishedBefore",
     "must be an ISO-8601 time"},
    {R"({"action":"retry","finishedBefore":"2020-01-01T00:00:00Z"})",
     "finishedBefore", "is for delete only"},
    {R"({"action":"retry","max":0})", "max", "must be between 1 and 10000"},
    {R"({"action":"retry","max":10001})", "max", "got 10001"},
    {R"({"action":"retry","max":"all"})", "max", "must be a whole number"},
    {R"({"action":"retry","reason":"x"})", "reason", "is for cancel only"},
    {R"({"action":"delete","by":"x"})", "by", "is for cancel only"},
    {R"({"action":"cancel","reason":"a\u0007b"})", "reason",
     "must not contain control characters"},
    {"{\"action\":\"cancel\",\"by\":\"" + std::string(101, 'b') + "\"}", "by",
     "at most 100 bytes"},
    {R"({"action":"retry","filter":{}})", "filter",
     "is not a bulk field; the fields are action, status, type, "
     "finishedBefore, max, reason and by"},
    {R"(["retry"])", "", "must be a JSON object"},
    {"retry all", "", ""},
  };
  for (auto& bc : cases) {
    INFO(bc.body);
    auto r = c.post("/api/jobs/bulk", bc.body);
    CHECK(r.status == 400);
    CHECK(field_of(r) == bc.field);
    CHECK_THAT(message_of_body(r), Catch::Contains(bc.message));
  }
  CHECK(status_of(c, failed) == "FAILED");
  CHECK(status_of(c, pending) == "PENDING");
  // Only POST.
  CHECK(c.get("/api/jobs/bulk").status == 405);
}
