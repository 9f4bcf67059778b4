// A job's attempt history over HTTP (issue 11 item 7):
// GET /api/jobs/{id}/attempts.
#include <catch2/catch.hpp>

#include "support/http_fixture.hpp"

using namespace jobd;
using namespace jobd::test;

namespace {

std::string attempts_of(http_client& c, const std::string& id) {
  auto r = c.get("/api/jobs/" + id + "/attempts");
  REQUIRE(r.status == 200);
  CHECK(r.header("content-type") == "application/json");
  return r.body;
}

} // namespace

TEST_CASE("attempts show each run's worker, times, outcome and error: "
          "failed, retried by hand, completed",
          "[http][attempts]") {
  http_env env;
  http_client c{env.port()};
  auto r = c.post("/api/jobs", R"({"type":"ECHO","maxRetries":0,)"
                               R"("payload":{"fail":true,"error":"no disk"}})");
  REQUIRE(r.status == 201);
  auto id = *json_at(r.body, "/id");
  // Nothing run yet.
  auto none = c.get("/api/jobs/" + id + "/attempts");
  REQUIRE(none.status == 200);
  REQUIRE(wait_until([&] { return status_of(c, id) == "FAILED"; }));
  auto failed = attempts_of(c, id);
  CHECK(json_at(failed, "/jobId") == id);
  CHECK(json_count(failed, "/attempts") == 1);
  CHECK(json_at(failed, "/attempts/0/attempt") == "1");
  CHECK(json_at(failed, "/attempts/0/outcome") == "failed");
  CHECK(json_at(failed, "/attempts/0/error") == "no disk");
  auto worker = *json_at(failed, "/attempts/0/worker");
  CHECK_FALSE(worker.empty());
  CHECK(worker != "null");
  auto started = *json_at(failed, "/attempts/0/startedAt");
  auto ended = *json_at(failed, "/attempts/0/endedAt");
  CHECK(started.size() == 24);
  CHECK(ended.size() == 24);
  CHECK(started <= ended); // ISO-8601 UTC sorts as time
  CHECK(json_at(failed, "/truncated") == "false");
  // The job's own error is the last attempt's.
  CHECK(json_at(c.get("/api/jobs/" + id).body, "/error") == "no disk");
  // Retried by hand: a second attempt, the first kept.
  REQUIRE(c.post("/api/jobs/" + id + "/retry", "").status == 200);
  REQUIRE(wait_until([&] {
    return json_count(attempts_of(c, id), "/attempts") == 2
           && status_of(c, id) == "FAILED";
  }));
  auto twice = attempts_of(c, id);
  CHECK(json_at(twice, "/attempts/0/attempt") == "1");
  CHECK(json_at(twice, "/attempts/1/attempt") == "2");
  CHECK(json_at(twice, "/attempts/1/outcome") == "failed");
  // A job that succeeds: its attempt is completed, with no error.
  auto ok = c.post("/api/jobs", R"({"type":"ECHO"})");
  REQUIRE(ok.status == 201);
  auto ok_id = *json_at(ok.body, "/id");
  REQUIRE(wait_until([&] { return status_of(c, ok_id) == "COMPLETED"; }));
  auto done = attempts_of(c, ok_id);
  CHECK(json_count(done, "/attempts") == 1);
  CHECK(json_at(done, "/attempts/0/outcome") == "completed");
  CHECK(json_at(done, "/attempts/0/error") == "null");
  CHECK(json_at(done, "/attempts/0/worker") == worker);
  CHECK(json_at(done, "/attempts/0/endedAt")
        == json_at(c.get("/api/jobs/" + ok_id).body, "/completedAt"));
}

TEST_CASE("a running attempt shows as running with no end; cancelled, it "
          "ends cancelled with who and why",
          "[http][attempts]") {
  http_env env;
  http_client c{env.port()};
  auto r = c.post("/api/jobs", R"({"type":"ECHO","payload":{"delayMs":60000}})");
  REQUIRE(r.status == 201);
  auto id = *json_at(r.body, "/id");
  REQUIRE(wait_until([&] { return status_of(c, id) == "PROCESSING"; }));
  auto running = attempts_of(c, id);
  CHECK(json_count(running, "/attempts") == 1);
  CHECK(json_at(running, "/attempts/0/outcome") == "running");
  CHECK(json_at(running, "/attempts/0/endedAt") == "null");
  CHECK(json_at(running, "/attempts/0/error") == "null");
  auto cancel = c.post("/api/jobs/" + id + "/cancel",
                       R"({"reason":"wrong input","by":"alice"})");
  REQUIRE(cancel.status == 200);
  auto after = attempts_of(c, id);
  CHECK(json_count(after, "/attempts") == 1);
  CHECK(json_at(after, "/attempts/0/outcome") == "cancelled");
  CHECK(json_at(after, "/attempts/0/endedAt")->size() == 24);
  CHECK(json_at(after, "/attempts/0/error")
        == "cancelled by alice: wrong input");
}

TEST_CASE("attempts of a job that is not there, or of no job id, is 404 "
          "naming the id",
          "[http][attempts]") {
  http_env env;
  http_client c{env.port()};
  auto missing = c.get("/api/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV/attempts");
  CHECK(missing.status == 404);
  CHECK(json_at(missing.body, "/error/code") == "not_found");
  CHECK_THAT(*json_at(missing.body, "/error/message"),
             Catch::Contains("01ARZ3NDEKTSV4RRFFQ69G5FAV"));
  auto bad = c.get("/api/jobs/not-an-id/attempts");
  CHECK(bad.status == 404);
  CHECK_THAT(*json_at(bad.body, "/error/message"),
             Catch::Contains("not-an-id") && Catch::Contains("ULID"));
  // A deleted job's attempts go with it.
  auto r = c.post("/api/jobs", R"({"type":"ECHO"})");
  auto id = *json_at(r.body, "/id");
  REQUIRE(wait_until([&] { return status_of(c, id) == "COMPLETED"; }));
  REQUIRE(c.request("DELETE", "/api/jobs/" + id).status == 204);
  CHECK(c.get("/api/jobs/" + id + "/attempts").status == 404);
  // Other methods: 405 naming GET.
  auto post = c.post("/api/jobs/" + id + "/attempts", "{}");
  CHECK(post.status == 405);
  CHECK(post.header("allow") == "GET, HEAD");
}
