// Pausing and resuming a job type over HTTP (issue 11 item 4):
// POST /api/types/{type}/pause and /resume, the pauses in /api/stats and
// /metrics.
#include <catch2/catch.hpp>

#include "support/http_fixture.hpp"

using namespace jobd;
using namespace jobd::test;

TEST_CASE("a paused type's jobs are accepted but wait, other types run; "
          "resuming runs them; stats and metrics show the pause",
          "[http][pause]") {
  http_env env{test_http_config(), with_other()};
  http_client c{env.port()};
  auto p = c.post("/api/types/ECHO/pause",
                  R"({"reason":"deploy in progress","by":"alice"})");
  REQUIRE(p.status == 200);
  CHECK(json_at(p.body, "/type") == "ECHO");
  CHECK(json_at(p.body, "/paused") == "true");
  CHECK(json_at(p.body, "/note") == "paused by alice: deploy in progress");
  CHECK(json_at(p.body, "/pausedAt")->size() == 24);
  auto stats = c.get("/api/stats");
  CHECK(json_at(stats.body, "/paused/0/type") == "ECHO");
  CHECK(json_at(stats.body, "/paused/0/note")
        == "paused by alice: deploy in progress");
  CHECK_THAT(c.get("/metrics").body,
             Catch::Contains("jobd_type_paused{type=\"ECHO\"} 1"));
  // Enqueued (201), not run: the OTHER job, lower in priority and enqueued
  // after it, finishes while it waits.
  auto held = c.post("/api/jobs", R"({"type":"ECHO","priority":9})");
  REQUIRE(held.status == 201);
  auto held_id = *json_at(held.body, "/id");
  auto other = c.post("/api/jobs", R"({"type":"OTHER"})");
  REQUIRE(other.status == 201);
  auto other_id = *json_at(other.body, "/id");
  REQUIRE(wait_until([&] { return status_of(c, other_id) == "COMPLETED"; }));
  CHECK(status_of(c, held_id) == "PENDING");
  // Pausing again keeps the first pause.
  auto again = c.post("/api/types/ECHO/pause", R"({"reason":"other"})");
  REQUIRE(again.status == 200);
  CHECK(json_at(again.body, "/note") == "paused by alice: deploy in progress");
  auto r = c.post("/api/types/ECHO/resume", "");
  REQUIRE(r.status == 200);
  CHECK(r.body == R"({"type":"ECHO","paused":false,"wasPaused":true})");
  REQUIRE(wait_until([&] { return status_of(c, held_id) == "COMPLETED"; }));
  CHECK(json_at(c.get("/api/stats").body, "/paused/0") == std::nullopt);
  CHECK_THAT(c.get("/metrics").body,
             !Catch::Contains("jobd_type_paused{type=\"ECHO\"}"));
  auto twice = c.post("/api/types/ECHO/resume", "");
  REQUIRE(twice.status == 200);
  CHECK(json_at(twice.body, "/wasPaused") == "false");
}

TEST_CASE("pausing an unknown type is 404 naming the types; a bad body is "
          "400 naming the field; nothing is paused",
          "[http][pause]") {
  http_env env;
  http_client c{env.port()};
  auto unknown = c.post("/api/types/EHCO/pause", "");
  CHECK(unknown.status == 404);
  CHECK(json_at(unknown.body, "/error/code") == "not_found");
  CHECK(json_at(unknown.body, "/error/message")
        == "no job type 'EHCO'; the types are ECHO");
  auto bad_field = c.post("/api/types/ECHO/pause", R"({"why":"x"})");
  CHECK(bad_field.status == 400);
  CHECK(json_at(bad_field.body, "/error/field") == "why");
  CHECK_THAT(*json_at(bad_field.body, "/error/message"),
             Catch::Contains("is not a pause field; the fields are reason "
                             "and by"));
  auto control = c.post("/api/types/ECHO/pause", R"({"reason":"a\u0007b"})");
  CHECK(control.status == 400);
  CHECK(json_at(control.body, "/error/field") == "reason");
  auto long_by = c.post("/api/types/ECHO/pause",
                        "{\"by\":\"" + std::string(101, 'b') + "\"}");
  CHECK(long_by.status == 400);
  CHECK(json_at(long_by.body, "/error/field") == "by");
  auto not_json = c.post("/api/types/ECHO/pause", "pause!");
  CHECK(not_json.status == 400);
  CHECK(json_at(c.get("/api/stats").body, "/paused/0") == std::nullopt);
  // A name no type can have is not echoed.
  auto weird = c.post("/api/types/" + std::string(150, 'X') + "/resume", "");
  CHECK(weird.status == 404);
  CHECK(json_at(weird.body, "/error/message")
        == "no job type that name; the types are ECHO");
  // GET is not how to pause.
  CHECK(c.get("/api/types/ECHO/pause").status == 405);
}
