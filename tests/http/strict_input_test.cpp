// Input that used to be bent into shape is refused: a scheduledFor that does
// not exist on the calendar (POST and PATCH), an unknown type in a list
// filter. Each refusal is a 400 naming the field, and nothing changes.
#include <catch2/catch.hpp>

#include "support/http_fixture.hpp"
#include "storage/job.hpp"

using namespace jobd;
using namespace jobd::test;

namespace {

// Times that parse_time used to shift (or accept) and now refuses.
const char* const impossible_times[] = {
  "2030-02-30T00:00:00Z",      // was 2030-03-02
  "2030-04-31T12:00:00Z",      // was 2030-05-01
  "2030-02-29T00:00:00Z",      // not a leap year
  "2030-01-01T23:59:60Z",      // leap second
  "2030-01-01T24:00:00Z",      // hour 24
  "2030-01-01T10:60:00Z",      // minute 60
  "2030-01-01T10:00:00+99:00", // offset beyond +-23:59
  "2030-01-01T10:00:00-24:00",
};

} // namespace

TEST_CASE("POST /api/jobs refuses a scheduledFor that does not exist",
          "[http][time]") {
  http_env env;
  http_client c{env.port()};
  for (auto text : impossible_times) {
    INFO(text);
    auto r = c.post("/api/jobs", std::string{R"({"type":"ECHO","scheduledFor":")"}
                                   + text + "\"}");
    CHECK(r.status == 400);
    CHECK(field_of(r) == "scheduledFor");
    CHECK_THAT(message_of_body(r), Catch::StartsWith("scheduledFor must be")
                                     && Catch::Contains(text));
    // In a batch the index is named.
    auto b = c.post("/api/jobs/batch",
                    std::string{R"({"jobs":[{"type":"ECHO"},{"type":"ECHO","scheduledFor":")"}
                      + text + "\"}]}");
    CHECK(b.status == 400);
    CHECK(field_of(b) == "jobs[1].scheduledFor");
  }
  // The reason is given, not just the shape.
  auto r = c.post("/api/jobs", R"({"type":"ECHO","scheduledFor":"2030-02-30T00:00:00Z"})");
  CHECK_THAT(message_of_body(r),
             Catch::Contains("day 30 does not exist in 2030-02"));
  // Nothing was stored, not even the valid first job of a batch.
  CHECK(json_count(c.get("/api/jobs").body, "/jobs") == 0);
  // The leap day of a leap year is a real day.
  auto ok = c.post("/api/jobs", R"({"type":"ECHO","scheduledFor":"2028-02-29T12:00:00+01:00"})");
  REQUIRE(ok.status == 201);
  CHECK(json_at(ok.body, "/scheduledFor") == "2028-02-29T11:00:00.000Z");
}

TEST_CASE("PATCH /api/jobs/{id} refuses a scheduledFor that does not exist "
          "and leaves the job as it was",
          "[http][time]") {
  http_env env;
  http_client c{env.port()};
  auto created = c.post("/api/jobs", R"({"type":"ECHO","priority":1,"scheduledFor":"2099-01-01T00:00:00Z"})");
  REQUIRE(created.status == 201);
  auto id = *json_at(created.body, "/id");
  auto before = c.get("/api/jobs/" + id).body;
  for (auto text : impossible_times) {
    INFO(text);
    // With another valid field: the whole patch is refused.
    auto r = c.request("PATCH", "/api/jobs/" + id,
                       std::string{R"({"priority":5,"scheduledFor":")"} + text
                         + "\"}");
    CHECK(r.status == 400);
    CHECK(field_of(r) == "scheduledFor");
  }
  CHECK(c.get("/api/jobs/" + id).body == before);
}

TEST_CASE("GET /api/jobs refuses an unknown type like an unknown status",
          "[http]") {
  http_env env;
  http_client c{env.port()};
  REQUIRE(c.post("/api/jobs", R"({"type":"ECHO","scheduledFor":"2099-01-01T00:00:00Z"})")
            .status
          == 201);
  auto r = c.get("/api/jobs?type=NOPE");
  CHECK(r.status == 400);
  CHECK(json_at(r.body, "/error/code") == "invalid_field");
  CHECK(field_of(r) == "type");
  // The accepted values are listed (the test server registers ECHO only).
  CHECK(message_of_body(r) == "type: expected one of ECHO, got 'NOPE'");
  // Types are names as registered: no case folding.
  CHECK(c.get("/api/jobs?type=echo").status == 400);
  CHECK(c.get("/api/jobs?status=PENDING&type=NOPE").status == 400);
  // Known and absent types still list.
  CHECK(json_count(c.get("/api/jobs?type=ECHO").body, "/jobs") == 1);
  CHECK(json_count(c.get("/api/jobs?type=").body, "/jobs") == 1);
}
