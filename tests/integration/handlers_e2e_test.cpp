// The built-in handlers end to end: a job added with `jobd jobs add` runs in
// a `jobd worker` process to its documented result (FINE_TUNE_EXPORT writes
// a JSONL file; PREVIEW_GENERATION calls a fake OpenAI server), and the API
// key stays a secret.
#include "integration/cluster.hpp"
#include "support/json_checks.hpp"

#include <filesystem>

#include <simdjson.h>

#include <boost/asio/ip/tcp.hpp>

#include "support/fake_openai.hpp"
#include "support/http_fixture.hpp"

using namespace jobd;
using namespace jobd::test;

namespace {

// `jobd jobs add --type T --payload P --db <db>`: returns the new id.
std::string add_job(cluster& c, const std::string& type,
                    const std::string& payload) {
  auto r = run_jobd({"jobs", "add", "--type", type, "--payload", payload,
                     "--db", c.db()},
                    {}, 30s);
  INFO("jobs add: exit " << r.exit_code << " stderr " << r.err);
  REQUIRE(r.exit_code == 0);
  auto lines = lines_of(r.out);
  REQUIRE(lines.size() == 1);
  REQUIRE(is_job_id(lines[0]));
  return lines[0];
}

// Waits until the job is COMPLETED or FAILED and returns it.
job wait_finished(cluster& c, const std::string& id) {
  job j;
  c.wait_until(
    [&] {
      j = c.get(id);
      return j.status == job_status::completed
             || j.status == job_status::failed;
    },
    60s, "job " + id + " is COMPLETED or FAILED");
  return j;
}


const std::string secret_key = "sk-e2e-Secret0123456789abcdefXYZ";

} // namespace

TEST_CASE("FINE_TUNE_EXPORT runs in a worker to a JSONL file",
          "[integration][handlers]") {
  cluster c{"sqlite"};
  // Quotes, a newline, a backslash and an emoji survive the trip.
  auto id = add_job(c, "FINE_TUNE_EXPORT", R"({"exportName":"e2e-run",
    "samples":[{"prompt":"Say \"hi\"","response":"hi\nthere \\ 👋"},
               {"prompt":"2+2?","response":"4"},
               {"prompt":"Ping","response":"Pong"}]})");
  // The default directory "exports" is relative to the worker's cwd.
  c.start_worker({"--poll-interval", "50ms", "--set",
                  "export.system_prompt=You are terse."},
                 child_process::options{{}, c.dir().path().string()});
  auto j = wait_finished(c, id);
  INFO(job_to_json(j) << "\n" << c.describe());
  REQUIRE(j.status == job_status::completed);
  simdjson::dom::parser p;
  auto res = parse(p, j.result);
  auto expected_path = std::filesystem::weakly_canonical(
    c.dir().path() / "exports" / "e2e-run.jsonl");
  CHECK(str(res, "fileName") == "e2e-run.jsonl");
  CHECK(str(res, "filePath") == expected_path.string());
  CHECK(num(res, "sampleCount") == 3);
  // Each line is one sample in OpenAI's chat format.
  auto lines = lines_of(read_file(expected_path.string()));
  REQUIRE(lines.size() == 3);
  const std::vector<std::pair<std::string, std::string>> samples = {
    {"Say \"hi\"", "hi\nthere \\ 👋"}, {"2+2?", "4"}, {"Ping", "Pong"}};
  for (size_t i = 0; i < lines.size(); ++i) {
    simdjson::dom::parser lp;
    auto line = parse(lp, lines[i]);
    simdjson::dom::array msgs;
    REQUIRE(!line["messages"].get_array().get(msgs));
    REQUIRE(msgs.size() == 3);
    CHECK(str(msgs.at(0), "role") == "system");
    CHECK(str(msgs.at(0), "content") == "You are terse.");
    CHECK(str(msgs.at(1), "role") == "user");
    CHECK(str(msgs.at(1), "content") == samples[i].first);
    CHECK(str(msgs.at(2), "role") == "assistant");
    CHECK(str(msgs.at(2), "content") == samples[i].second);
  }
  // No temp file is left beside it.
  size_t files = 0;
  for (auto& e : std::filesystem::directory_iterator(expected_path.parent_path())) {
    (void) e;
    ++files;
  }
  CHECK(files == 1);
  c.stop_all();
}

TEST_CASE("PREVIEW_GENERATION runs in a worker against an OpenAI-compatible "
          "server; the key stays secret",
          "[integration][handlers]") {
  fake_openai server;
  cluster c{"sqlite"};
  child_process::options env;
  env.env["OPENAI_BASE_URL"] = server.base_url();
  env.env["OPENAI_API_KEY"] = secret_key;
  auto& w = c.start_worker({"--poll-interval", "50ms"}, env);

  // 1. A completion.
  server.push_json(200, fake_openai::completion_body("A cat takes to the sky.",
                                                     "gpt-e2e", 11, 7));
  auto id = add_job(c, "PREVIEW_GENERATION",
                    R"({"prompt":"A cat learns to fly","temperature":0.5})");
  auto j = wait_finished(c, id);
  {
    INFO(job_to_json(j) << "\n" << c.describe());
    REQUIRE(j.status == job_status::completed);
  }
  simdjson::dom::parser p;
  auto res = parse(p, j.result);
  CHECK(str(res, "prompt") == "A cat learns to fly");
  CHECK(str(res, "content") == "A cat takes to the sky.");
  CHECK(str(res, "model") == "gpt-e2e");
  CHECK(num(res["usage"], "prompt_tokens") == 11);
  CHECK(num(res["usage"], "completion_tokens") == 7);
  CHECK(num(res["usage"], "total_tokens") == 18);
  // The request the server saw.
  auto reqs = server.requests();
  REQUIRE(reqs.size() == 1);
  CHECK(reqs[0].method == "POST");
  CHECK(reqs[0].target == "/v1/chat/completions");
  CHECK(reqs[0].header("authorization") == "Bearer " + secret_key);
  simdjson::dom::parser rp;
  auto body = parse(rp, reqs[0].body);
  CHECK(str(body, "model") == "gpt-4o-mini"); // openai.model's default
  simdjson::dom::array msgs;
  REQUIRE(!body["messages"].get_array().get(msgs));
  REQUIRE(msgs.size() == 2);
  CHECK(str(msgs.at(0), "role") == "system");
  CHECK(str(msgs.at(1), "content") == "A cat learns to fly");
  double temperature = -1;
  CHECK_FALSE(body["temperature"].get_double().get(temperature));
  CHECK(temperature == Approx(0.5));
  CHECK(j.progress < 0); // a whole JSON reply: no tokens counted

  // 1b. A streamed completion (the request asked for one): the same
  // result, and the job's progress is the tokens received.
  server.push(fake_openai::stream_response({"A dog ", "digs ", "to China."},
                                           "gpt-e2e", 9, 3));
  auto sid = add_job(c, "PREVIEW_GENERATION", R"({"prompt":"A dog digs"})");
  auto sj = wait_finished(c, sid);
  {
    INFO(job_to_json(sj));
    REQUIRE(sj.status == job_status::completed);
    CHECK(str(parse(p, sj.result), "content") == "A dog digs to China.");
    CHECK(sj.progress_message == "3 tokens received");
    // preview.max_tokens' default; stored in millionths
    CHECK(sj.progress == Approx(3.0 / 512).margin(1e-6));
  }
  CHECK_FALSE(server.requests().back().body.find("\"stream\":true")
              == std::string::npos);

  // 2. The API refuses the key and quotes it: the job fails for good, with
  // the key redacted.
  server.push_json(401, fake_openai::error_body("Incorrect API key provided: "
                                                + secret_key + ".",
                                                "invalid_api_key"));
  auto bad = add_job(c, "PREVIEW_GENERATION", R"({"prompt":"Again"})");
  auto jb = wait_finished(c, bad);
  {
    INFO(job_to_json(jb));
    CHECK(jb.status == job_status::failed);
    CHECK(jb.error.find("401") != std::string::npos);
    CHECK(jb.error.find("[redacted]") != std::string::npos);
  }
  c.stop_all();
  // The key is nowhere a user can see: jobs (as `jobs get` prints them),
  // the worker's output, the ledger.
  for (auto& job_id : {id, bad}) {
    auto r = run_jobd({"jobs", "get", job_id, "--db", c.db()});
    CHECK(r.exit_code == 0);
    CHECK(r.out.find(secret_key) == std::string::npos);
    CHECK(r.out.find("sk-e2e") == std::string::npos);
  }
  CHECK(w.out().find(secret_key) == std::string::npos);
  CHECK(w.err().find(secret_key) == std::string::npos);
  CHECK(read_file(c.ledger_path()).find(secret_key) == std::string::npos);
}

TEST_CASE("PREVIEW_GENERATION without an API key fails with a clear message",
          "[integration][handlers]") {
  fake_openai server;
  cluster c{"sqlite"};
  child_process::options env;
  env.env["OPENAI_BASE_URL"] = server.base_url();
  env.env["OPENAI_API_KEY"] = std::nullopt; // whatever the test's env has
  c.start_worker({"--poll-interval", "50ms"}, env);
  auto id = add_job(c, "PREVIEW_GENERATION", R"({"prompt":"A cat"})");
  auto j = wait_finished(c, id);
  INFO(job_to_json(j));
  CHECK(j.status == job_status::failed);
  CHECK(j.error
        == "OPENAI_API_KEY is not set; set it or openai.api_key in the config");
  CHECK(j.retry_count == 0); // permanent: no retries wasted
  CHECK(j.attempt == 1);
  CHECK(server.requests().empty());
  c.stop_all();
}

TEST_CASE("jobs posted over HTTP to `jobd serve` run to their documented "
          "results",
          "[integration][handlers][http]") {
  fake_openai server;
  cluster c{"sqlite"};
  // A free port for the server (released again just before it binds).
  uint16_t port = 0;
  {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor a{
      ioc, {boost::asio::ip::address_v4::loopback(), 0}};
    port = a.local_endpoint().port();
  }
  child_process::options opts{{}, c.dir().path().string()};
  opts.env["OPENAI_BASE_URL"] = server.base_url();
  opts.env["OPENAI_API_KEY"] = secret_key;
  child_process serve{jobd_binary(),
                      {"serve", "--db", c.db(), "--port", std::to_string(port),
                       "--poll-interval", "50ms"},
                      opts};
  c.wait_serving(port, serve);
  http_client api{port};
  auto post = [&](const std::string& body) {
    auto r = api.request("POST", "/api/jobs", body, "application/json");
    INFO(r.body);
    REQUIRE(r.status == 201);
    simdjson::dom::parser p;
    return str(parse(p, r.body), "id");
  };
  auto finished = [&](const std::string& id) {
    std::string body;
    c.wait_until(
      [&] {
        body = api.request("GET", "/api/jobs/" + id).body;
        return body.find("\"COMPLETED\"") != std::string::npos
               || body.find("\"FAILED\"") != std::string::npos;
      },
      60s, "job " + id + " finishes\n" + serve.describe());
    return body;
  };
  server.push_json(200, fake_openai::completion_body("Full time: 2-1.",
                                                     "gpt-e2e", 5, 4));
  auto recap = post(R"({"type":"RECAP_GENERATION","payload":{"prompt":"Recap the match"}})");
  auto export_id = post(R"({"type":"FINE_TUNE_EXPORT","payload":{"exportName":"via-http",
    "samples":[{"prompt":"Q","response":"A"}]}})");
  {
    auto body = finished(recap);
    INFO(body);
    simdjson::dom::parser p;
    auto j = parse(p, body);
    CHECK(str(j, "status") == "COMPLETED");
    simdjson::dom::element res = j["result"].value();
    CHECK(str(res, "prompt") == "Recap the match");
    CHECK(str(res, "content") == "Full time: 2-1.");
    CHECK(str(res, "model") == "gpt-e2e");
    CHECK(num(res["usage"].value(), "total_tokens") == 9);
    CHECK(body.find(secret_key) == std::string::npos);
  }
  {
    auto body = finished(export_id);
    INFO(body);
    simdjson::dom::parser p;
    auto j = parse(p, body);
    CHECK(str(j, "status") == "COMPLETED");
    CHECK(str(j["result"].value(), "fileName") == "via-http.jsonl");
    CHECK(num(j["result"].value(), "sampleCount") == 1);
  }
  // A bad payload is refused before it is stored, naming the field.
  auto bad = api.request("POST", "/api/jobs",
                         R"({"type":"FINE_TUNE_EXPORT","payload":{"samples":[{"prompt":3,"response":"A"}]}})",
                         "application/json");
  CHECK(bad.status == 400);
  CHECK_THAT(bad.body, Catch::Contains("payload.samples[0].prompt"));
  // So is an exportName with a C1 control or a bidi override in it.
  for (auto name : {"a\\u0085b", "invoice\\u202Efdp.exe"}) {
    auto r = api.request("POST", "/api/jobs",
                         std::string{R"({"type":"FINE_TUNE_EXPORT","payload":{"exportName":")"}
                           + name
                           + R"(","samples":[{"prompt":"Q","response":"A"}]}})",
                         "application/json");
    INFO(r.body);
    CHECK(r.status == 400);
    CHECK_THAT(r.body, Catch::Contains("\"field\":\"payload.exportName\""));
  }
  CHECK(c.all_jobs().size() == 2); // the recap and the first export only
  serve.signal(SIGTERM);
  REQUIRE(serve.wait_for(30s));
  CHECK(serve.exit_code() == 0);
}
