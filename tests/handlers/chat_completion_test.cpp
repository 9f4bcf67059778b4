// PREVIEW_GENERATION / RECAP_GENERATION against a scripted fake OpenAI
// server: each test checks the outcome and the requests the server saw.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include <simdjson.h>

#include "handlers/chat_completion.hpp"
#include "storage/clock.hpp"
#include "support/fake_openai.hpp"

using namespace jobd;
using namespace jobd::test;

namespace {

const std::string test_key = "sk-test-Secret0123456789abcdef";

struct chat_env {
  fake_openai server;
  std::shared_ptr<manual_clock> clock = std::make_shared<manual_clock>();
  openai_config openai;
  chat_config cfg = preview_config_defaults();
  ms_t slept = 0;
  std::function<void()> on_sleep;
  std::atomic<bool> cancelled{false};
  progress_slot progress; ///< where the handler's reports go

  chat_env() {
    openai.api_key = test_key;
    openai.base_url = server.base_url();
    openai.model = "gpt-default";
    openai.connect_timeout_ms = 2000;
    cfg.timeout_ms = 5000;
  }

  std::unique_ptr<chat_completion_handler> make() {
    return std::make_unique<chat_completion_handler>(
      preview_generation_type, "preview", openai, cfg, clock,
      [this](ms_t ms) {
        slept += ms;
        clock->advance(ms);
        if (on_sleep)
          on_sleep();
      });
  }

  outcome run(chat_completion_handler& h, const std::string& payload) {
    job j;
    j.id = "01JTESTCHAT0000000000000000";
    j.type = preview_generation_type;
    j.payload = payload;
    run_context ctx;
    ctx.cancelled = &cancelled;
    ctx.progress = &progress;
    return h.run(j, ctx);
  }

  outcome run(const std::string& payload) {
    auto h = make();
    return run(*h, payload);
  }
};

// The fields of a JSON object as text: strings unquoted, others minified.
struct parsed_json {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;

  explicit parsed_json(const std::string& text) {
    REQUIRE_FALSE(parser.parse(text).get(doc));
  }
  std::string str(const char* path) {
    std::string_view s;
    REQUIRE_FALSE(doc.at_pointer(path).get_string().get(s));
    return std::string{s};
  }
  double num(const char* path) {
    double d = -1;
    REQUIRE_FALSE(doc.at_pointer(path).get_double().get(d));
    return d;
  }
  int64_t integer(const char* path) {
    int64_t n = -1;
    REQUIRE_FALSE(doc.at_pointer(path).get_int64().get(n));
    return n;
  }
  size_t size(const char* path) {
    simdjson::dom::array a;
    REQUIRE_FALSE(doc.at_pointer(path).get_array().get(a));
    return a.size();
  }
  bool has(const char* path) { return !doc.at_pointer(path).error(); }
};

// Neither the key nor any piece of it of 8+ characters (in any case).
void check_no_key(const outcome& o) {
  CHECK(find_key_piece(o.error, test_key) == std::nullopt);
  CHECK(find_key_piece(o.result, test_key) == std::nullopt);
}

} // namespace

TEST_CASE("a completion succeeds and the request carries model, "
          "temperature, max_tokens, messages and the key",
          "[handlers][chat]") {
  chat_env env;
  env.server.push_json(200, fake_openai::completion_body(
                              "A \"fine\" preview\nwith 🎉", "gpt-x-2024",
                              12, 8));
  auto o = env.run(R"({"prompt":"Describe \"Dune\"","model":"gpt-x",)"
                   R"("temperature":1.25,"maxTokens":300})");
  INFO(o.error);
  REQUIRE(o.ok);
  check_no_key(o);

  parsed_json res{o.result};
  CHECK(res.str("/prompt") == "Describe \"Dune\"");
  CHECK(res.str("/content") == "A \"fine\" preview\nwith 🎉");
  CHECK(res.str("/model") == "gpt-x-2024"); // as the API reports it
  CHECK(res.integer("/usage/prompt_tokens") == 12);
  CHECK(res.integer("/usage/completion_tokens") == 8);
  CHECK(res.integer("/usage/total_tokens") == 20);

  auto reqs = env.server.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].method == "POST");
  CHECK(reqs[0].target == "/v1/chat/completions");
  CHECK(reqs[0].header("authorization") == "Bearer " + test_key);
  CHECK(reqs[0].header("content-type") == "application/json");
  parsed_json body{reqs[0].body};
  CHECK(body.str("/model") == "gpt-x");
  CHECK(body.num("/temperature") == Approx(1.25));
  CHECK(body.integer("/max_tokens") == 300);
  REQUIRE(body.size("/messages") == 2);
  CHECK(body.str("/messages/0/role") == "system");
  CHECK(body.str("/messages/0/content") == env.cfg.system_prompt);
  CHECK(body.str("/messages/1/role") == "user");
  CHECK(body.str("/messages/1/content") == "Describe \"Dune\"");
}

TEST_CASE("defaults come from the config; no system message when empty",
          "[handlers][chat]") {
  chat_env env;
  env.cfg = recap_config_defaults();
  env.cfg.system_prompt.clear();
  env.server.push_json(200, R"({"choices":[{"message":{"content":"ok"}}]})");
  auto o = env.run(R"({"prompt":"p","model":null})");
  INFO(o.error);
  REQUIRE(o.ok);
  parsed_json res{o.result};
  CHECK(res.str("/model") == "gpt-default"); // the API named none
  CHECK(res.integer("/usage/total_tokens") == 0); // the API sent none
  auto reqs = env.server.requests();
  REQUIRE(reqs.size() == 1);
  parsed_json body{reqs[0].body};
  CHECK(body.str("/model") == "gpt-default");
  CHECK(body.num("/temperature") == Approx(0.3));
  CHECK(body.integer("/max_tokens") == 1024);
  REQUIRE(body.size("/messages") == 1);
  CHECK(body.str("/messages/0/role") == "user");

  SECTION("a per-type model wins over openai.model") {
    env.cfg.model = "gpt-recap";
    env.server.push_json(200, fake_openai::completion_body("ok"));
    REQUIRE(env.run(R"({"prompt":"p"})").ok);
    parsed_json body2{env.server.requests().back().body};
    CHECK(body2.str("/model") == "gpt-recap");
  }
}

TEST_CASE("429 honours Retry-After, then the retry succeeds",
          "[handlers][chat]") {
  chat_env env;
  auto h = env.make();
  env.server.push_json(429, fake_openai::error_body(
                              "Rate limit reached for gpt-x", "rate_limit_exceeded"),
                       {{"Retry-After", "7"}});
  env.server.push_json(200, fake_openai::completion_body("done"));

  auto first = env.run(*h, R"({"prompt":"p"})");
  CHECK_FALSE(first.ok);
  CHECK_FALSE(first.permanent);
  CHECK(first.retry_after_ms == 7000);
  CHECK_THAT(first.error, Catch::Contains("HTTP 429")
                            && Catch::Contains("Rate limit reached for gpt-x")
                            && Catch::Contains("preview.requests_per_minute"));
  auto second = env.run(*h, R"({"prompt":"p"})");
  INFO(second.error);
  CHECK(second.ok);
  auto reqs = env.server.requests();
  REQUIRE(reqs.size() == 2);
  for (auto& r : reqs)
    CHECK(r.header("authorization") == "Bearer " + test_key);

  SECTION("retry-after-ms is preferred, fractional seconds are rounded up") {
    env.server.push_json(429, fake_openai::error_body("slow down"),
                         {{"retry-after-ms", "1500"}, {"Retry-After", "2"}});
    CHECK(env.run(*h, R"({"prompt":"p"})").retry_after_ms == 1500);
    env.server.push_json(429, fake_openai::error_body("slow down"),
                         {{"Retry-After", "0.25"}});
    CHECK(env.run(*h, R"({"prompt":"p"})").retry_after_ms == 250);
    env.server.push_json(429, fake_openai::error_body("slow down"));
    CHECK(env.run(*h, R"({"prompt":"p"})").retry_after_ms == 0);
  }
}

TEST_CASE("429 insufficient_quota is permanent", "[handlers][chat]") {
  chat_env env;
  env.server.push_json(429, fake_openai::error_body(
                              "You exceeded your current quota",
                              "insufficient_quota"));
  auto o = env.run(R"({"prompt":"p"})");
  CHECK_FALSE(o.ok);
  CHECK(o.permanent);
  CHECK_THAT(o.error, Catch::Contains("You exceeded your current quota"));
}

TEST_CASE("500 is retryable, then the retry succeeds", "[handlers][chat]") {
  chat_env env;
  auto h = env.make();
  env.server.push_json(500, fake_openai::error_body("The server had an error"));
  env.server.push_json(200, fake_openai::completion_body("done"));
  auto first = env.run(*h, R"({"prompt":"p"})");
  CHECK_FALSE(first.ok);
  CHECK_FALSE(first.permanent);
  CHECK(first.retry_after_ms == 0);
  CHECK_THAT(first.error, Catch::Contains("HTTP 500")
                            && Catch::Contains("The server had an error")
                            && Catch::Contains("the API had a problem"));
  CHECK_THAT(first.error, !Catch::Contains("retry", Catch::CaseSensitive::No));
  CHECK(env.run(*h, R"({"prompt":"p"})").ok);
  CHECK(env.server.requests().size() == 2);

  SECTION("503 with a non-JSON body quotes the body") {
    env.server.push_json(503, "<html>upstream down</html>");
    auto o = env.run(*h, R"({"prompt":"p"})");
    CHECK_FALSE(o.permanent);
    CHECK_THAT(o.error, Catch::Contains("HTTP 503")
                          && Catch::Contains("<html>upstream down</html>"));
  }
}

TEST_CASE("401 is permanent, quotes the API message, never the key",
          "[handlers][chat]") {
  chat_env env;
  env.server.push_json(401, fake_openai::error_body(
                              "Incorrect API key provided: " + test_key
                                + " (also shown as sk-test***cdef).",
                              "invalid_api_key"));
  auto o = env.run(R"({"prompt":"p"})");
  CHECK_FALSE(o.ok);
  CHECK(o.permanent);
  CHECK_THAT(o.error, Catch::Contains("HTTP 401 (invalid_api_key)")
                        && Catch::Contains("Incorrect API key provided")
                        && Catch::Contains("OPENAI_API_KEY"));
  check_no_key(o);
  CHECK(o.error.find("sk-test***cdef") == std::string::npos);
  CHECK(env.server.requests().at(0).header("authorization")
        == "Bearer " + test_key);
}

TEST_CASE("other 4xx are permanent with a hint; 408 and 409 retry",
          "[handlers][chat]") {
  chat_env env;
  auto h = env.make();
  struct expectation {
    unsigned status;
    bool permanent;
    const char* hint;
  };
  for (auto e : {expectation{400, true, "payload.maxTokens"},
                 expectation{403, true, "permissions"},
                 expectation{404, true, "preview.model"},
                 expectation{422, true, "payload.prompt"},
                 expectation{408, false, "temporary problem"},
                 expectation{409, false, "temporary problem"}}) {
    env.server.push_json(e.status, fake_openai::error_body(
                                     "The model `nope` does not exist"));
    auto o = env.run(*h, R"({"prompt":"p","model":"nope"})");
    INFO("HTTP " << e.status << ": " << o.error);
    CHECK_FALSE(o.ok);
    CHECK(o.permanent == e.permanent);
    CHECK_THAT(o.error, Catch::Contains("The model `nope` does not exist")
                          && Catch::Contains(e.hint));
    // Whether a retry follows is the retry actor's call (maxRetries), so
    // the handler never promises one.
    CHECK_THAT(o.error, !Catch::Contains("retry", Catch::CaseSensitive::No));
  }
}

TEST_CASE("a malformed or unexpected response is a retryable error",
          "[handlers][chat]") {
  chat_env env;
  auto h = env.make();
  struct bad {
    const char* body;
    const char* says;
  };
  for (auto b : {bad{"this is not json", "not JSON"},
                 bad{"[1,2]", "not a JSON object"},
                 bad{R"({"choices":[]})", "no choices"},
                 bad{R"({"object":"chat.completion"})", "no choices"},
                 bad{R"({"choices":[{"message":{"content":null},)"
                     R"("finish_reason":"content_filter"}]})",
                     "content_filter"},
                 bad{R"({"choices":[{"message":{"content":"x"}}],)"
                     R"("usage":{"prompt_tokens":"many"}})",
                     "usage.prompt_tokens"},
                 // Found by fuzzing: counts whose sum overflowed (UB).
                 bad{R"({"choices":[{"message":{"content":"x"}}],)"
                     R"("usage":{"prompt_tokens":9223372036854775807,)"
                     R"("completion_tokens":1}})",
                     "usage.prompt_tokens"},
                 bad{R"({"choices":[{"message":{"content":"x"}}],)"
                     R"("usage":{"prompt_tokens":-5,"completion_tokens":1}})",
                     "usage.prompt_tokens"}}) {
    env.server.push_json(200, b.body);
    auto o = env.run(*h, R"({"prompt":"p"})");
    INFO(b.body << " -> " << o.error);
    CHECK_FALSE(o.ok);
    CHECK_FALSE(o.permanent);
    CHECK_THAT(o.error, Catch::Contains("unexpected response")
                          && Catch::Contains(b.says)
                          && Catch::Contains("openai.base_url"));
  }
}

TEST_CASE("a response slower than the timeout aborts the transfer",
          "[handlers][chat]") {
  chat_env env;
  env.cfg.timeout_ms = 300;
  fake_openai::response slow;
  slow.body = fake_openai::completion_body("too late");
  slow.delay = std::chrono::milliseconds(5000);
  env.server.push(slow);
  auto start = std::chrono::steady_clock::now();
  auto o = env.run(R"({"prompt":"p"})");
  auto took = std::chrono::steady_clock::now() - start;
  CHECK_FALSE(o.ok);
  CHECK_FALSE(o.permanent);
  CHECK_THAT(o.error, Catch::Contains("did not answer in time")
                        && Catch::Contains("preview.timeout_ms"));
  CHECK(took < std::chrono::milliseconds(3000)); // not the 5 s delay
  CHECK(env.server.requests().size() == 1);
}

TEST_CASE("cancellation aborts a call in flight", "[handlers][chat]") {
  chat_env env;
  fake_openai::response slow;
  slow.body = fake_openai::completion_body("too late");
  slow.delay = std::chrono::milliseconds(30'000);
  env.server.push(slow);
  auto h = env.make();
  auto start = std::chrono::steady_clock::now();
  auto running = std::async(std::launch::async, [&] {
    return env.run(*h, R"({"prompt":"p"})");
  });
  // Cancel once the request is known to be in flight.
  REQUIRE(env.server.wait_for_requests(1, std::chrono::seconds(10)));
  env.cancelled = true;
  auto o = running.get();
  CHECK_FALSE(o.ok);
  CHECK_FALSE(o.permanent);
  CHECK_THAT(o.error, Catch::Contains("cancelled"));
  CHECK(std::chrono::steady_clock::now() - start < std::chrono::seconds(10));
}

TEST_CASE("a missing key fails permanently without calling the API",
          "[handlers][chat]") {
  chat_env env;
  env.openai.api_key.clear();
  auto o = env.run(R"({"prompt":"p"})");
  CHECK_FALSE(o.ok);
  CHECK(o.permanent);
  CHECK(o.error == "OPENAI_API_KEY is not set; set it or openai.api_key in "
                   "the config");
  CHECK(env.server.requests().empty());
}

TEST_CASE("an unreachable server is a retryable error", "[handlers][chat]") {
  chat_env env;
  std::string dead_url;
  {
    fake_openai gone;
    dead_url = gone.base_url();
  } // stopped: its port now refuses connections
  env.openai.base_url = dead_url;
  auto o = env.run(R"({"prompt":"p"})");
  CHECK_FALSE(o.ok);
  CHECK_FALSE(o.permanent);
  CHECK_THAT(o.error, Catch::Contains("cannot reach the OpenAI API")
                        && Catch::Contains("openai.base_url"));
}

TEST_CASE("the rate limit makes a job wait instead of failing",
          "[handlers][chat]") {
  chat_env env;
  env.cfg.requests_per_minute = 1;
  auto h = env.make();
  env.server.push_json(200, fake_openai::completion_body("one"));
  env.server.push_json(200, fake_openai::completion_body("two"));
  REQUIRE(env.run(*h, R"({"prompt":"p"})").ok);
  CHECK(env.slept == 0);
  REQUIRE(env.run(*h, R"({"prompt":"p"})").ok);
  CHECK(env.slept == 60'000);
  CHECK(env.server.requests().size() == 2);

  SECTION("cancelled while waiting: no call is made") {
    env.on_sleep = [&] { env.cancelled = true; };
    auto o = env.run(*h, R"({"prompt":"p"})");
    CHECK_FALSE(o.ok);
    CHECK_FALSE(o.permanent);
    CHECK_THAT(o.error, Catch::Contains("rate limit"));
    CHECK(env.server.requests().size() == 2);
  }
}

TEST_CASE("the token estimate is corrected with the reported usage",
          "[handlers][chat]") {
  chat_env env;
  env.cfg.system_prompt.clear();
  env.cfg.tokens_per_minute = 1000;
  auto h = env.make();
  // Estimate: 4 prompt bytes / 4 + 900 = 901 tokens; the API reports 20.
  env.server.push_json(200, fake_openai::completion_body("a", "m", 12, 8));
  REQUIRE(env.run(*h, R"({"prompt":"abcd","maxTokens":900})").ok);
  CHECK(env.slept == 0);
  // 980 left after the correction: another 901 fits at once.
  CHECK(h->limiter().wait_ms(901) == 0);
  // Without a usage report the estimate stays taken.
  env.server.push_json(200, R"({"choices":[{"message":{"content":"b"}}]})");
  REQUIRE(env.run(*h, R"({"prompt":"abcd","maxTokens":900})").ok);
  CHECK(h->limiter().wait_ms(901) > 0);
}

TEST_CASE("validate names the field and the fix", "[handlers][chat]") {
  chat_env env;
  auto h = env.make();
  std::map<std::string, std::string> bad{
    {"[]", "payload"},
    {"not json", "payload"},
    {"{}", "payload.prompt"},
    {R"({"prompt":""})", "payload.prompt"},
    {R"({"prompt":5})", "payload.prompt"},
    {R"({"prompt":null})", "payload.prompt"},
    {R"({"prompt":"p","model":""})", "payload.model"},
    {R"({"prompt":"p","model":4})", "payload.model"},
    {R"({"prompt":"p","temperature":2.5})", "payload.temperature"},
    {R"({"prompt":"p","temperature":-0.1})", "payload.temperature"},
    {R"({"prompt":"p","temperature":"hot"})", "payload.temperature"},
    {R"({"prompt":"p","maxTokens":0})", "payload.maxTokens"},
    {R"({"prompt":"p","maxTokens":128001})", "payload.maxTokens"},
    {R"({"prompt":"p","maxTokens":12.5})", "payload.maxTokens"},
  };
  for (auto& kv : bad) {
    auto err = h->validate(kv.first);
    INFO(kv.first);
    REQUIRE(err);
    CHECK(err->field == kv.second);
    CHECK_FALSE(err->message.empty());
    // run() refuses the same payload permanently, naming the field.
    auto o = env.run(*h, kv.first);
    CHECK(o.permanent);
    CHECK_THAT(o.error, Catch::StartsWith(kv.second + " "));
  }
  CHECK(env.server.requests().empty());
  for (auto ok : {R"({"prompt":"p"})",
                  R"({"prompt":"p","temperature":0,"maxTokens":1})",
                  R"({"prompt":"p","temperature":2,"maxTokens":128000})",
                  R"({"prompt":"p","temperature":null,"extra":[1]})"}) {
    INFO(ok);
    CHECK_FALSE(h->validate(ok));
  }
  CHECK(h->max_concurrency() == 4);
}

TEST_CASE("the environment fills what the config leaves empty",
          "[handlers][chat][config]") {
  std::map<std::string, std::string> env{
    {"OPENAI_API_KEY", "sk-env"}, {"OPENAI_BASE_URL", "http://env:1/v1"}};
  auto getenv = [&](const char* name) -> const char* {
    auto i = env.find(name);
    return i == env.end() ? nullptr : i->second.c_str();
  };
  openai_config cfg;
  auto resolved = with_openai_env(cfg, getenv);
  CHECK(resolved.api_key == "sk-env");
  CHECK(resolved.base_url == "http://env:1/v1");

  cfg.api_key = "sk-config";
  cfg.base_url = "https://config/v1";
  resolved = with_openai_env(cfg, getenv);
  CHECK(resolved.api_key == "sk-config");
  CHECK(resolved.base_url == "https://config/v1");

  env.clear();
  resolved = with_openai_env(openai_config{}, getenv);
  CHECK(resolved.api_key.empty());
  CHECK(resolved.base_url == openai_default_base_url);
}

TEST_CASE("chat config validation names the setting", "[handlers][chat][config]") {
  CHECK_FALSE(validate_openai_config(openai_config{}));
  CHECK_FALSE(validate_chat_config(preview_config_defaults(), "preview"));
  CHECK_FALSE(validate_chat_config(recap_config_defaults(), "recap"));

  auto openai_err = [](std::function<void(openai_config&)> change) {
    openai_config c;
    change(c);
    auto err = validate_openai_config(c);
    return err ? *err : std::string{};
  };
  CHECK_THAT(openai_err([](auto& c) { c.base_url = "ftp://x"; }),
             Catch::StartsWith("openai.base_url"));
  CHECK_THAT(openai_err([](auto& c) { c.api_key = "sk-a\r\nX-Evil: 1"; }),
             Catch::StartsWith("openai.api_key"));
  CHECK_THAT(openai_err([](auto& c) { c.model.clear(); }),
             Catch::StartsWith("openai.model"));
  CHECK_THAT(openai_err([](auto& c) { c.connect_timeout_ms = 0; }),
             Catch::StartsWith("openai.connect_timeout_ms"));
  CHECK_THAT(openai_err([](auto& c) { c.max_response_bytes = 10; }),
             Catch::StartsWith("openai.max_response_bytes"));

  auto chat_err = [](std::function<void(chat_config&)> change) {
    auto c = recap_config_defaults();
    change(c);
    auto err = validate_chat_config(c, "recap");
    return err ? *err : std::string{};
  };
  CHECK_THAT(chat_err([](auto& c) { c.temperature = 3; }),
             Catch::StartsWith("recap.temperature"));
  CHECK_THAT(chat_err([](auto& c) { c.max_tokens = 0; }),
             Catch::StartsWith("recap.max_tokens"));
  CHECK_THAT(chat_err([](auto& c) { c.timeout_ms = 0; }),
             Catch::StartsWith("recap.timeout_ms"));
  CHECK_THAT(chat_err([](auto& c) { c.max_concurrency = -1; }),
             Catch::StartsWith("recap.max_concurrency"));
  CHECK_THAT(chat_err([](auto& c) { c.requests_per_minute = -1; }),
             Catch::StartsWith("recap.requests_per_minute"));
  CHECK_THAT(chat_err([](auto& c) { c.tokens_per_minute = -1; }),
             Catch::StartsWith("recap.tokens_per_minute"));
}

// -- the key never leaves (issue 8) -------------------------------------------
// A server may echo the key anywhere. Each case below leaked it before every
// string from the reply went through one sanitiser.

TEST_CASE("the key echoed in error.code, error.type or error.param never "
          "reaches the error",
          "[handlers][chat][secret]") {
  chat_env env;
  auto h = env.make();
  const std::string piece = test_key.substr(4, 12);
  for (unsigned status : {400u, 401u, 403u, 404u, 408u, 429u, 500u, 503u}) {
    env.server.push_json(status, fake_openai::error_body(
                                   "bad key " + test_key, test_key,
                                   test_key, test_key));
    // code null: the type is quoted instead.
    env.server.push_json(status, fake_openai::error_body(
                                   "bad key " + piece, "t-" + test_key,
                                   piece, std::nullopt));
    for (int i = 0; i < 2; ++i) {
      auto o = env.run(*h, R"({"prompt":"p"})");
      INFO("HTTP " << status << ": " << o.error);
      CHECK_FALSE(o.ok);
      CHECK_THAT(o.error, Catch::Contains("HTTP " + std::to_string(status))
                            && Catch::Contains("bad key [redacted]"));
      check_no_key(o);
    }
  }
}

TEST_CASE("a key in finish_reason of a malformed reply never reaches the "
          "error",
          "[handlers][chat][secret]") {
  chat_env env;
  env.server.push_json(200, fake_openai::null_content_body(
                              "stop:" + test_key + "\n" + test_key, test_key));
  auto o = env.run(R"({"prompt":"p"})");
  INFO(o.error);
  CHECK_FALSE(o.ok);
  CHECK_THAT(o.error, Catch::Contains("finish_reason: stop:[redacted] "
                                      "[redacted])"));
  check_no_key(o);
}

TEST_CASE("a plain-text error body is sanitised before it is cut",
          "[handlers][chat][secret]") {
  chat_env env;
  auto h = env.make();
  // The quote is 200 bytes: the key at every offset around the cut.
  for (size_t at = 170; at <= 215; ++at) {
    fake_openai::response r;
    r.status = 502;
    r.headers = {{"Content-Type", "text/html"}};
    r.body = std::string(at, '~') + test_key + std::string(300, '~');
    env.server.push(r);
    auto o = env.run(*h, R"({"prompt":"p"})");
    INFO("key at " << at << ": " << o.error);
    CHECK_THAT(o.error, Catch::Contains("HTTP 502"));
    check_no_key(o);
    // Not even a short head of the key survives at the cut.
    CHECK(o.error.find(test_key.substr(0, 3)) == std::string::npos);
  }
}

TEST_CASE("an echoed key in content or model never reaches the result",
          "[handlers][chat][secret]") {
  chat_env env;
  env.server.push_json(200, fake_openai::completion_body(
                              "Your key is " + test_key + ".\nIts middle: "
                                + test_key.substr(6, 10) + "\nbye",
                              "m-" + test_key));
  auto o = env.run(R"({"prompt":"p"})");
  INFO(o.error << o.result);
  REQUIRE(o.ok);
  check_no_key(o);
  parsed_json res{o.result};
  // The content keeps its lines; only the key is gone.
  CHECK(res.str("/content")
        == "Your key is [redacted].\nIts middle: [redacted]\nbye");
  CHECK(res.str("/model") == "m-[redacted]");
}

TEST_CASE("a huge error message is cut to length after the key is removed",
          "[handlers][chat][secret]") {
  chat_env env;
  std::string message(10'000, 'x');
  message.replace(498, test_key.size(), test_key); // across the 500 cut
  env.server.push_json(400, fake_openai::error_body(message, "c"));
  auto o = env.run(R"({"prompt":"p"})");
  CHECK(o.permanent);
  check_no_key(o);
  CHECK(o.error.size() < 700);
  CHECK_THAT(o.error, Catch::Contains("xxx..."));
}

// -- streaming (openai.stream) ------------------------------------------------

TEST_CASE("a streamed completion gives the same result as a whole one; the "
          "request asks for the stream and its usage",
          "[handlers][chat][stream]") {
  chat_env env;
  env.server.push(fake_openai::stream_response({"Hel", "lo", ", ", "world"},
                                               "gpt-streamed", 12, 4));
  auto o = env.run(R"({"prompt":"greet"})");
  INFO(o.error);
  REQUIRE(o.ok);
  parsed_json res{o.result};
  CHECK(res.str("/content") == "Hello, world");
  CHECK(res.str("/model") == "gpt-streamed");
  CHECK(res.integer("/usage/prompt_tokens") == 12);
  CHECK(res.integer("/usage/completion_tokens") == 4);
  CHECK(res.integer("/usage/total_tokens") == 16);
  auto reqs = env.server.requests();
  REQUIRE(reqs.size() == 1);
  parsed_json body{reqs[0].body};
  CHECK(body.has("/stream"));
  CHECK(body.doc.at_pointer("/stream").get_bool().value());
  CHECK(body.doc.at_pointer("/stream_options/include_usage").get_bool().value());
  // Progress: one report per piece; the last one stays.
  auto last = env.progress.take();
  REQUIRE(last);
  CHECK(last->second == "4 tokens received");
  CHECK(last->first == Approx(4.0 / 512)); // of the default maxTokens
}

TEST_CASE("openai.stream = false asks for one JSON body",
          "[handlers][chat][stream]") {
  chat_env env;
  env.openai.stream = false;
  env.server.push_json(200, fake_openai::completion_body("whole"));
  auto o = env.run(R"({"prompt":"p"})");
  REQUIRE(o.ok);
  auto reqs = env.server.requests();
  REQUIRE(reqs.size() == 1);
  parsed_json body{reqs[0].body};
  CHECK_FALSE(body.has("/stream"));
  CHECK_FALSE(body.has("/stream_options"));
  CHECK_FALSE(env.progress.take());
}

TEST_CASE("a server that answers one JSON body despite stream: true still "
          "works",
          "[handlers][chat][stream]") {
  chat_env env;
  REQUIRE(env.openai.stream); // the default
  env.server.push_json(200, fake_openai::completion_body("no stream here"));
  auto o = env.run(R"({"prompt":"p"})");
  INFO(o.error);
  REQUIRE(o.ok);
  CHECK(parsed_json{o.result}.str("/content") == "no stream here");
}

TEST_CASE("events split anywhere, CRLF line ends, comments and other fields "
          "are read as one stream",
          "[handlers][chat][stream]") {
  chat_env env;
  std::string all = ": a comment the server sends to keep the line open\r\n"
                    "event: message\r\n"
                    + fake_openai::stream_event("par") + "id: 7\n"
                    + fake_openai::stream_event("ts \u00e9 ok")
                    + "data: {\"choices\":[{\"index\":0,\"delta\":{},"
                      "\"finish_reason\":\"stop\"}]}\r\n\r\n"
                      "data: [DONE]";
  fake_openai::response r;
  // Three bytes at a time: lines, and a two-byte character, split.
  for (size_t i = 0; i < all.size(); i += 3)
    r.pieces.push_back(all.substr(i, 3));
  env.server.push(r);
  auto o = env.run(R"({"prompt":"p"})");
  INFO(o.error);
  REQUIRE(o.ok);
  CHECK(parsed_json{o.result}.str("/content") == "parts \u00e9 ok");
  CHECK(env.progress.take()->second == "2 tokens received");
}

TEST_CASE("a stream that reports an error, breaks off, or sends a bad event "
          "fails retryably, saying what happened, without the key",
          "[handlers][chat][stream]") {
  chat_env env;
  SECTION("an error event, echoing the key") {
    fake_openai::response r;
    r.pieces = {fake_openai::stream_event("partial "),
                "data: {\"error\":{\"message\":\"overloaded; your key " + test_key
                  + " was fine\",\"code\":\"server_error\"}}\n\n"};
    env.server.push(r);
    auto o = env.run(R"({"prompt":"p"})");
    CHECK_FALSE(o.ok);
    CHECK_FALSE(o.permanent);
    CHECK_THAT(o.error, Catch::StartsWith("the OpenAI API reported an error "
                                          "in its stream (server_error): "
                                          "overloaded; your key "));
    check_no_key(o);
  }
  SECTION("an end before the completion's") {
    fake_openai::response r;
    r.pieces = {fake_openai::stream_event("half a "),
                fake_openai::stream_event("sentence")};
    env.server.push(r);
    auto o = env.run(R"({"prompt":"p"})");
    CHECK_FALSE(o.ok);
    CHECK_FALSE(o.permanent);
    CHECK_THAT(o.error, Catch::Contains("ended its event stream before the "
                                        "completion did"));
  }
  SECTION("an event that is not JSON") {
    fake_openai::response r;
    r.pieces = {fake_openai::stream_event("a"), "data: {not json\n\n",
                "data: [DONE]\n\n"};
    env.server.push(r);
    auto o = env.run(R"({"prompt":"p"})");
    CHECK_FALSE(o.ok);
    CHECK_FALSE(o.permanent);
    CHECK_THAT(o.error, Catch::Contains("sent an unexpected response (HTTP 200 "
                                        "event stream: a stream event is not "
                                        "JSON"));
  }
}

TEST_CASE("a streamed completion that echoes the key loses it, even split "
          "across events",
          "[handlers][chat][stream]") {
  chat_env env;
  auto half = test_key.size() / 2;
  env.server.push(fake_openai::stream_response(
    {"the key is ", test_key.substr(0, half), test_key.substr(half), "."}));
  auto o = env.run(R"({"prompt":"p"})");
  REQUIRE(o.ok);
  check_no_key(o);
  CHECK_THAT(parsed_json{o.result}.str("/content"),
             Catch::StartsWith("the key is [redacted]"));
}

TEST_CASE("a stream larger than openai.max_response_bytes is cut off and "
          "fails; cancelling mid-stream aborts the transfer",
          "[handlers][chat][stream]") {
  chat_env env;
  SECTION("too large") {
    env.openai.max_response_bytes = 1024;
    std::vector<std::string> many(100, std::string(40, 'x'));
    env.server.push(fake_openai::stream_response(many));
    auto o = env.run(R"({"prompt":"p"})");
    CHECK_FALSE(o.ok);
    CHECK_THAT(o.error, Catch::Contains("larger than openai.max_response_bytes"));
  }
  SECTION("cancelled") {
    auto r = fake_openai::stream_response(
      std::vector<std::string>(200, "tick "));
    r.gap = std::chrono::milliseconds(50); // 10 s in all
    env.server.push(r);
    std::thread canceller{[&] {
      // Once some tokens arrived: a report is waiting in the slot.
      for (int i = 0; i < 1000 && !env.progress.take(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      env.cancelled = true;
    }};
    auto started = std::chrono::steady_clock::now();
    auto o = env.run(R"({"prompt":"p"})");
    canceller.join();
    CHECK_FALSE(o.ok);
    CHECK_THAT(o.error, Catch::Contains("cancelled"));
    CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(8));
  }
}
