// Unique keys over HTTP (issue 11, item 2): a create with a taken uniqueKey
// answers with the existing job, "duplicate": true and 200 (a batch that
// stored anything: 201), and every bad unique option is a 400 naming the
// field, with nothing stored.
#include <catch2/catch.hpp>

#include "support/http_fixture.hpp"

using namespace jobd;
using namespace jobd::test;

TEST_CASE("POST /api/jobs with a taken uniqueKey returns the existing job",
          "[http][unique]") {
  http_env env;
  http_client c{env.port()};
  auto first = c.post("/api/jobs", R"({"type":"ECHO","uniqueKey":"report-7",)"
                                   R"("scheduledFor":"2099-01-01T00:00:00Z"})");
  INFO(first.body);
  REQUIRE(first.status == 201);
  auto id = json_at(first.body, "/id").value_or("");
  CHECK(json_at(first.body, "/duplicate") == "false");
  CHECK(json_at(first.body, "/uniqueKey") == "report-7");
  auto again = c.post("/api/jobs", R"({"type":"ECHO","uniqueKey":"report-7",)"
                                   R"("priority":5})");
  INFO(again.body);
  CHECK(again.status == 200);
  CHECK(json_at(again.body, "/id") == id);
  CHECK(json_at(again.body, "/duplicate") == "true");
  CHECK(json_at(again.body, "/priority") == "0");
  CHECK(json_count(c.get("/api/jobs").body, "/jobs") == 1);
  // In a batch, each job says which it is.
  auto batch = c.post("/api/jobs/batch",
                      R"({"jobs":[{"type":"ECHO","uniqueKey":"report-8"},)"
                      R"({"type":"ECHO","uniqueKey":"report-7"}]})");
  INFO(batch.body);
  CHECK(batch.status == 201);
  CHECK(json_at(batch.body, "/jobs/0/duplicate") == "false");
  CHECK(json_at(batch.body, "/jobs/1/duplicate") == "true");
  CHECK(json_at(batch.body, "/jobs/1/id") == id);
  CHECK(json_count(c.get("/api/jobs").body, "/jobs") == 2);
  // A period shows when the key frees up; states are listed.
  auto daily = c.post("/api/jobs", R"({"type":"ECHO","uniqueKey":"digest",)"
                                   R"("uniqueStates":["PROCESSING","PENDING"],)"
                                   R"("uniquePeriodMs":86400000})");
  INFO(daily.body);
  CHECK(daily.status == 201);
  CHECK_THAT(json_at(daily.body, "/uniqueUntil").value_or(""),
             Catch::EndsWith("T00:00:00.000Z"));
  CHECK(json_at(daily.body, "/uniqueStates/0") == "PENDING");
  CHECK(json_at(daily.body, "/uniqueStates/1") == "PROCESSING");
  CHECK(json_count(daily.body, "/uniqueStates") == 2);
}

TEST_CASE("bad unique options are refused naming the field; nothing is stored",
          "[http][unique]") {
  http_env env;
  http_client c{env.port()};
  struct bad {
    const char* job; // JSON members after "type":"ECHO"
    const char* field;
    const char* message_start;
  };
  const bad cases[] = {
    {R"("uniqueKey":"")", "uniqueKey", "uniqueKey must be a string of 1 to 255 bytes"},
    {R"("uniqueKey":7)", "uniqueKey", "uniqueKey must be a string"},
    {R"("uniqueKey":"a\nb")", "uniqueKey", "uniqueKey must not contain control characters"},
    {R"("uniqueKey":"k","uniqueStates":["PENDING"])", "uniqueStates", "uniqueStates must be a list of statuses that includes PENDING and PROCESSING"},
    {R"("uniqueKey":"k","uniqueStates":"PENDING")", "uniqueStates", "uniqueStates must be a list"},
    {R"("uniqueKey":"k","uniqueStates":["PENDING","PROCESSING","DONE"])", "uniqueStates[2]", "uniqueStates[2] must be PENDING, PROCESSING, COMPLETED or FAILED"},
    {R"("uniqueKey":"k","uniquePeriodMs":0)", "uniquePeriodMs", "uniquePeriodMs must be between 1 and 31622400000"},
    {R"("uniqueKey":"k","uniquePeriodMs":"1h")", "uniquePeriodMs", "uniquePeriodMs must be a whole number"},
    {R"("uniqueStates":["PENDING","PROCESSING"])", "uniqueKey", "uniqueKey is required with uniqueStates or uniquePeriodMs"},
    {R"("uniquePeriodMs":1000)", "uniqueKey", "uniqueKey is required"},
  };
  std::string long_key = R"("uniqueKey":")" + std::string(256, 'k') + "\"";
  for (auto& b : cases) {
    std::string job = std::string{R"({"type":"ECHO",)"} + b.job + "}";
    INFO(job);
    auto r = c.post("/api/jobs", job);
    INFO(r.body);
    CHECK(r.status == 400);
    CHECK(field_of(r) == b.field);
    CHECK_THAT(message_of_body(r), Catch::StartsWith(b.message_start));
    auto batch = c.post("/api/jobs/batch",
                        R"({"jobs":[{"type":"ECHO","uniqueKey":"ok"},)" + job
                          + "]}");
    CHECK(batch.status == 400);
    CHECK(field_of(batch) == std::string{"jobs[1]."} + b.field);
  }
  auto r = c.post("/api/jobs", R"({"type":"ECHO",)" + long_key + "}");
  CHECK(r.status == 400);
  CHECK(field_of(r) == "uniqueKey");
  CHECK(json_count(c.get("/api/jobs").body, "/jobs") == 0);
}

TEST_CASE("a retry by hand that would take a held key is a 409 naming the "
          "holder",
          "[http][unique]") {
  http_env env;
  http_client c{env.port()};
  auto body = R"({"type":"ECHO","uniqueKey":"nightly",)"
              R"("uniqueStates":["PENDING","PROCESSING"],)"
              R"("scheduledFor":"2099-01-01T00:00:00Z"})";
  auto a = c.post("/api/jobs", body);
  REQUIRE(a.status == 201);
  auto a_id = json_at(a.body, "/id").value_or("");
  // Failed by hand, the job lets go of its key ...
  auto failed = c.request("PATCH", "/api/jobs/" + a_id,
                          R"({"status":"FAILED","error":"not tonight"})");
  REQUIRE(failed.status == 200);
  auto b = c.post("/api/jobs", body);
  REQUIRE(b.status == 201);
  auto b_id = json_at(b.body, "/id").value_or("");
  CHECK(b_id != a_id);
  // ... and cannot take it back while the new one holds it.
  auto retry = c.post("/api/jobs/" + a_id + "/retry", "");
  INFO(retry.body);
  CHECK(retry.status == 409);
  CHECK_THAT(message_of_body(retry), Catch::Contains(b_id)
                                       && Catch::Contains("nightly"));
  auto patch = c.request("PATCH", "/api/jobs/" + a_id, R"({"status":"PENDING"})");
  CHECK(patch.status == 409);
  CHECK(json_at(c.get("/api/jobs/" + a_id).body, "/status") == "FAILED");
}
