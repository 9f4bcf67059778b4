// Job types without code, end to end: `jobd serve` with a config declaring
// a webhook type (against a fake receiver in this test) and an exec type
// (/bin/cat); jobs enqueued over HTTP complete with their results, a
// payload the schema refuses is a 400 naming the field, the signing secret
// appears nowhere, and a bad [types.NAME] section stops start-up in one
// line.
#include "integration/cluster.hpp"

#include <fstream>
#include <mutex>

#include "support/fake_openai.hpp"
#include "support/http_fixture.hpp"

using namespace jobd;
using namespace jobd::test;

namespace {

const std::string hook_secret = "whsec-E2E-Secret0123456789abcdef";

std::string write_config(cluster& c, const std::string& text) {
  auto path = c.dir().file("types.ini");
  std::ofstream{path} << text;
  return path;
}

} // namespace

TEST_CASE("configured webhook and exec types run in jobd serve",
          "[integration][types]") {
  // A payload with "flaky" gets 500 and Retry-After: 2 the first time.
  // (Declared before the receiver, whose thread uses them, so they outlive
  // it.)
  std::mutex mutex;
  std::vector<std::chrono::steady_clock::time_point> flaky_calls;
  fake_openai receiver;
  receiver.respond_with([&](const fake_openai::request& r) {
    fake_openai::response out;
    if (r.body.find("flaky") != std::string::npos) {
      std::lock_guard<std::mutex> guard{mutex};
      flaky_calls.push_back(std::chrono::steady_clock::now());
      if (flaky_calls.size() == 1) {
        out.status = 500;
        out.headers = {{"Retry-After", "2"}};
        out.body = "try later";
        return out;
      }
    }
    out.headers = {{"Content-Type", "application/json"}};
    out.body = "{\"delivered\":" + r.body + ",\"attempt\":\""
               + r.header("x-jobd-attempt") + "\"}";
    return out;
  });
  cluster c{"sqlite"};
  auto conf = write_config(c, R"(
[types.SEND_EMAIL]
handler = webhook
url = )" + receiver.base_url() + R"(/hook
secret_env = JOBD_E2E_HOOK_SECRET
schema = {"required":["to"],"properties":{"to":{"type":"string"},"n":{"type":"integer"}}}
timeout_ms = 10000

[types.REVERSE]
handler = exec
command = ["/bin/cat"]
timeout_ms = 10000
)");
  auto port = free_port();
  child_process::options opts;
  opts.env["JOBD_E2E_HOOK_SECRET"] = hook_secret;
  child_process serve{jobd_binary(),
                      {"serve", "--config", conf, "--db", c.db(), "--port",
                       std::to_string(port), "--poll-interval", "50ms",
                       "--set", "retry.base=10ms", "--set", "retry.jitter=0"},
                      opts};
  c.wait_serving(port, serve);
  http_client api{port};

  // A bad payload is refused at once, naming the field.
  auto bad = api.post("/api/jobs", R"({"type":"SEND_EMAIL","payload":{"to":7}})");
  CHECK(bad.status == 400);
  CHECK(field_of(bad) == "payload.to");
  CHECK_THAT(message_of_body(bad), Catch::Contains("must be a string"));
  bad = api.post("/api/jobs", R"({"type":"SEND_EMAIL","payload":{}})");
  CHECK(bad.status == 400);
  CHECK(field_of(bad) == "payload.to");

  auto hook = api.post("/api/jobs",
                       R"({"type":"SEND_EMAIL","payload":{"to":"a@b.c","n":2}})");
  INFO(hook.body);
  REQUIRE(hook.status == 201);
  auto hook_id = json_at(hook.body, "/id").value_or("");
  auto cat = api.post("/api/jobs",
                      R"({"type":"REVERSE","payload":{"words":["x","y"]}})");
  INFO(cat.body);
  REQUIRE(cat.status == 201);
  auto cat_id = json_at(cat.body, "/id").value_or("");

  auto flaky = api.post("/api/jobs",
                        R"({"type":"SEND_EMAIL","payload":{"to":"flaky"}})");
  INFO(flaky.body);
  REQUIRE(flaky.status == 201);
  auto flaky_id = json_at(flaky.body, "/id").value_or("");

  auto finished = [&](const std::string& id) {
    auto s = status_of(api, id);
    return s == "COMPLETED" || s == "FAILED";
  };
  c.wait_until(
    [&] {
      return finished(hook_id) && finished(cat_id) && finished(flaky_id);
    },
    60s, "the jobs finish\n" + serve.describe());
  auto h = api.get("/api/jobs/" + hook_id);
  INFO(h.body);
  CHECK(json_at(h.body, "/status") == "COMPLETED");
  CHECK(json_at(h.body, "/result")
        == R"({"delivered":{"to":"a@b.c","n":2},"attempt":"1"})");
  auto x = api.get("/api/jobs/" + cat_id);
  INFO(x.body);
  CHECK(json_at(x.body, "/status") == "COMPLETED");
  CHECK(json_at(x.body, "/result") == R"({"words":["x","y"]})");

  // 500 with Retry-After: retried (backoff 10 ms) no sooner than 2 s later.
  auto f = api.get("/api/jobs/" + flaky_id);
  INFO(f.body);
  CHECK(json_at(f.body, "/status") == "COMPLETED");
  CHECK(json_at(f.body, "/retryCount") == "1");
  CHECK(json_at(f.body, "/result")
        == R"({"delivered":{"to":"flaky"},"attempt":"2"})");
  {
    std::lock_guard<std::mutex> guard{mutex};
    REQUIRE(flaky_calls.size() == 2);
    CHECK(flaky_calls[1] - flaky_calls[0] >= 2s);
  }

  // The receiver got signed requests; the secret is nowhere to be seen.
  auto reqs = receiver.requests();
  REQUIRE(reqs.size() == 3);
  CHECK(reqs[0].header("x-jobd-type") == "SEND_EMAIL");
  CHECK(reqs[0].header("x-jobd-signature").rfind("sha256=", 0) == 0);
  CHECK_FALSE(find_key_piece(serve.out() + serve.err(), hook_secret));
  CHECK_FALSE(find_key_piece(h.body + x.body, hook_secret));
  serve.signal(SIGTERM);
  CHECK(serve.wait_for(60s));

  // `jobd config check` and `jobd doctor` read the same file: the types
  // are listed, the secret is not.
  auto check = run_jobd({"config", "check", "--config", conf}, opts, 30s);
  INFO(check.err);
  CHECK(check.exit_code == 0);
  auto doctor = run_jobd({"doctor", "--config", conf, "--db", c.db(), "--set",
                          "openai.base_url=" + receiver.base_url()},
                         opts, 60s);
  INFO(doctor.out << doctor.err);
  CHECK_THAT(doctor.out, Catch::Contains("types.SEND_EMAIL") 
                           && Catch::Contains("signed with the secret in "
                                              "$JOBD_E2E_HOOK_SECRET"));
  CHECK_THAT(doctor.out, Catch::Contains("types.REVERSE")
                           && Catch::Contains("exec /bin/cat"));
  CHECK_FALSE(find_key_piece(check.out + check.err + doctor.out + doctor.err,
                             hook_secret));
}

TEST_CASE("a bad [types.NAME] section stops start-up with one line naming "
          "the setting",
          "[integration][types][config]") {
  cluster c{"sqlite"};
  struct bad {
    std::string text, message;
  };
  for (auto& b : std::vector<bad>{
         {"[types.SEND_EMAIL]\nhandler = webhook\nurl = ftp://x/y\n",
          "types.SEND_EMAIL.url = 'ftp://x/y' is not valid: must start with "
          "http:// or https://"},
         {"[types.SEND_EMAIL]\nhandler = webhook\n",
          "types.SEND_EMAIL.url: missing"},
         {"[types.SEND_EMAIL]\nhandler = webhook\nurl = http://x/\n"
          "secret_env = JOBD_E2E_UNSET_VAR\n",
          "types.SEND_EMAIL.secret_env: the environment variable "
          "JOBD_E2E_UNSET_VAR is not set"},
         {"[types.THUMB]\nhandler = exec\ncommand = sh -c x\n",
          "types.THUMB.command = 'sh -c x' is not valid"},
       }) {
    auto conf = write_config(c, b.text);
    auto r = run_jobd({"worker", "--config", conf, "--db", c.db()}, {}, 30s);
    INFO(b.text << "\n" << r.err);
    CHECK_FALSE(r.timed_out);
    CHECK(r.exit_code > 0);
    CHECK_THAT(r.err, Catch::Contains(b.message));
    CHECK(lines_of(r.err).size() == 1);
  }
}

TEST_CASE("an external type is enqueued and checked by jobd serve but never "
          "run by its workers; an external worker claims it",
          "[integration][types][external]") {
  cluster c{"sqlite"};
  auto conf = write_config(c, R"(
[types.SEND_SMS]
handler = external
schema = {"required":["to"],"properties":{"to":{"type":"string"}}}
)");
  auto port = free_port();
  child_process serve{jobd_binary(),
                      {"serve", "--config", conf, "--db", c.db(), "--port",
                       std::to_string(port), "--poll-interval", "50ms"}};
  c.wait_serving(port, serve);
  http_client api{port};
  auto bad = api.post("/api/jobs", R"({"type":"SEND_SMS","payload":{}})");
  CHECK(bad.status == 400);
  CHECK(field_of(bad) == "payload.to");
  // Highest priority, enqueued first: a worker that could take it would.
  auto sms = api.post("/api/jobs",
                      R"({"type":"SEND_SMS","priority":9,"payload":{"to":"+1555"}})");
  REQUIRE(sms.status == 201);
  auto sms_id = *json_at(sms.body, "/id");
  auto echo = api.post("/api/jobs", R"({"type":"ECHO"})");
  REQUIRE(echo.status == 201);
  auto echo_id = *json_at(echo.body, "/id");
  c.wait_until([&] { return status_of(api, echo_id) == "COMPLETED"; }, 60s,
               "the ECHO job completes\n" + serve.describe());
  CHECK(status_of(api, sms_id) == "PENDING");
  CHECK(*c.store().external_types() == std::vector<std::string>{"SEND_SMS"});
  // An external worker (here: the store as it would be driven) takes it.
  auto got = c.store().claim_types("sms-worker-1", {"SEND_SMS"}, 10, 60'000);
  REQUIRE(got);
  REQUIRE(got->size() == 1);
  CHECK(got->front().id == sms_id);
  REQUIRE(*c.store().complete({sms_id, 1}, "sms-worker-1", R"({"sent":1})"));
  CHECK(status_of(api, sms_id) == "COMPLETED");
  serve.signal(SIGTERM);
  CHECK(serve.wait_for(60s));
}
