// Storage health as an operator and a client see it: /healthz reports a
// full or failing disk with 503 and a reason, and an enqueue that meets a
// full disk answers 503 storage_full with Retry-After, storing nothing.
#include <catch2/catch.hpp>

#include "support/flaky_store.hpp"
#include "support/http_fixture.hpp"

using namespace jobd;
using namespace jobd::test;

namespace {

// An http_env whose store is a flaky_store (kept in `flaky`).
struct flaky_env {
  flaky_store* flaky = nullptr;
  std::unique_ptr<http_env> env;

  explicit flaky_env(std::function<void(runtime_config&)> tune = {},
                     http_config cfg = test_http_config()) {
    http_env_options o;
    o.wrap_store = [this](std::unique_ptr<job_store> inner) {
      auto f = std::make_unique<flaky_store>(std::move(inner));
      flaky = f.get();
      return std::unique_ptr<job_store>{std::move(f)};
    };
    o.tune = std::move(tune);
    env = std::make_unique<http_env>(std::move(cfg), std::move(o));
  }
};

} // namespace

TEST_CASE("healthz: 200 with free space while storage is healthy",
          "[http][health]") {
  http_env env;
  http_client c{env.port()};
  auto r = c.get("/healthz");
  CHECK(r.status == 200);
  CHECK(json_at(r.body, "/status") == "ok");
  auto free = json_at(r.body, "/storage/freeBytes");
  REQUIRE(free);
  CHECK(std::stoll(*free) > 0);
}

TEST_CASE("an enqueue on a full disk answers 503 storage_full and stores "
          "nothing; healthz then reports it",
          "[http][health]") {
  flaky_env fe;
  http_client c{fe.env->port()};
  fe.flaky->full_enqueues = 1;
  auto r = c.post("/api/jobs", R"({"type":"ECHO","payload":{"n":1}})");
  INFO(r.body);
  CHECK(r.status == 503);
  CHECK(json_at(r.body, "/error/code") == "storage_full");
  CHECK_THAT(json_at(r.body, "/error/message").value_or(""),
             Catch::Contains("full"));
  CHECK(r.header("retry-after") == "30");
  // Nothing half-written: no job is listed.
  auto list = c.get("/api/jobs");
  REQUIRE(list.status == 200);
  CHECK(json_count(list.body, "/jobs") == 0);
  // The failed write makes storage unhealthy for write_error_window.
  auto h = c.get("/healthz");
  INFO(h.body);
  CHECK(h.status == 503);
  CHECK(json_at(h.body, "/status") == "unhealthy");
  CHECK_THAT(json_at(h.body, "/reason").value_or(""),
             Catch::Contains("a write failed") && Catch::Contains("full"));
  CHECK(h.header("retry-after") == "30");
  // The next enqueue (space freed) is stored as usual.
  auto ok = c.post("/api/jobs", R"({"type":"ECHO","payload":{"n":2}})");
  CHECK(ok.status == 201);
}

TEST_CASE("a batch enqueue on a full disk stores none of its jobs",
          "[http][health]") {
  flaky_env fe;
  http_client c{fe.env->port()};
  fe.flaky->full_enqueues = 1;
  auto r = c.post("/api/jobs/batch",
                  R"({"jobs":[{"type":"ECHO","payload":{}},{"type":"ECHO","payload":{}}]})");
  CHECK(r.status == 503);
  CHECK(json_at(r.body, "/error/code") == "storage_full");
  CHECK(json_count(c.get("/api/jobs").body, "/jobs") == 0);
}

TEST_CASE("healthz forgets a failed write after storage.write_error_window",
          "[http][health]") {
  flaky_env fe{[](runtime_config& rc) { rc.store.write_error_window_ms = 300; }};
  http_client c{fe.env->port()};
  fe.flaky->full_enqueues = 1;
  REQUIRE(c.post("/api/jobs", R"({"type":"ECHO","payload":{}})").status == 503);
  CHECK(c.get("/healthz").status == 503);
  CHECK(wait_until([&] { return c.get("/healthz").status == 200; },
                   std::chrono::seconds(10)));
}

TEST_CASE("healthz: 503 while free space is under storage.min_free_bytes",
          "[http][health]") {
  // No disk has an exabyte free: the threshold is always missed.
  flaky_env fe{[](runtime_config& rc) { rc.store.min_free_bytes = 1LL << 60; }};
  http_client c{fe.env->port()};
  auto h = c.get("/healthz");
  INFO(h.body);
  CHECK(h.status == 503);
  CHECK(json_at(h.body, "/status") == "unhealthy");
  CHECK_THAT(json_at(h.body, "/reason").value_or(""),
             Catch::Contains("storage.min_free_bytes"));
  CHECK(json_at(h.body, "/storage/freeBytes").has_value());
}

TEST_CASE("a store that does not answer within http.request_timeout gets "
          "the client a 503 timeout, and the connection stays usable",
          "[http][health]") {
  auto cfg = test_http_config();
  cfg.request_timeout_ms = 300;
  flaky_env fe{{}, cfg};
  http_client c{fe.env->port()};
  fe.flaky->hold_enqueues(true);
  // The enqueue hangs in the database: the answer comes from the timeout.
  auto r = c.post("/api/jobs", R"({"type":"ECHO","payload":{"n":1}})");
  INFO(r.body);
  CHECK(r.status == 503);
  CHECK(json_at(r.body, "/error/code") == "timeout");
  // The store actor is stuck behind it: a read times out the same way.
  auto g = c.get("/api/jobs/00000000000000000000000000");
  CHECK(g.status == 503);
  CHECK(json_at(g.body, "/error/code") == "timeout");
  // The database comes back. The late answer to the first request is not
  // mistaken for the answer to the next one on the same connection.
  fe.flaky->hold_enqueues(false);
  auto ok = c.post("/api/jobs", R"({"type":"ECHO","payload":{"n":2}})");
  INFO(ok.body);
  REQUIRE(ok.status == 201);
  CHECK(json_at(ok.body, "/payload/n") == "2");
  CHECK(c.connections_opened() == 1);
}
