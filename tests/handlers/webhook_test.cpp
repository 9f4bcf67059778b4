// handler = webhook against a local fake HTTP server (the fake OpenAI
// server of tests/support, which answers any path): the request jobd
// sends, its signature (checked with libcrypto directly, not with jobd's
// helper), and the outcome of each kind of answer.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <ctime>
#include <future>
#include <thread>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "handlers/webhook.hpp"
#include "storage/clock.hpp"
#include "support/fake_openai.hpp"

using namespace jobd;
using namespace jobd::test;
using namespace std::chrono_literals;

namespace {

const std::string test_secret = "whsec-Test0123456789abcdefSECRET";

// The signature a receiver computes: HMAC-SHA256 over "<ts>.<body>".
std::string expected_signature(const std::string& ts, const std::string& body) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  auto data = ts + "." + body;
  HMAC(EVP_sha256(), test_secret.data(), static_cast<int>(test_secret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md,
       &len);
  std::string hex;
  char buf[3];
  for (unsigned i = 0; i < len; ++i) {
    std::snprintf(buf, sizeof buf, "%02x", md[i]);
    hex += buf;
  }
  return "sha256=" + hex;
}

struct hook_env {
  fake_openai server;
  std::shared_ptr<manual_clock> clock = std::make_shared<manual_clock>();
  webhook_config cfg;
  std::atomic<bool> cancelled{false};

  hook_env() {
    cfg.url = server.base_url() + "/hook?token=abc";
    cfg.timeout_ms = 5000;
    cfg.secret = test_secret;
  }

  outcome run(const std::string& payload, int32_t attempt = 1) {
    webhook_handler h{"SEND_EMAIL", cfg, std::nullopt, clock};
    job j;
    j.id = "01JTESTHOOK0000000000000000";
    j.type = "SEND_EMAIL";
    j.attempt = attempt;
    j.payload = payload;
    run_context ctx;
    ctx.cancelled = &cancelled;
    return h.run(j, ctx);
  }
};

// An HTTP date (IMF-fixdate) for Unix time `secs`.
std::string http_date(std::time_t secs) {
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return buf;
}

} // namespace

TEST_CASE("webhook: a 2xx answer completes the job with its JSON body as "
          "the result; the request is signed",
          "[handlers][webhook]") {
  hook_env env;
  env.clock->set(1'700'000'123'456);
  env.server.push_json(200, R"({"sent":true,"id":"m-1"})");
  const std::string payload = R"({"to":"a@example.com","n":1})";
  auto o = env.run(payload, 3);
  INFO(o.error);
  REQUIRE(o.ok);
  CHECK(o.result == R"({"sent":true,"id":"m-1"})");
  auto reqs = env.server.requests();
  REQUIRE(reqs.size() == 1);
  auto& r = reqs[0];
  CHECK(r.method == "POST");
  CHECK(r.target == "/v1/hook?token=abc");
  CHECK(r.body == payload);
  CHECK(r.header("content-type") == "application/json");
  CHECK(r.header("x-jobd-job-id") == "01JTESTHOOK0000000000000000");
  CHECK(r.header("x-jobd-attempt") == "3");
  CHECK(r.header("x-jobd-type") == "SEND_EMAIL");
  CHECK(r.header("x-jobd-timestamp") == "1700000123");
  CHECK(r.header("x-jobd-signature")
        == expected_signature("1700000123", payload));
}

TEST_CASE("webhook: without a secret nothing is signed; an empty 2xx body "
          "is the result null",
          "[handlers][webhook]") {
  hook_env env;
  env.cfg.secret.clear();
  env.server.push_json(204, "");
  auto o = env.run("{}");
  INFO(o.error);
  REQUIRE(o.ok);
  CHECK(o.result == "null");
  REQUIRE(env.server.requests().size() == 1);
  CHECK(env.server.requests()[0].header("x-jobd-signature").empty());
}

TEST_CASE("webhook: a 2xx body that is not JSON fails the job permanently",
          "[handlers][webhook]") {
  hook_env env;
  env.server.push_json(200, "<html>ok</html>");
  auto o = env.run("{}");
  CHECK_FALSE(o.ok);
  CHECK(o.permanent);
  CHECK_THAT(o.error, Catch::Contains("not JSON"));
  // The query string (which may hold a token) is not quoted.
  CHECK_THAT(o.error, !Catch::Contains("token=abc"));
}

TEST_CASE("webhook: 500 is retryable and honours Retry-After; the next "
          "attempt succeeds",
          "[handlers][webhook]") {
  hook_env env;
  // The receiver echoes the secret: it must not reach the error.
  env.server.push_json(500, "{\"error\":\"boom " + test_secret + "\"}",
                       {{"Retry-After", "7"}});
  env.server.push_json(200, R"({"ok":1})");
  auto o = env.run("{}");
  CHECK_FALSE(o.ok);
  CHECK_FALSE(o.permanent);
  CHECK(o.retry_after_ms == 7000);
  CHECK_THAT(o.error, Catch::Contains("HTTP 500"));
  CHECK_THAT(o.error, Catch::Contains("boom"));
  CHECK_FALSE(find_key_piece(o.error, test_secret));
  auto again = env.run("{}", 2);
  REQUIRE(again.ok);
  CHECK(again.result == R"({"ok":1})");
}

TEST_CASE("webhook: 429 with a Retry-After date, and a huge one capped",
          "[handlers][webhook]") {
  hook_env env;
  env.clock->set(1'800'000'000'000);
  env.server.push_json(429, "{}",
                       {{"Retry-After", http_date(1'800'000'000 + 120)}});
  auto o = env.run("{}");
  CHECK_FALSE(o.ok);
  CHECK_FALSE(o.permanent);
  CHECK(o.retry_after_ms == 120'000);
  env.server.push_json(503, "{}", {{"Retry-After", "999999999"}});
  o = env.run("{}");
  CHECK_FALSE(o.permanent);
  CHECK(o.retry_after_ms == webhook_max_retry_after_ms);
  // A date in the past, or nonsense, is no wait at all.
  CHECK(retry_after_ms_of(http_date(1'000), 1'800'000'000'000) == 0);
  CHECK(retry_after_ms_of("soon", 0) == 0);
  CHECK(retry_after_ms_of("1.5", 0) == 1500);
}

TEST_CASE("webhook: 404 and other 4xx fail permanently; 3xx is not followed",
          "[handlers][webhook]") {
  hook_env env;
  env.server.push_json(404, "not here");
  auto o = env.run("{}");
  CHECK_FALSE(o.ok);
  CHECK(o.permanent);
  CHECK_THAT(o.error, Catch::Contains("HTTP 404: not here"));
  env.server.push_json(302, "", {{"Location", "http://elsewhere/"}});
  o = env.run("{}");
  CHECK(o.permanent);
  CHECK_THAT(o.error, Catch::Contains("redirects are not followed"));
}

TEST_CASE("webhook: no answer within timeout_ms is a retryable failure",
          "[handlers][webhook]") {
  hook_env env;
  env.cfg.timeout_ms = 300;
  fake_openai::response slow;
  slow.body = "{}";
  slow.delay = 5s;
  env.server.push(slow);
  auto start = std::chrono::steady_clock::now();
  auto o = env.run("{}");
  CHECK(std::chrono::steady_clock::now() - start < 4s);
  CHECK_FALSE(o.ok);
  CHECK_FALSE(o.permanent);
  CHECK_THAT(o.error, Catch::Contains("did not answer within 300 ms"));
}

TEST_CASE("webhook: cancelling aborts the transfer", "[handlers][webhook]") {
  hook_env env;
  fake_openai::response slow;
  slow.body = "{}";
  slow.delay = 20s;
  env.server.push(slow);
  auto start = std::chrono::steady_clock::now();
  auto run = std::async(std::launch::async, [&] { return env.run("{}"); });
  REQUIRE(env.server.wait_for_requests(1, 10s));
  env.cancelled = true;
  REQUIRE(run.wait_for(10s) == std::future_status::ready);
  auto o = run.get();
  CHECK(std::chrono::steady_clock::now() - start < 15s);
  CHECK_FALSE(o.ok);
  CHECK_THAT(o.error, Catch::Contains("cancelled"));
}

TEST_CASE("webhook: nobody listening is a retryable failure",
          "[handlers][webhook]") {
  hook_env env;
  env.cfg.url = "http://127.0.0.1:1/hook";
  auto o = env.run("{}");
  CHECK_FALSE(o.ok);
  CHECK_FALSE(o.permanent);
  CHECK_THAT(o.error, Catch::StartsWith("cannot reach the webhook "
                                        "http://127.0.0.1:1/hook"));
}

TEST_CASE("webhook: a reply over the cap fails; after a 2xx permanently",
          "[handlers][webhook]") {
  hook_env env;
  env.server.push_json(200, "[" + std::string(webhook_max_reply_bytes, '1') + "]");
  auto o = env.run("{}");
  CHECK_FALSE(o.ok);
  CHECK(o.permanent);
  CHECK_THAT(o.error, Catch::Contains("body over"));
}
