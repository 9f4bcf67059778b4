// The REST API over real HTTP on loopback against an in-process server.
#include <catch2/catch.hpp>

#include <map>

#include "support/http_fixture.hpp"
#include "support/log_capture.hpp"
#include "support/process.hpp"
#include "storage/job.hpp"

using namespace jobd;
using namespace jobd::test;
using namespace std::chrono_literals;

namespace {

std::string code_of_body(const http_reply& r) {
  return json_at(r.body, "/error/code").value_or("<none>");
}

// A job that will not run during the test: scheduled a year ahead.
std::string later_job(http_client& c, int priority = 0) {
  auto r = c.post("/api/jobs", R"({"type":"ECHO","payload":{"n":1},"priority":)"
                                 + std::to_string(priority)
                                 + R"(,"scheduledFor":"2099-01-01T00:00:00Z"})");
  REQUIRE(r.status == 201);
  return *json_at(r.body, "/id");
}

} // namespace

TEST_CASE("healthz answers ok without a token", "[http]") {
  auto cfg = test_http_config();
  cfg.api_token = "secret";
  http_env env{cfg};
  http_client c{env.port()};
  auto r = c.get("/healthz");
  CHECK(r.status == 200);
  CHECK(json_at(r.body, "/status") == "ok");
}

TEST_CASE("POST /api/jobs stores a job and it runs", "[http]") {
  http_env env;
  http_client c{env.port()};
  auto r = c.post("/api/jobs",
                  R"({"type":"ECHO","payload":{"hello":"world"},"priority":3,"maxRetries":2})");
  REQUIRE(r.status == 201);
  CHECK(r.header("content-type") == "application/json");
  auto id = *json_at(r.body, "/id");
  CHECK(is_job_id(id));
  CHECK(r.header("location") == "/api/jobs/" + id);
  CHECK(json_at(r.body, "/type") == "ECHO");
  CHECK(json_at(r.body, "/status") == "PENDING");
  CHECK(json_at(r.body, "/priority") == "3");
  CHECK(json_at(r.body, "/maxRetries") == "2");
  CHECK(json_at(r.body, "/retryCount") == "0");
  CHECK(json_at(r.body, "/payload") == R"({"hello":"world"})");
  CHECK(json_at(r.body, "/result") == "null");
  // ISO-8601 UTC with milliseconds.
  auto created = *json_at(r.body, "/createdAt");
  CHECK(created.size() == 24);
  CHECK(created.back() == 'Z');
  REQUIRE(wait_until([&] { return status_of(c, id) == "COMPLETED"; }));
  auto done = c.get("/api/jobs/" + id);
  CHECK(json_at(done.body, "/result") == R"({"hello":"world"})");
  CHECK(json_at(done.body, "/completedAt") != "null");
}

TEST_CASE("POST /api/jobs validates every field and names it", "[http]") {
  http_env env;
  http_client c{env.port()};
  struct bad_case {
    const char* body;
    const char* field;
    const char* code;
  };
  bad_case cases[] = {
    {R"({"payload":{}})", "type", "invalid_field"},
    {R"({"type":42})", "type", "invalid_field"},
    {R"({"type":"NOPE"})", "type", "invalid_field"},
    {R"({"type":"ECHO","priority":"high"})", "priority", "invalid_field"},
    {R"({"type":"ECHO","priority":1.5})", "priority", "invalid_field"},
    {R"({"type":"ECHO","priority":99999999999})", "priority", "invalid_field"},
    {R"({"type":"ECHO","maxRetries":101})", "maxRetries", "invalid_field"},
    {R"({"type":"ECHO","maxRetries":-1})", "maxRetries", "invalid_field"},
    {R"({"type":"ECHO","scheduledFor":"tomorrow"})", "scheduledFor",
     "invalid_field"},
    {R"({"type":"ECHO","scheduledFor":17})", "scheduledFor", "invalid_field"},
    {R"({"type":"ECHO","payload":{"delayMs":-5}})", "payload.delayMs",
     "invalid_field"},
    {R"({"type":"ECHO","payload":[1,2]})", "payload", "invalid_field"},
    {R"({"type":"ECHO","colour":"red"})", "colour", "invalid_field"},
    // The body as a whole: field "" (the root), not a sentence.
    {R"("just a string")", "", "invalid_field"},
    {R"([])", "", "invalid_field"},
    // Found by fuzzing: an empty key was refused without a field.
    {R"({"type":"ECHO","":1})", R"("")", "invalid_field"},
  };
  for (auto& bc : cases) {
    INFO(bc.body);
    auto r = c.post("/api/jobs", bc.body);
    CHECK(r.status == 400);
    CHECK(code_of_body(r) == bc.code);
    CHECK(field_of(r) == bc.field);
    // The message starts with the field, so it reads on its own.
    CHECK(message_of_body(r).rfind(bc.field, 0) == 0);
  }
  auto unknown = c.post("/api/jobs", R"({"type":"NOPE"})");
  CHECK_THAT(message_of_body(unknown), Catch::Contains("ECHO"));
  CHECK_THAT(message_of_body(c.post("/api/jobs", R"("just a string")")),
             Catch::StartsWith("the request body must be a JSON object"));
  // Bad JSON is about the body as a whole too.
  auto bad = c.post("/api/jobs", R"({"type":"ECHO",)");
  CHECK(bad.status == 400);
  CHECK(code_of_body(bad) == "bad_json");
  CHECK(json_at(bad.body, "/error/field") == "");
  auto empty = c.request("POST", "/api/jobs", "", "application/json");
  CHECK(empty.status == 400);
  CHECK(code_of_body(empty) == "bad_json");
  // Nothing was stored.
  auto list = c.get("/api/jobs");
  CHECK(json_count(list.body, "/jobs") == 0);
}

TEST_CASE("a body nested deeper than max_depth is refused", "[http]") {
  http_env env;
  http_client c{env.port()};
  std::string deep = R"({"type":"ECHO","payload":)";
  for (int i = 0; i < 100; ++i)
    deep += "{\"a\":";
  deep += "1";
  for (int i = 0; i < 100; ++i)
    deep += "}";
  deep += "}";
  auto r = c.post("/api/jobs", deep);
  CHECK(r.status == 400);
  CHECK(code_of_body(r) == "bad_json");
  CHECK_THAT(message_of_body(r), Catch::Contains("deeper than 64"));
}

TEST_CASE("a body that is not application/json gets 415", "[http]") {
  http_env env;
  http_client c{env.port()};
  auto r = c.request("POST", "/api/jobs", R"({"type":"ECHO"})", "text/plain");
  CHECK(r.status == 415);
  CHECK(code_of_body(r) == "unsupported_media_type");
  auto ok = c.request("POST", "/api/jobs", R"({"type":"ECHO"})",
                      "application/json; charset=utf-8");
  CHECK(ok.status == 201);
}

TEST_CASE("batch enqueue stores all jobs in one go, or none", "[http]") {
  http_env env;
  http_client c{env.port()};
  auto r = c.post("/api/jobs/batch",
                  R"({"jobs":[{"type":"ECHO"},{"type":"ECHO","priority":2},{"type":"ECHO","payload":{"x":3}}]})");
  REQUIRE(r.status == 201);
  CHECK(json_count(r.body, "/jobs") == 3);
  CHECK(json_at(r.body, "/jobs/1/priority") == "2");

  auto bad = c.post("/api/jobs/batch",
                    R"({"jobs":[{"type":"ECHO"},{"type":"ECHO"},{"type":"ECHO","priority":"x"}]})");
  CHECK(bad.status == 400);
  CHECK(field_of(bad) == "jobs[2].priority");
  CHECK_THAT(message_of_body(bad),
             Catch::StartsWith("jobs[2].priority must be a whole number"));
  auto bad_payload = c.post("/api/jobs/batch",
                            R"({"jobs":[{"type":"ECHO","payload":{"fail":"yes"}}]})");
  CHECK(field_of(bad_payload) == "jobs[0].payload.fail");
  CHECK(c.post("/api/jobs/batch", R"({"jobs":[]})").status == 400);
  CHECK(field_of(c.post("/api/jobs/batch", R"({"jobz":[]})")) == "jobz");
  CHECK(field_of(c.post("/api/jobs/batch", R"([{"type":"ECHO"}])")) == "");

  // An array to POST /api/jobs is a batch too.
  auto arr = c.post("/api/jobs", R"([{"type":"ECHO"},{"type":"ECHO"}])");
  REQUIRE(arr.status == 201);
  CHECK(json_count(arr.body, "/jobs") == 2);
  CHECK(field_of(c.post("/api/jobs", R"([{"type":"ECHO"},{"tpye":"ECHO"}])"))
        == "[1].tpye");

  auto list = c.get("/api/jobs?limit=500");
  CHECK(json_count(list.body, "/jobs") == 5);
}

TEST_CASE("Prefer: return=minimal answers an enqueue with ids only",
          "[http]") {
  http_env env;
  http_client c{env.port()};
  std::map<std::string, std::string> minimal{{"Prefer", "return=minimal"}};
  auto batch = c.request("POST", "/api/jobs/batch",
                         R"({"jobs":[{"type":"ECHO","payload":{"i":0}},{"type":"ECHO","payload":{"i":1}},{"type":"ECHO","payload":{"i":2}}]})",
                         "application/json", minimal);
  INFO(batch.body);
  REQUIRE(batch.status == 201);
  CHECK(batch.header("preference-applied") == "return=minimal");
  REQUIRE(json_count(batch.body, "/ids") == 3);
  CHECK_FALSE(json_at(batch.body, "/jobs"));
  // The ids are the stored jobs', in the order sent.
  for (int i = 0; i < 3; ++i) {
    auto id = json_at(batch.body, "/ids/" + std::to_string(i));
    REQUIRE(id);
    auto j = c.get("/api/jobs/" + *id);
    REQUIRE(j.status == 200);
    CHECK(json_at(j.body, "/payload/i") == std::to_string(i));
  }

  // One job: {"id":...} and the Location; preferences are a list, in any
  // case, and ones jobd does not know are ignored.
  auto one = c.request("POST", "/api/jobs", R"({"type":"ECHO"})",
                       "application/json",
                       {{"Prefer", "respond-async, RETURN = \"minimal\""}});
  INFO(one.body);
  REQUIRE(one.status == 201);
  auto id = json_at(one.body, "/id");
  REQUIRE(id);
  CHECK(one.body == "{\"id\":\"" + *id + "\"}");
  CHECK(one.header("location") == "/api/jobs/" + *id);
  CHECK(one.header("preference-applied") == "return=minimal");
  // An array to POST /api/jobs answers ids too.
  auto arr = c.request("POST", "/api/jobs", R"([{"type":"ECHO"},{"type":"ECHO"}])",
                       "application/json", minimal);
  CHECK(json_count(arr.body, "/ids") == 2);

  // Without it (or asking for the representation) the whole jobs, as before.
  auto full = c.request("POST", "/api/jobs", R"({"type":"ECHO"})",
                        "application/json",
                        {{"Prefer", "return=representation"}});
  CHECK(json_at(full.body, "/type") == "ECHO");
  CHECK(full.header("preference-applied").empty());
  // Errors are the same either way.
  auto bad = c.request("POST", "/api/jobs/batch", R"({"jobs":[{"type":"NOPE"}]})",
                       "application/json", minimal);
  CHECK(bad.status == 400);
  CHECK(field_of(bad) == "jobs[0].type");
  CHECK(json_count(c.get("/api/jobs?limit=500").body, "/jobs") == 7);
}

TEST_CASE("a batch over max_batch_jobs is refused", "[http]") {
  auto cfg = test_http_config();
  cfg.max_batch_jobs = 3;
  http_env env{cfg};
  http_client c{env.port()};
  auto r = c.post("/api/jobs/batch",
                  R"({"jobs":[{"type":"ECHO"},{"type":"ECHO"},{"type":"ECHO"},{"type":"ECHO"}]})");
  CHECK(r.status == 400);
  CHECK(field_of(r) == "jobs");
  CHECK_THAT(message_of_body(r), Catch::Contains("split"));
}

TEST_CASE("GET /api/jobs lists newest first with filters and cursor",
          "[http]") {
  http_env env;
  http_client c{env.port()};
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i)
    ids.push_back(later_job(c, i));
  auto failed = c.post("/api/jobs",
                       R"({"type":"ECHO","payload":{"fail":true,"permanent":true}})");
  auto failed_id = *json_at(failed.body, "/id");
  REQUIRE(wait_until([&] { return status_of(c, failed_id) == "FAILED"; }));

  auto all = c.get("/api/jobs");
  REQUIRE(all.status == 200);
  CHECK(json_count(all.body, "/jobs") == 6);
  CHECK(json_at(all.body, "/jobs/0/id") == failed_id);
  CHECK(json_at(all.body, "/nextCursor") == "null");

  auto pending = c.get("/api/jobs?status=PENDING");
  CHECK(json_count(pending.body, "/jobs") == 5);
  // The status is spelt as in the spec's enum; "failed" is refused.
  auto lower = c.get("/api/jobs?status=failed");
  CHECK(lower.status == 400);
  CHECK(field_of(lower) == "status");
  CHECK(json_count(c.get("/api/jobs?status=FAILED").body, "/jobs") == 1);
  CHECK(json_count(c.get("/api/jobs?type=ECHO").body, "/jobs") == 6);
  CHECK(c.get("/api/jobs?type=OTHER").status == 400); // unknown type

  // Pages of two, following nextCursor.
  std::vector<std::string> seen;
  std::string cursor;
  for (int page = 0; page < 10; ++page) {
    auto r = c.get("/api/jobs?status=PENDING&limit=2"
                   + (cursor.empty() ? "" : "&cursor=" + cursor));
    REQUIRE(r.status == 200);
    for (int i = 0; i < json_count(r.body, "/jobs"); ++i)
      seen.push_back(*json_at(r.body, "/jobs/" + std::to_string(i) + "/id"));
    auto next = *json_at(r.body, "/nextCursor");
    if (next == "null")
      break;
    cursor = next;
  }
  std::vector<std::string> expected(ids.rbegin(), ids.rend());
  CHECK(seen == expected);

  struct bad_query {
    const char* query;
    const char* field;
  };
  for (auto bq : {bad_query{"limit=0", "limit"}, bad_query{"limit=501", "limit"},
                  bad_query{"limit=ten", "limit"},
                  bad_query{"status=DONE", "status"},
                  bad_query{"cursor=xyz", "cursor"},
                  bad_query{"stauts=PENDING", "stauts"},
                  // Found by fuzzing: these were refused without a field.
                  bad_query{"=%zz", "the query string"},
                  bad_query{"=PENDING", "the query string"}}) {
    INFO(bq.query);
    auto r = c.get(std::string{"/api/jobs?"} + bq.query);
    CHECK(r.status == 400);
    CHECK(field_of(r) == bq.field);
  }
}

TEST_CASE("GET /api/jobs/{id} returns a job or 404", "[http]") {
  http_env env;
  http_client c{env.port()};
  auto id = later_job(c);
  auto r = c.get("/api/jobs/" + id);
  CHECK(r.status == 200);
  CHECK(json_at(r.body, "/id") == id);
  CHECK(json_at(r.body, "/scheduledFor") == "2099-01-01T00:00:00.000Z");
  auto missing = c.get("/api/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV");
  CHECK(missing.status == 404);
  CHECK(code_of_body(missing) == "not_found");
  auto malformed = c.get("/api/jobs/not-an-id");
  CHECK(malformed.status == 404);
  CHECK_THAT(message_of_body(malformed), Catch::Contains("ULID"));
}

TEST_CASE("PATCH /api/jobs/{id} changes fields and guards transitions",
          "[http]") {
  http_env env;
  http_client c{env.port()};
  auto id = later_job(c);
  auto r = c.request("PATCH", "/api/jobs/" + id,
                     R"({"priority":9,"maxRetries":5,"scheduledFor":"2098-05-05T10:00:00Z"})");
  REQUIRE(r.status == 200);
  CHECK(json_at(r.body, "/priority") == "9");
  CHECK(json_at(r.body, "/maxRetries") == "5");
  CHECK(json_at(r.body, "/scheduledFor") == "2098-05-05T10:00:00.000Z");

  auto failed = c.request("PATCH", "/api/jobs/" + id,
                          R"({"status":"FAILED","error":"given up by hand"})");
  CHECK(failed.status == 200);
  CHECK(json_at(failed.body, "/status") == "FAILED");
  CHECK(json_at(failed.body, "/error") == "given up by hand");

  auto bad_transition = c.request("PATCH", "/api/jobs/" + id,
                                  R"({"status":"PROCESSING"})");
  CHECK(bad_transition.status == 409);
  CHECK(code_of_body(bad_transition) == "conflict");

  auto done = c.request("PATCH", "/api/jobs/" + id,
                        R"({"status":"COMPLETED","result":{"by":"hand"}})");
  CHECK(done.status == 200);
  CHECK(json_at(done.body, "/result") == R"({"by":"hand"})");

  CHECK(field_of(c.request("PATCH", "/api/jobs/" + id, R"({"status":"DONE"})"))
        == "status");
  CHECK(field_of(c.request("PATCH", "/api/jobs/" + id, R"({"priority":"hi"})"))
        == "priority");
  CHECK(field_of(c.request("PATCH", "/api/jobs/" + id, R"({"type":"ECHO"})"))
        == "type");
  CHECK(field_of(c.request("PATCH", "/api/jobs/" + id, R"({"error":5})"))
        == "error");
  CHECK(c.request("PATCH", "/api/jobs/" + id, R"({})").status == 400);
  CHECK(c.request("PATCH", "/api/jobs/" + id, R"({"priority":1})", "text/plain")
          .status
        == 415);
  CHECK(c.request("PATCH", "/api/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV",
                  R"({"priority":1})")
          .status
        == 404);
}

TEST_CASE("DELETE /api/jobs/{id}: 204, 404, and 409 while PROCESSING",
          "[http]") {
  http_env env;
  http_client c{env.port()};
  auto id = later_job(c);
  auto r = c.request("DELETE", "/api/jobs/" + id);
  CHECK(r.status == 204);
  CHECK(r.body.empty());
  CHECK(c.get("/api/jobs/" + id).status == 404);
  CHECK(c.request("DELETE", "/api/jobs/" + id).status == 404);

  auto slow = c.post("/api/jobs", R"({"type":"ECHO","payload":{"delayMs":10000}})");
  auto slow_id = *json_at(slow.body, "/id");
  REQUIRE(wait_until([&] { return status_of(c, slow_id) == "PROCESSING"; }));
  auto busy = c.request("DELETE", "/api/jobs/" + slow_id);
  CHECK(busy.status == 409);
  CHECK(code_of_body(busy) == "conflict");
  // Settle it by hand so the runtime stops at once.
  CHECK(c.request("PATCH", "/api/jobs/" + slow_id, R"({"status":"COMPLETED"})")
          .status
        == 200);
}

TEST_CASE("POST /api/jobs/{id}/retry puts a FAILED job back", "[http]") {
  http_env env;
  http_client c{env.port()};
  auto r = c.post("/api/jobs",
                  R"({"type":"ECHO","payload":{"fail":true,"permanent":true,"error":"boom"}})");
  auto id = *json_at(r.body, "/id");
  REQUIRE(wait_until([&] { return status_of(c, id) == "FAILED"; }));
  CHECK(json_at(c.get("/api/jobs/" + id).body, "/error") == "boom");
  auto retried = c.request("POST", "/api/jobs/" + id + "/retry");
  CHECK(retried.status == 200);
  CHECK(json_at(retried.body, "/status") == "PENDING");
  CHECK(json_at(retried.body, "/error") == "null");
  // It fails again (the payload says so); retrying a job that is not
  // FAILED is a conflict.
  REQUIRE(wait_until([&] { return status_of(c, id) == "FAILED"; }));

  auto ok = c.post("/api/jobs", R"({"type":"ECHO"})");
  auto ok_id = *json_at(ok.body, "/id");
  REQUIRE(wait_until([&] { return status_of(c, ok_id) == "COMPLETED"; }));
  auto conflict = c.request("POST", "/api/jobs/" + ok_id + "/retry");
  CHECK(conflict.status == 409);
  CHECK(c.request("POST", "/api/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV/retry").status
        == 404);
}

TEST_CASE("GET /api/stats counts by status and type, with throughput",
          "[http]") {
  http_env env;
  http_client c{env.port()};
  later_job(c);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i)
    ids.push_back(*json_at(c.post("/api/jobs", R"({"type":"ECHO"})").body, "/id"));
  REQUIRE(wait_until([&] {
    for (auto& id : ids)
      if (status_of(c, id) != "COMPLETED")
        return false;
    return true;
  }));
  http_reply r;
  // The throughput ring hears of completions through the store's change
  // feed, right after the commit the API already saw.
  REQUIRE(wait_until([&] {
    r = c.get("/api/stats");
    return json_at(r.body, "/throughput/completedLastMinute") == "3";
  }));
  CHECK(r.status == 200);
  CHECK(json_at(r.body, "/total") == "4");
  CHECK(json_at(r.body, "/byStatus/PENDING") == "1");
  CHECK(json_at(r.body, "/byStatus/COMPLETED") == "3");
  CHECK(json_at(r.body, "/byStatus/FAILED") == "0");
  CHECK(json_at(r.body, "/byType/ECHO/total") == "4");
  CHECK(json_at(r.body, "/byType/ECHO/COMPLETED") == "3");
  CHECK(json_at(r.body, "/throughput/bucketSeconds") == "10");
  CHECK(json_count(r.body, "/throughput/buckets") == 60);
}

TEST_CASE("GET /metrics speaks Prometheus text", "[http]") {
  http_env env;
  http_client c{env.port()};
  c.post("/api/jobs", R"({"type":"ECHO"})");
  c.get("/api/jobs/nope");
  auto r = c.get("/metrics");
  REQUIRE(r.status == 200);
  CHECK_THAT(r.header("content-type"), Catch::StartsWith("text/plain"));
  CHECK_THAT(r.body, Catch::Contains("# TYPE jobd_jobs gauge"));
  CHECK_THAT(r.body, Catch::Contains("jobd_jobs{status=\""));
  CHECK_THAT(r.body, Catch::Contains("type=\"ECHO\"}"));
  CHECK_THAT(r.body,
             Catch::Contains("jobd_http_requests_total{method=\"POST\","
                             "route=\"/api/jobs\",status=\"201\"} 1"));
  CHECK_THAT(r.body,
             Catch::Contains("jobd_http_requests_total{method=\"GET\","
                             "route=\"/api/jobs/{id}\",status=\"404\"} 1"));
  CHECK_THAT(r.body, Catch::Contains("jobd_http_request_duration_seconds_bucket"
                                     "{route=\"/api/jobs\",le=\"+Inf\"} 1"));
  CHECK_THAT(r.body, Catch::Contains("jobd_http_connections_open 1"));
}

TEST_CASE("GET /metrics shows claim latency and handler durations by type",
          "[http]") {
  http_env env;
  http_client c{env.port()};
  c.post("/api/jobs", R"({"type":"ECHO","payload":{"delayMs":30}})");
  std::string body;
  REQUIRE(wait_until(
    [&] {
      body = c.get("/metrics").body;
      return body.find("jobd_job_run_seconds_count{type=\"ECHO\"} 1")
             != std::string::npos;
    },
    std::chrono::seconds(10)));
  CHECK_THAT(body, Catch::Contains("# TYPE jobd_job_claim_latency_seconds "
                                   "histogram"));
  CHECK_THAT(body, Catch::Contains(
                     "jobd_job_claim_latency_seconds_count{type=\"ECHO\"} 1"));
  // The handler slept 30 ms: its run is above the 0.01 s bucket.
  CHECK_THAT(body, Catch::Contains(
                     "jobd_job_run_seconds_bucket{type=\"ECHO\",le=\"0.01\"} 0"));
  CHECK_THAT(body, Catch::Contains(
                     "jobd_job_run_seconds_bucket{type=\"ECHO\",le=\"+Inf\"} 1"));
}

TEST_CASE("unknown routes 404, wrong methods 405 with Allow", "[http]") {
  http_env env;
  http_client c{env.port()};
  auto r = c.get("/api/nothing");
  CHECK(r.status == 404);
  CHECK(code_of_body(r) == "not_found");
  auto put = c.request("PUT", "/api/jobs", R"({})");
  CHECK(put.status == 405);
  CHECK(put.header("allow") == "GET, HEAD, POST");
  CHECK(code_of_body(put) == "method_not_allowed");
  auto del = c.request("DELETE", "/api/stats");
  CHECK(del.status == 405);
  CHECK(del.header("allow") == "GET, HEAD");
  CHECK(c.request("PUT", "/api/jobs/01ARZ3NDEKTSV4RRFFQ69G5FAV").header("allow")
        == "GET, HEAD, PATCH, DELETE");
  // /api/jobs/batch is its own resource, never the job id "batch".
  for (auto method : {"GET", "PUT", "DELETE", "PATCH"}) {
    INFO(method);
    auto b = c.request(method, "/api/jobs/batch", R"({})");
    CHECK(b.status == 405);
    CHECK(b.header("allow") == "POST");
    CHECK(code_of_body(b) == "method_not_allowed");
  }
  // No trailing-slash aliases: "/api/jobs/" is not "/api/jobs".
  for (auto& r : http_routes()) {
    auto path = r.path;
    auto brace = path.find('{');
    if (brace != std::string::npos)
      path = path.substr(0, brace) + "01ARZ3NDEKTSV4RRFFQ69G5FAV"
             + path.substr(path.find('}') + 1);
    INFO(r.method << " " << path << "/");
    CHECK(c.request(r.method, path + "/", r.method == "GET" ? "" : "{}").status
          == 404);
  }
}

TEST_CASE("HEAD answers every GET route like GET, without a body", "[http]") {
  http_env env;
  http_client c{env.port()};
  auto created = c.post("/api/jobs", R"({"type":"ECHO"})");
  REQUIRE(created.status == 201);
  auto id = *json_at(created.body, "/id");
  // The job runs in this process: let it finish, so the job and the list
  // read the same between a GET and its HEAD (found by the loaded series:
  // the job completed between the two).
  REQUIRE(wait_until([&] { return status_of(c, id) == "COMPLETED"; }));
  // A schedule to read (whose next run is months away).
  REQUIRE(c.request("PUT", "/api/schedules/yearly",
                    R"({"cron":"@yearly","type":"ECHO"})")
            .status
          == 201);
  for (auto& r : http_routes()) {
    if (r.method != "GET" || r.path == "/api/events")
      continue;
    auto path = r.path;
    if (path == "/api/jobs/{id}")
      path = "/api/jobs/" + id;
    else if (path == "/api/jobs/{id}/attempts")
      path = "/api/jobs/" + id + "/attempts";
    else if (path == "/api/schedules/{name}")
      path = "/api/schedules/yearly";
    else if (path == "/jobs/{file}")
      path = "/jobs/app.js";
    INFO("HEAD " << path);
    auto get = c.get(path);
    auto head = c.request("HEAD", path);
    CHECK(head.status == get.status);
    CHECK(head.status == 200);
    CHECK(head.body.empty());
    CHECK(head.header("content-type") == get.header("content-type"));
    // The length GET's body would have (the stats' throughput can change
    // between the two requests, so only where the body is stable).
    if (r.path != "/api/stats" && r.path != "/metrics")
      CHECK(head.header("content-length") == get.header("content-length"));
  }
  // A route without GET: 405 with an empty body, which HEAD requires.
  raw_connection conn{env.port()};
  conn.send("HEAD /api/jobs/batch HTTP/1.1\r\nHost: x\r\n\r\n"
            "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
  auto both = conn.read_until(
    [](const std::string& s) {
      return s.find("HTTP/1.1 200") != std::string::npos
             && s.size() > 2 && s.back() == '}';
    },
    5s);
  REQUIRE_THAT(both, Catch::StartsWith("HTTP/1.1 405"));
  // The next response starts right after the 405's header: no body bytes.
  auto second = both.find("\r\n\r\n") + 4;
  CHECK(both.compare(second, 12, "HTTP/1.1 200") == 0);
  // The event stream's header, and the connection ends there.
  raw_connection es{env.port()};
  es.send("HEAD /api/events HTTP/1.1\r\nHost: x\r\n\r\n");
  auto head = es.read_until([](const std::string&) { return false; }, 5s);
  CHECK(es.closed());
  CHECK_THAT(head, Catch::StartsWith("HTTP/1.1 200"));
  CHECK_THAT(head, Catch::Contains("Content-Type: text/event-stream"));
  CHECK(head.substr(head.find("\r\n\r\n") + 4).empty());
}

TEST_CASE("a token protects everything but /healthz and the dashboard files",
          "[http]") {
  auto cfg = test_http_config();
  cfg.api_token = "s3cret-token";
  http_env env{cfg};
  http_client anon{env.port()};
  auto r = anon.get("/api/jobs");
  CHECK(r.status == 401);
  CHECK(code_of_body(r) == "unauthorized");
  CHECK(r.header("www-authenticate") == "Bearer realm=\"jobd\"");
  CHECK(anon.get("/metrics").status == 401);
  CHECK(anon.get("/api/stats").status == 401);
  CHECK(anon.request("POST", "/api/jobs", R"({"type":"ECHO"})").status == 401);
  CHECK(anon.get("/healthz").status == 200);
  CHECK(anon.get("/jobs").status == 200);
  CHECK(anon.get("/jobs-client.js").status == 200);

  http_client wrong{env.port(), "s3cret-tokeN"};
  CHECK(wrong.get("/api/jobs").status == 401);
  CHECK(message_of_body(wrong.get("/api/jobs")) == "the API token is wrong");
  http_client shorter{env.port(), "s3cret"};
  CHECK(shorter.get("/api/jobs").status == 401);
  http_client right{env.port(), "s3cret-token"};
  CHECK(right.get("/api/jobs").status == 200);
  CHECK(right.post("/api/jobs", R"({"type":"ECHO"})").status == 201);
  // The token in the query string counts only for the event stream.
  CHECK(anon.get("/api/jobs?token=s3cret-token").status == 401);

  raw_connection es{env.port()};
  es.send("GET /api/events?token=s3cret-token HTTP/1.1\r\nHost: x\r\n\r\n");
  auto head = es.read_until(
    [](const std::string& s) { return s.find("\r\n\r\n") != std::string::npos; },
    5s);
  CHECK_THAT(head, Catch::StartsWith("HTTP/1.1 200"));
  raw_connection es_bad{env.port()};
  es_bad.send("GET /api/events?token=nope HTTP/1.1\r\nHost: x\r\n\r\n");
  auto bad_head = es_bad.read_until(
    [](const std::string& s) { return s.find("\r\n\r\n") != std::string::npos; },
    5s);
  CHECK_THAT(bad_head, Catch::StartsWith("HTTP/1.1 401"));
}

TEST_CASE("the token may also come from JOBD_API_TOKEN", "[http]") {
  setenv("JOBD_API_TOKEN", "from-env", 1);
  http_env env;
  unsetenv("JOBD_API_TOKEN");
  http_client anon{env.port()};
  CHECK(anon.get("/api/jobs").status == 401);
  http_client right{env.port(), "from-env"};
  CHECK(right.get("/api/jobs").status == 200);
}

TEST_CASE("the dashboard, its client module and the spec are built in",
          "[http]") {
  http_env env;
  http_client c{env.port()};
  auto page = c.get("/jobs");
  CHECK(page.status == 200);
  CHECK_THAT(page.header("content-type"), Catch::StartsWith("text/html"));
  CHECK_THAT(page.body, Catch::Contains("<html"));
  CHECK(c.get("/jobs/").status == 404); // no trailing-slash aliases
  auto js = c.get("/jobs-client.js");
  CHECK(js.status == 200);
  CHECK_THAT(js.header("content-type"), Catch::StartsWith("text/javascript"));
  CHECK_THAT(js.body, Catch::Contains("export function useJob"));
  // The client package's module and types (http/client), byte for byte.
  CHECK(js.body == read_file(JOBD_SOURCE_DIR "/http/client/index.js"));
  auto types = c.get("/jobs-client.d.ts");
  CHECK(types.status == 200);
  CHECK_THAT(types.header("content-type"),
             Catch::StartsWith("application/typescript"));
  CHECK(types.body == read_file(JOBD_SOURCE_DIR "/http/client/index.d.ts"));
  CHECK(c.get("/jobs/app.js").status == 200);
  CHECK(c.get("/jobs/app.css").status == 200);
  CHECK(c.get("/jobs/nothing.js").status == 404);
  auto spec = c.get("/openapi.yaml");
  CHECK(spec.status == 200);
  CHECK_THAT(spec.body, Catch::StartsWith("openapi: 3"));
  // Unchanged files revalidate with their ETag.
  auto etag = js.header("etag");
  REQUIRE(!etag.empty());
  auto again = c.request("GET", "/jobs-client.js", "", "application/json",
                         {{"If-None-Match", etag}});
  CHECK(again.status == 304);

  auto cfg = test_http_config();
  cfg.dashboard = false;
  http_env bare{cfg};
  http_client b{bare.port()};
  CHECK(b.get("/jobs").status == 404);
  CHECK(b.get("/jobs-client.js").status == 404);
  CHECK(b.get("/api/jobs").status == 200);
  CHECK(b.get("/openapi.yaml").status == 200); // the API's, not the dashboard's
}

TEST_CASE("a scheduled job failed by hand runs at once after retry", "[http]") {
  http_env env;
  http_client c{env.port()};
  auto id = later_job(c);
  REQUIRE(c.request("PATCH", "/api/jobs/" + id, R"({"status":"FAILED"})").status
          == 200);
  auto r = c.request("POST", "/api/jobs/" + id + "/retry");
  INFO(r.body);
  CHECK(r.status == 200);
  CHECK(wait_until([&] { return status_of(c, id) == "COMPLETED"; }));
}

TEST_CASE("http.access_log writes a line per request, without the query",
          "[http][log]") {
  auto cfg = test_http_config();
  cfg.api_token = "access-secret";
  cfg.access_log = true;
  http_env env{cfg};
  log_capture cap;
  http_client c{env.port(), "access-secret"};
  CHECK(c.get("/api/jobs?limit=5&token=access-secret").status == 400);
  CHECK(c.get("/api/nope").status == 404);
  REQUIRE(wait_until([&] { return cap.count("http request") >= 2; }));
  CHECK(cap.count("http request method=GET path=/api/jobs status=400 "
                  "duration_us=")
        == 1);
  CHECK(cap.count("http request method=GET path=/api/nope status=404") == 1);
  CHECK(cap.count("access-secret") == 0);
  CHECK(cap.count("limit=5") == 0);
}

TEST_CASE("without http.access_log requests are not logged", "[http][log]") {
  http_env env;
  log_capture cap;
  http_client c{env.port()};
  CHECK(c.get("/api/jobs").status == 200);
  CHECK(cap.count("http request") == 0);
}
