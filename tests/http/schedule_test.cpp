// Recurring schedules over HTTP (issue 11 item 1): PUT, GET, DELETE
// /api/schedules/{name}, GET /api/schedules, and pause, resume and run now.
#include <catch2/catch.hpp>

#include "support/http_fixture.hpp"

using namespace jobd;
using namespace jobd::test;

TEST_CASE("a schedule is created, listed, redefined, paused, resumed, run "
          "by hand and deleted",
          "[http][schedule]") {
  http_env env;
  http_client c{env.port()};
  // A cron that does not come due while the test runs (February 29th,
  // 03:00), so every run is the test's own.
  auto made = c.request("PUT", "/api/schedules/nightly",
                        R"({"cron":"0 3 29 2 *","type":"ECHO",)"
                        R"("payload":{"report":"daily"},"priority":3})");
  REQUIRE(made.status == 201);
  CHECK(made.header("location") == "/api/schedules/nightly");
  CHECK(json_at(made.body, "/name") == "nightly");
  CHECK(json_at(made.body, "/cron") == "0 3 29 2 *");
  CHECK(json_at(made.body, "/timeZone") == "UTC");
  CHECK(json_at(made.body, "/payload/report") == "daily");
  CHECK(json_at(made.body, "/priority") == "3");
  CHECK(json_at(made.body, "/missed") == "skip");
  CHECK(json_at(made.body, "/paused") == "false");
  CHECK(json_at(made.body, "/source") == "api");
  CHECK(json_at(made.body, "/lastRunAt") == "null");
  CHECK(json_at(made.body, "/nextRunAt")->size() == 24);
  auto list = c.get("/api/schedules");
  REQUIRE(list.status == 200);
  CHECK(json_at(list.body, "/schedules/0/name") == "nightly");
  CHECK(json_at(list.body, "/schedules/1") == std::nullopt);
  // Redefined: 200, the same creation time.
  auto again = c.request("PUT", "/api/schedules/nightly",
                         R"({"cron":"0 3 29 2 *","type":"ECHO",)"
                         R"("missed":"catch_up","catchUpMs":600000})");
  REQUIRE(again.status == 200);
  CHECK(json_at(again.body, "/missed") == "catch_up");
  CHECK(json_at(again.body, "/createdAt") == json_at(made.body, "/createdAt"));
  // Paused: no next run; resumed: one again.
  auto paused = c.post("/api/schedules/nightly/pause", "");
  REQUIRE(paused.status == 200);
  CHECK(json_at(paused.body, "/paused") == "true");
  CHECK(json_at(paused.body, "/nextRunAt") == "null");
  // Run now, even while paused: a job that runs.
  auto run = c.post("/api/schedules/nightly/run", "");
  REQUIRE(run.status == 201);
  auto id = *json_at(run.body, "/id");
  CHECK(run.header("location") == "/api/jobs/" + id);
  CHECK(json_at(run.body, "/type") == "ECHO");
  REQUIRE(wait_until([&] { return status_of(c, id) == "COMPLETED"; }));
  auto got = c.get("/api/schedules/nightly");
  REQUIRE(got.status == 200);
  CHECK(json_at(got.body, "/lastJobId") == id);
  CHECK(json_at(got.body, "/lastRunAt") == "null"); // by hand: not a cron run
  auto resumed = c.post("/api/schedules/nightly/resume", "");
  REQUIRE(resumed.status == 200);
  CHECK(json_at(resumed.body, "/paused") == "false");
  CHECK(json_at(resumed.body, "/nextRunAt")->size() == 24);
  auto gone = c.request("DELETE", "/api/schedules/nightly");
  CHECK(gone.status == 204);
  CHECK(c.get("/api/schedules/nightly").status == 404);
  CHECK(json_at(c.get("/api/schedules").body, "/schedules/0") == std::nullopt);
  // Its job stays.
  CHECK(status_of(c, id) == "COMPLETED");
}

TEST_CASE("a bad schedule is 400 naming the field; an unknown one is 404; "
          "nothing is stored",
          "[http][schedule]") {
  http_env env;
  http_client c{env.port()};
  auto put = [&](const std::string& name, const std::string& body) {
    return c.request("PUT", "/api/schedules/" + name, body);
  };
  struct bad {
    std::string body, field;
  };
  for (auto& b : std::vector<bad>{
         {R"({"type":"ECHO"})", "cron"},
         {R"({"cron":"* * * * *"})", "type"},
         {R"({"cron":"61 * * * *","type":"ECHO"})", "cron"},
         {R"({"cron":"* * * * *","type":"NOPE"})", "type"},
         {R"({"cron":"* * * * *","type":"ECHO","timeZone":"Mars/Base"})",
          "timeZone"},
         {R"({"cron":"* * * * *","type":"ECHO","payload":[1]})", "payload"},
         {R"({"cron":"* * * * *","type":"ECHO","maxRetries":101})",
          "maxRetries"},
         {R"({"cron":"* * * * *","type":"ECHO","missed":"later"})", "missed"},
         {R"({"cron":"* * * * *","type":"ECHO","catchUpMs":10})",
          "catchUpMs"},
         {R"({"cron":"* * * * *","type":"ECHO","every":"day"})", "every"},
       }) {
    INFO(b.body);
    auto res = put("ok", b.body);
    CHECK(res.status == 400);
    CHECK(json_at(res.body, "/error/field") == b.field);
  }
  auto bad_name = put("a%20b", R"({"cron":"* * * * *","type":"ECHO"})");
  CHECK(bad_name.status == 400);
  CHECK(json_at(bad_name.body, "/error/field") == "name");
  auto not_json = put("ok", "every day");
  CHECK(not_json.status == 400);
  CHECK(json_at(not_json.body, "/error/code") == "bad_json");
  CHECK(json_at(c.get("/api/schedules").body, "/schedules/0") == std::nullopt);
  for (auto path : {"/api/schedules/nope/pause", "/api/schedules/nope/resume",
                    "/api/schedules/nope/run"}) {
    auto res = c.post(path, "");
    CHECK(res.status == 404);
    CHECK(json_at(res.body, "/error/message") == "no schedule named \"nope\"");
  }
  CHECK(c.get("/api/schedules/nope").status == 404);
  CHECK(c.request("DELETE", "/api/schedules/nope").status == 404);
  CHECK(c.get("/api/schedules/nope/run").status == 405);
  CHECK(c.post("/api/schedules", "{}").status == 405);
}
