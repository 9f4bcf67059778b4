// The worker protocol (issue 13 part 1): external workers fetch, heartbeat,
// complete and fail jobs of external types over HTTP, fenced by id +
// attempt + worker; fetch long-polls and wakes when a job arrives; the
// worker token opens these routes only.
#include <catch2/catch.hpp>

#include <chrono>
#include <future>

#include "handlers/configured_types.hpp"
#include "support/http_fixture.hpp"

using namespace jobd;
using namespace jobd::test;
using namespace std::chrono_literals;

namespace {

// A server with SEND_SMS served externally (ECHO runs in it), fast retries.
http_env_options with_sms() {
  http_env_options opts;
  opts.add_handlers = [](handler_registry& r) {
    std::string why;
    r.add("SEND_SMS",
          std::make_shared<external_handler>(
            "SEND_SMS", payload_schema::parse(R"({"required":["to"]})", why)));
  };
  opts.tune = [](runtime_config& rc) {
    rc.retry.base_ms = 10;
    rc.retry.jitter = 0;
  };
  return opts;
}

std::string sms(http_client& c, int priority = 0) {
  auto r = c.post("/api/jobs", R"({"type":"SEND_SMS","priority":)"
                                 + std::to_string(priority)
                                 + R"(,"payload":{"to":"+1555"}})");
  REQUIRE(r.status == 201);
  return *json_at(r.body, "/id");
}

std::string fetch_body(const std::string& worker, int wait_ms = 0,
                       int max = 1) {
  return R"({"worker":")" + worker + R"(","types":["SEND_SMS"],"max":)"
         + std::to_string(max) + R"(,"waitMs":)" + std::to_string(wait_ms)
         + "}";
}

std::string report(const std::string& worker, const std::string& id,
                   const std::string& attempt, const std::string& rest = "") {
  return R"({"worker":")" + worker + R"(","id":")" + id + R"(","attempt":)"
         + attempt + rest + "}";
}

int64_t waiting(http_client& c) {
  auto m = c.get("/metrics").body;
  auto at = m.find("\njobd_worker_fetches_waiting ");
  if (at == std::string::npos)
    return -1;
  return std::stoll(m.substr(at + 29));
}

} // namespace

TEST_CASE("an external worker fetches a job with its lease, completes it; "
          "a second word on the attempt is 409 and changes nothing",
          "[http][worker]") {
  http_env env{test_http_config(), with_sms()};
  http_client c{env.port()};
  auto id = sms(c, 5);
  // Not run by jobd's own workers: an ECHO enqueued after it finishes
  // while it waits.
  auto echo = c.post("/api/jobs", R"({"type":"ECHO"})");
  REQUIRE(wait_until([&] {
    return status_of(c, *json_at(echo.body, "/id")) == "COMPLETED";
  }));
  CHECK(status_of(c, id) == "PENDING");
  auto f = c.post("/api/worker/fetch", fetch_body("sms-1"));
  REQUIRE(f.status == 200);
  REQUIRE(json_count(f.body, "/jobs") == 1);
  CHECK(json_at(f.body, "/jobs/0/id") == id);
  CHECK(json_at(f.body, "/jobs/0/status") == "PROCESSING");
  CHECK(json_at(f.body, "/jobs/0/attempt") == "1");
  CHECK(json_at(f.body, "/jobs/0/lockedBy") == "sms-1");
  CHECK(json_at(f.body, "/jobs/0/payload") == R"({"to":"+1555"})");
  CHECK(json_at(f.body, "/jobs/0/leaseExpiresAt")->size() == 24);
  // Nothing more to fetch.
  auto none = c.post("/api/worker/fetch", fetch_body("sms-2"));
  REQUIRE(none.status == 200);
  CHECK(none.body == R"({"jobs":[]})");
  // Another worker's word, or a wrong attempt: 409, nothing changes.
  auto other = c.post("/api/worker/complete", report("sms-2", id, "1"));
  CHECK(other.status == 409);
  CHECK_THAT(message_of_body(other),
             Catch::Contains("does not hold attempt 1"));
  CHECK(c.post("/api/worker/complete", report("sms-1", id, "2")).status
        == 409);
  auto done = c.post("/api/worker/complete",
                     report("sms-1", id, "1", R"(,"result":{"sid":"SM1"})"));
  REQUIRE(done.status == 200);
  CHECK(json_at(done.body, "/status") == "COMPLETED");
  auto g = c.get("/api/jobs/" + id);
  CHECK(json_at(g.body, "/status") == "COMPLETED");
  CHECK(json_at(g.body, "/result") == R"({"sid":"SM1"})");
  CHECK(c.post("/api/worker/complete", report("sms-1", id, "1")).status
        == 409);
  // Its attempt history names the external worker.
  auto h = c.get("/api/jobs/" + id + "/attempts");
  CHECK(json_at(h.body, "/attempts/0/worker") == "sms-1");
  CHECK(json_at(h.body, "/attempts/0/outcome") == "completed");
}

TEST_CASE("a failure is retried after the backoff (or retryAfterMs) and "
          "fetched again; a permanent one fails the job",
          "[http][worker]") {
  http_env env{test_http_config(), with_sms()};
  http_client c{env.port()};
  auto id = sms(c);
  REQUIRE(json_count(c.post("/api/worker/fetch", fetch_body("sms-1")).body,
                     "/jobs")
          == 1);
  auto f = c.post("/api/worker/fail",
                  report("sms-1", id, "1",
                         R"(,"error":"carrier said 503\nretry","retryAfterMs":200)"));
  REQUIRE(f.status == 200);
  CHECK(json_at(f.body, "/status") == "PENDING");
  CHECK(json_at(f.body, "/retryCount") == "1");
  auto job = c.get("/api/jobs/" + id).body;
  // Control characters in outside text become spaces.
  CHECK(json_at(job, "/error") == "carrier said 503 retry");
  // Not due for 200 ms: an immediate fetch finds nothing; a waiting one
  // gets it once due (a retry coming due is found by the recheck).
  auto early = c.post("/api/worker/fetch", fetch_body("sms-2"));
  CHECK(early.body == R"({"jobs":[]})");
  auto again = c.post("/api/worker/fetch", fetch_body("sms-2", 10'000));
  REQUIRE(json_count(again.body, "/jobs") == 1);
  CHECK(json_at(again.body, "/jobs/0/attempt") == "2");
  auto last = c.post("/api/worker/fail",
                     report("sms-2", id, "2",
                            R"(,"error":"invalid number","retryable":false)"));
  REQUIRE(last.status == 200);
  CHECK(json_at(last.body, "/status") == "FAILED");
  CHECK(json_at(last.body, "/scheduledFor") == "null");
  CHECK(status_of(c, id) == "FAILED");
  auto h = c.get("/api/jobs/" + id + "/attempts").body;
  CHECK(json_count(h, "/attempts") == 2);
  CHECK(json_at(h, "/attempts/0/worker") == "sms-1");
  CHECK(json_at(h, "/attempts/1/error") == "invalid number");
}

TEST_CASE("heartbeats renew the leases held and report the jobs lost: a "
          "cancelled job is lost, and its worker's outcome is refused",
          "[http][worker]") {
  http_env env{test_http_config(), with_sms()};
  http_client c{env.port()};
  auto a = sms(c, 2);
  auto b = sms(c, 1);
  auto f = c.post("/api/worker/fetch", fetch_body("sms-1", 0, 5));
  REQUIRE(json_count(f.body, "/jobs") == 2);
  auto before = *json_at(c.get("/api/jobs/" + a).body, "/leaseExpiresAt");
  auto beat_body = R"({"worker":"sms-1","leaseMs":600000,"jobs":[{"id":")" + a
                   + R"(","attempt":1},{"id":")" + b + R"(","attempt":1}]})";
  auto beat = c.post("/api/worker/heartbeat", beat_body);
  REQUIRE(beat.status == 200);
  CHECK(beat.body == R"({"renewed":[")" + a + R"(",")" + b
                       + R"("],"lost":[]})");
  CHECK(*json_at(c.get("/api/jobs/" + a).body, "/leaseExpiresAt") > before);
  REQUIRE(c.post("/api/jobs/" + b + "/cancel", R"({"reason":"user left"})")
            .status
          == 200);
  beat = c.post("/api/worker/heartbeat", beat_body);
  CHECK(beat.body == R"({"renewed":[")" + a + R"("],"lost":[")" + b
                       + R"("]})");
  // Someone else's heartbeat renews nothing.
  auto thief = c.post("/api/worker/heartbeat",
                      R"({"worker":"sms-2","jobs":[{"id":")" + a
                        + R"(","attempt":1}]})");
  CHECK(thief.body == R"({"renewed":[],"lost":[")" + a + R"("]})");
  CHECK(c.post("/api/worker/complete", report("sms-1", b, "1")).status
        == 409);
  CHECK(status_of(c, b) == "CANCELLED");
  CHECK(c.post("/api/worker/complete", report("sms-1", a, "1")).status
        == 200);
}

TEST_CASE("a waiting fetch answers as soon as a job is enqueued, and with "
          "nothing when its wait is over",
          "[http][worker]") {
  http_env env{test_http_config(), with_sms()};
  http_client c{env.port()};
  // Nothing comes: the answer is empty, after the wait.
  auto t0 = std::chrono::steady_clock::now();
  auto empty = c.post("/api/worker/fetch", fetch_body("sms-1", 300));
  CHECK(empty.body == R"({"jobs":[]})");
  CHECK(std::chrono::steady_clock::now() - t0 >= 300ms);
  CHECK(waiting(c) == 0);
  // Past the 1 s rechecks too: still answered when the wait is over.
  t0 = std::chrono::steady_clock::now();
  empty = c.post("/api/worker/fetch", fetch_body("sms-1", 2'500));
  CHECK(empty.body == R"({"jobs":[]})");
  CHECK(std::chrono::steady_clock::now() - t0 >= 2'500ms);
  CHECK(waiting(c) == 0);
  // A fetch waiting up to 30 s gets a job enqueued meanwhile at once.
  auto port = env.port();
  auto pending = std::async(std::launch::async, [port] {
    http_client w{port};
    auto t = std::chrono::steady_clock::now();
    auto r = w.post("/api/worker/fetch", fetch_body("sms-1", 30'000));
    return std::make_pair(r, std::chrono::steady_clock::now() - t);
  });
  REQUIRE(wait_until([&] { return waiting(c) == 1; }));
  auto enqueued_at = std::chrono::steady_clock::now();
  auto id = sms(c);
  auto [r, took] = pending.get();
  auto after_enqueue = std::chrono::steady_clock::now() - enqueued_at;
  REQUIRE(r.status == 200);
  CHECK(json_at(r.body, "/jobs/0/id") == id);
  // Woken by the enqueue, not by the end of its 30 s wait (nor the 1 s
  // recheck: the wake-up is well within it even on a loaded machine).
  CHECK(took < 30s);
  CHECK(after_enqueue < 900ms);
  CHECK(waiting(c) == 0);
}

TEST_CASE("worker requests are checked field by field; only external types "
          "may be fetched; nothing changes on a refusal",
          "[http][worker]") {
  http_env env{test_http_config(), with_sms()};
  http_client c{env.port()};
  auto id = sms(c);
  struct bad {
    std::string path, body, field, message;
  };
  for (auto& b : std::vector<bad>{
         {"fetch", R"({"types":["SEND_SMS"]})", "worker", "is required"},
         {"fetch", R"({"worker":"w"})", "types", "is required"},
         {"fetch", R"({"worker":"w","types":["ECHO"]})", "types[0]",
          "'ECHO' is not a type served by external workers (they are "
          "SEND_SMS)"},
         {"fetch", R"({"worker":"w","types":["SEND_SMS","NOPE"]})",
          "types[1]", "'NOPE' is not a type served by external workers"},
         {"fetch", R"({"worker":"w","types":[]})", "types", "1..50"},
         {"fetch", R"({"worker":"","types":["SEND_SMS"]})", "worker", "1..100"},
         {"fetch", R"({"worker":"a\u0001b","types":["SEND_SMS"]})", "worker",
          "control characters"},
         {"fetch", R"({"worker":"w","types":["SEND_SMS"],"max":0})", "max",
          "between 1 and 100"},
         {"fetch", R"({"worker":"w","types":["SEND_SMS"],"waitMs":60001})",
          "waitMs", "between 0 and 60000"},
         {"fetch", R"({"worker":"w","types":["SEND_SMS"],"leaseMs":999})",
          "leaseMs", "between 1000 and 3600000"},
         {"fetch", R"({"worker":"w","types":["SEND_SMS"],"queue":"x"})",
          "queue", "is not a field of this request"},
         {"fetch", R"({"worker":"w","types":["SEND_SMS"],"host":""})", "host",
          "1..255 bytes"},
         {"fetch", R"({"worker":"w","types":["SEND_SMS"],"host":"a\nb"})",
          "host", "without control characters"},
         {"fetch", R"({"worker":"w","types":["SEND_SMS"],"host":7})", "host",
          "must be a host name"},
         {"fetch", "[1]", "", "must be a JSON object"},
         {"complete", R"({"worker":"w","id":"nope","attempt":1})", "id",
          "must be a job id"},
         {"complete", R"({"worker":"w","id":")" + id + R"("})", "attempt",
          "is required"},
         {"complete", R"({"worker":"w","id":")" + id + R"(","attempt":0})",
          "attempt", "between 1"},
         {"fail", R"({"worker":"w","id":")" + id + R"(","attempt":1})",
          "error", "is required"},
         {"fail",
          R"({"worker":"w","id":")" + id + R"(","attempt":1,"error":""})",
          "error", "non-empty string"},
         {"fail",
          R"({"worker":"w","id":")" + id
            + R"(","attempt":1,"error":"x","retryable":"no"})",
          "retryable", "true or false"},
         {"heartbeat", R"({"worker":"w","jobs":[{"id":")" + id + R"("}]})",
          "jobs[0]", "needs both id and attempt"},
         {"heartbeat", R"({"worker":"w"})", "jobs", "is required"},
       }) {
    INFO(b.path << " " << b.body);
    auto r = c.post("/api/worker/" + b.path, b.body);
    CHECK(r.status == 400);
    CHECK(field_of(r) == (b.field.empty() ? std::string{""} : b.field));
    CHECK_THAT(message_of_body(r), Catch::Contains(b.message));
  }
  CHECK(status_of(c, id) == "PENDING");
  CHECK(json_at(c.get("/api/jobs/" + id).body, "/attempt") == "0");
  // A refused call is no sighting: no worker is listed.
  CHECK(c.get("/api/workers").body.find(R"("workers":[])") != std::string::npos);
}

TEST_CASE("the worker token opens the worker routes only; the API token "
          "opens them too",
          "[http][worker]") {
  auto cfg = test_http_config();
  cfg.api_token = "admin-token-0123456789";
  cfg.worker_token = "worker-token-0123456789";
  http_env env{cfg, with_sms()};
  http_client admin{env.port(), "admin-token-0123456789"};
  http_client worker{env.port(), "worker-token-0123456789"};
  http_client nobody{env.port()};
  auto id = sms(admin);
  auto none = nobody.post("/api/worker/fetch", fetch_body("w"));
  CHECK(none.status == 401);
  CHECK_THAT(message_of_body(none), Catch::Contains("the worker token"));
  auto denied = worker.get("/api/jobs");
  CHECK(denied.status == 401);
  CHECK_THAT(message_of_body(denied),
             Catch::Contains("a worker token opens /api/worker/* only"));
  CHECK(worker.post("/api/jobs", R"({"type":"ECHO"})").status == 401);
  // The list of workers is for the operator: the worker token does not
  // open it.
  CHECK(worker.get("/api/workers").status == 401);
  CHECK(nobody.get("/api/workers").status == 401);
  auto f = worker.post("/api/worker/fetch", fetch_body("w"));
  REQUIRE(f.status == 200);
  CHECK(json_at(f.body, "/jobs/0/id") == id);
  CHECK(admin.post("/api/worker/complete", report("w", id, "1")).status
        == 200);
}

TEST_CASE("complete-all completes the attempts held in one request and names "
          "the ones lost", "[http][worker]") {
  http_env env{test_http_config(), with_sms()};
  http_client c{env.port()};
  auto a = sms(c, 3);
  auto b = sms(c, 2);
  auto d = sms(c, 1);
  REQUIRE(json_count(c.post("/api/worker/fetch", fetch_body("sms-1", 0, 3))
                       .body,
                     "/jobs")
          == 3);
  REQUIRE(c.post("/api/jobs/" + d + "/cancel", "").status == 200);
  auto r = c.post("/api/worker/complete-all",
                  R"({"worker":"sms-1","jobs":[{"id":")" + a
                    + R"(","attempt":1,"result":{"n":1}},{"id":")" + b
                    + R"(","attempt":2},{"id":")" + d + R"(","attempt":1}]})");
  REQUIRE(r.status == 200);
  CHECK(r.body == R"({"completed":[")" + a + R"("],"lost":[")" + b + R"(",")"
                    + d + R"("]})");
  CHECK(json_at(c.get("/api/jobs/" + a).body, "/result") == R"({"n":1})");
  CHECK(status_of(c, b) == "PROCESSING"); // attempt 2 is not the one held
  CHECK(status_of(c, d) == "CANCELLED");
  auto bad = c.post("/api/worker/complete-all",
                    R"({"worker":"sms-1","jobs":[{"id":")" + b + R"("}]})");
  CHECK(bad.status == 400);
  CHECK(field_of(bad) == "jobs[0]");
  CHECK(c.post("/api/worker/complete-all", R"({"worker":"sms-1","jobs":[]})")
          .status
        == 400);
}

TEST_CASE("GET /api/workers lists each external worker with its host, types, "
          "last sighting and the jobs it holds, most recently seen first",
          "[http][worker][workers]") {
  http_env env{test_http_config(), with_sms()};
  http_client c{env.port()};
  auto empty = c.get("/api/workers");
  REQUIRE(empty.status == 200);
  CHECK(json_count(empty.body, "/workers") == 0);
  CHECK(json_at(empty.body, "/truncated") == "false");
  CHECK(json_at(empty.body, "/asOf")->size() == 24);
  auto a = sms(c, 5);
  auto b = sms(c, 4);
  auto got = c.post("/api/worker/fetch",
                    R"({"worker":"sms-1","types":["SEND_SMS"],"max":2,)"
                    R"("host":"box-a.example"})");
  REQUIRE(json_count(got.body, "/jobs") == 2);
  // A worker new to the server is listed once its first fetch answers.
  auto l = c.get("/api/workers");
  REQUIRE(l.status == 200);
  REQUIRE(json_count(l.body, "/workers") == 1);
  CHECK(json_at(l.body, "/workers/0/id") == "sms-1");
  CHECK(json_at(l.body, "/workers/0/host") == "box-a.example");
  CHECK(json_at(l.body, "/workers/0/types") == R"(["SEND_SMS"])");
  CHECK(json_at(l.body, "/workers/0/online") == "true");
  CHECK(json_at(l.body, "/workers/0/jobs") == R"([")" + a + R"(",")" + b
                                                + R"("])");
  CHECK(json_at(l.body, "/workers/0/lastSeenAt")->size() == 24);
  CHECK(json_at(l.body, "/workers/0/firstSeenAt")
        == json_at(l.body, "/workers/0/lastSeenAt"));
  // One that names no host shows the address it called from.
  REQUIRE(c.post("/api/worker/fetch", fetch_body("sms-2")).status == 200);
  l = c.get("/api/workers");
  REQUIRE(json_count(l.body, "/workers") == 2);
  CHECK(json_at(l.body, "/workers/0/id") == "sms-2");
  CHECK(json_at(l.body, "/workers/0/host") == "127.0.0.1");
  CHECK(json_at(l.body, "/workers/0/jobs") == "[]");
  // A job settled is no longer in hand.
  REQUIRE(c.post("/api/worker/complete", report("sms-1", a, "1")).status
          == 200);
  l = c.get("/api/workers");
  CHECK(json_at(l.body, "/workers/1/id") == "sms-1");
  CHECK(json_at(l.body, "/workers/1/jobs") == R"([")" + b + R"("])");
  REQUIRE(c.post("/api/jobs/" + b + "/cancel", "").status == 200);
  l = c.get("/api/workers");
  CHECK(json_at(l.body, "/workers/1/jobs") == "[]");
  // HEAD has the same header, no body.
  CHECK(c.request("HEAD", "/api/workers").status == 200);
}

TEST_CASE("a worker waiting in a long fetch is seen again while it waits; "
          "a wait longer than http.request_timeout ends with an answer, not "
          "a timeout",
          "[http][worker][workers]") {
  auto cfg = test_http_config();
  REQUIRE(cfg.request_timeout_ms == 5000);
  http_env env{cfg, with_sms()};
  http_client c{env.port()};
  auto port = env.port();
  auto pending = std::async(std::launch::async, [port] {
    http_client w{port};
    return w.post("/api/worker/fetch", fetch_body("sms-1", 7'000));
  });
  REQUIRE(wait_until([&] { return waiting(c) == 1; }));
  auto first = json_at(c.get("/api/workers").body, "/workers/0/firstSeenAt");
  REQUIRE(first);
  // Written again within worker_seen_every_ms (5 s) plus a recheck (1 s),
  // though the worker sent nothing more.
  CHECK(wait_until(
    [&] {
      return json_at(c.get("/api/workers").body, "/workers/0/lastSeenAt")
             != first;
    },
    10s));
  auto r = pending.get();
  CHECK(r.status == 200);
  CHECK(r.body == R"({"jobs":[]})");
}
