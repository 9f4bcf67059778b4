// README's promise about the OpenAI key, "never logged, stored in a job or
// shown by the API", held against a hostile OpenAI-compatible server: it
// returns the key in every field of every reply shape, for every status a
// handler treats differently, and the test then looks for any 8-character
// piece of the key everywhere a user or an operator can see: the job rows,
// the database and WAL files byte for byte, the process's stdout/stderr,
// /metrics, /api/jobs, /api/stats, the SSE stream and the CLI's output.
#include "integration/cluster.hpp"
#include "support/json_checks.hpp"

#include <map>
#include <random>
#include <sstream>

#include <boost/asio/ip/tcp.hpp>

#include "support/fake_openai.hpp"
#include "support/http_fixture.hpp"

using namespace jobd;
using namespace jobd::test;

namespace {

// A distinctive key per run, so nothing can pass by matching a constant.
std::string random_key() {
  static const char alnum[]
    = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::mt19937_64 rng{std::random_device{}()};
  std::uniform_int_distribution<size_t> pick{0, sizeof(alnum) - 2};
  // No fixed word after "sk-": "sk-test-" once matched the test's own
  // temporary directories ("jobd-test-XXXXXX") by its piece "-test-" and two
  // random characters, failing the test with no leak.
  std::string key = "sk-";
  for (int i = 0; i < 45; ++i)
    key += alnum[pick(rng)];
  return key;
}

// Every character as a \u escape: the key as a JSON parser sees it, but not
// as bytes on the wire.
std::string json_escaped_string(const std::string& s) {
  std::string out = "\"";
  char buf[8];
  for (unsigned char c : s) {
    std::snprintf(buf, sizeof(buf), "\\u%04x", c);
    out += buf;
  }
  return out + "\"";
}

// The request's headers, one "name: value" per line, as an echoing server
// would show them (the Authorization header carries the key).
std::string headers_of(const fake_openai::request& r) {
  std::string out;
  for (auto& [name, value] : r.headers)
    out += name + ": " + value + "\n";
  return out;
}

// Ordinary words, so a quoted body reads like a real error page.
std::string filler_text(size_t n) {
  static const std::string words
    = "upstream error page: the service is unavailable, try later. ";
  std::string out;
  while (out.size() < n)
    out += words;
  out.resize(n);
  return out;
}

// The hostile server. Each job's prompt names the reply it gets:
// "<shape> <status> [<length> <offset>]".
fake_openai::response hostile_reply(const fake_openai::request& req,
                                    const std::string& key) {
  std::istringstream in{req.prompt()};
  std::string shape;
  unsigned status = 500;
  size_t length = 0, offset = 0;
  in >> shape >> status >> length >> offset;
  fake_openai::response r;
  r.status = status;
  // Response headers a handler might read (Retry-After) or a proxy adds.
  r.headers = {{"Retry-After", key}, {"X-Request-Key", key}};
  const bool ok = status == 200;
  const auto piece = key.substr(10, 12);
  if (shape == "fields") {
    // The key in every field of the reply.
    r.body = ok ? fake_openai::null_content_body(key, key)
                : fake_openai::error_body("Incorrect API key provided: " + key,
                                          key, key, key);
  } else if (shape == "type") {
    // code null: the handler falls back to error.type.
    r.body = ok ? fake_openai::null_content_body("length " + piece, "m-" + piece)
                : fake_openai::error_body("key " + piece, "t-" + key, piece,
                                          std::nullopt);
  } else if (shape == "content") {
    // A completion that repeats the key (content and model).
    r.body = ok ? fake_openai::completion_body("Sure! Your key is " + key
                                                 + ".\nAgain: " + piece,
                                               key)
                : fake_openai::error_body(key + " " + piece);
  } else if (shape == "headers") {
    // A server that echoes the request's headers (Authorization included).
    r.body = ok ? fake_openai::completion_body(headers_of(req), key)
                : fake_openai::error_body(headers_of(req), headers_of(req),
                                          std::nullopt, headers_of(req));
  } else if (shape == "plainheaders") {
    r.headers.push_back({"Content-Type", "text/plain"});
    r.body = "Bad request. You sent:\n" + headers_of(req);
  } else if (shape == "escaped") {
    // The key written with JSON escapes: a parser decodes it.
    r.body = ok ? R"({"model":)" + json_escaped_string(key)
                    + R"(,"choices":[{"message":{"content":)"
                    + json_escaped_string("k=" + key) + "}}]}"
                : R"({"error":{"message":)" + json_escaped_string(key)
                    + R"(,"code":)" + json_escaped_string(key) + "}}";
  } else if (shape == "mangled") {
    // Upper case, split by control characters, masked.
    std::string upper = key;
    for (auto& c : upper)
      c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    auto msg = upper + " / " + key.substr(0, 20) + "\n" + key.substr(20)
               + " / " + key.substr(0, 20) + std::string(1, '\0')
               + key.substr(20) + " / " + key.substr(0, 7) + "***"
               + key.substr(key.size() - 4);
    r.body = ok ? fake_openai::completion_body(msg, upper)
                : fake_openai::error_body(msg, upper, upper, upper);
  } else if (shape == "plain") {
    // A non-JSON body of `length` bytes with the key at `offset`.
    r.headers.push_back({"Content-Type", "text/html"});
    r.body = filler_text(offset) + key
             + filler_text(length - offset - key.size());
  } else {
    r.status = 599;
    r.body = "unknown shape in prompt '" + req.prompt() + "'";
  }
  return r;
}

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto pos = text.find(what); pos != std::string::npos;
       pos = text.find(what, pos + 1))
    ++n;
  return n;
}

// Fails the test, naming the place and the piece, if `text` holds any
// 8-character piece of the key (in any letter case).
void check_no_key_in(const std::string& where, const std::string& text,
                     const std::string& key) {
  auto piece = find_key_piece(text, key);
  INFO(where << " (" << text.size() << " bytes) holds the key piece '"
             << piece.value_or("") << "'");
  CHECK_FALSE(piece);
}

} // namespace

TEST_CASE("the OpenAI key never reaches a job, the database, the logs, the "
          "API, the SSE stream or the CLI, whatever the server sends",
          "[integration][handlers][secret]") {
  const auto key = random_key();
  fake_openai server;
  server.respond_with(
    [key](const fake_openai::request& r) { return hostile_reply(r, key); });
  cluster c{"sqlite"};
  const auto port = free_port();
  child_process::options opts{{}, c.dir().path().string()};
  opts.env["OPENAI_BASE_URL"] = server.base_url();
  opts.env["OPENAI_API_KEY"] = key;
  child_process serve{jobd_binary(),
                      {"serve", "--db", c.db(), "--port", std::to_string(port),
                       "--poll-interval", "50ms"},
                      opts};
  c.wait_serving(port, serve);

  // Watch the live stream from before the first job.
  raw_connection events{port};
  events.send("GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n");
  auto joined = events.read_until(
    [](const std::string& s) { return s.find(": connected") != std::string::npos; },
    10s);

  // 1. The jobs: every shape for every status, PREVIEW and RECAP in turn.
  //    maxRetries 0: each runs once, so the run takes seconds.
  std::vector<std::string> prompts;
  for (unsigned status : {200u, 400u, 401u, 429u, 500u}) {
    auto s = " " + std::to_string(status);
    for (auto shape : {"fields", "type", "content", "headers", "plainheaders",
                       "escaped", "mangled"})
      prompts.push_back(shape + s);
    // Plain bodies of 100..10,000 bytes, the key at offsets around the
    // 200-byte quote (and at the very start and end).
    for (size_t length : {100, 200, 201, 1000, 10'000}) {
      std::set<size_t> offsets{0, length - key.size()};
      for (size_t at : {150, 170, 180, 185, 190, 192, 194, 196, 197, 198, 199,
                        200, 201, 203, 210, 240})
        if (at + key.size() <= length)
          offsets.insert(at);
      for (auto at : offsets)
        prompts.push_back("plain" + s + " " + std::to_string(length) + " "
                          + std::to_string(at));
    }
  }
  std::string batch = "[";
  for (size_t i = 0; i < prompts.size(); ++i) {
    if (i > 0)
      batch += ",";
    batch += R"({"type":")";
    batch += i % 2 == 0 ? "PREVIEW_GENERATION" : "RECAP_GENERATION";
    batch += R"(","maxRetries":0,"payload":{"prompt":)"
             + json_string(prompts[i]) + "}}";
  }
  batch += "]";
  http_client api{port};
  {
    auto r = api.post("/api/jobs", batch);
    INFO(r.body.substr(0, 500));
    REQUIRE(r.status == 201);
  }
  const auto total = static_cast<int64_t>(prompts.size());
  c.wait_until(
    [&] { return c.count("COMPLETED") + c.count("FAILED") == total; }, 120s,
    "all " + std::to_string(total) + " jobs finish\n" + serve.describe());

  // 2. The SSE stream, until it has reported every job finished.
  auto finished_events = [](const std::string& s) {
    return count_of(s, "\"status\":\"COMPLETED\"")
           + count_of(s, "\"status\":\"FAILED\"");
  };
  auto stream = joined + events.read_until(
    [&](const std::string& s) {
      return finished_events(s) >= static_cast<size_t>(total);
    },
    30s);
  CHECK(finished_events(stream) == static_cast<size_t>(total));
  check_no_key_in("GET /api/events", stream, key);

  // 3. The job rows: each is what the server's reply was meant to provoke,
  //    with the key gone from it.
  auto jobs = c.all_jobs();
  REQUIRE(jobs.size() == prompts.size());
  size_t completed = 0;
  std::map<std::string, std::string> sample; // "<shape> <status>" -> job id
  for (auto& j : jobs) {
    auto text = job_to_json(j);
    INFO(text);
    check_no_key_in("job row", j.error + "\n" + j.result, key);
    CHECK(j.attempt == 1);
    simdjson::dom::parser p;
    std::istringstream prompt{str(parse(p, j.payload), "prompt")};
    std::string shape;
    unsigned status = 0;
    size_t length = 0, offset = 0;
    prompt >> shape >> status >> length >> offset;
    sample.emplace(shape + " " + std::to_string(status), j.id);
    // What each reply provokes: the 200 replies that are completions
    // succeed, the rest fail; where the reply's quoted part held the key,
    // the marker shows it was removed.
    bool completion = status == 200 && shape != "fields" && shape != "type"
                      && shape != "plain" && shape != "plainheaders";
    CHECK(j.status
          == (completion ? job_status::completed : job_status::failed));
    completed += j.status == job_status::completed;
    bool quoted;
    if (shape == "plain") // the marker fits in the 200-byte quote
      quoted = status != 200 && offset + 10 <= 197;
    else if (shape == "plainheaders") // a 200 that is not JSON quotes nothing
      quoted = status != 200;
    else // error fields, finish_reason, content or model
      quoted = true;
    if (quoted)
      CHECK_THAT(text, Catch::Contains("[redacted]"));
  }
  CHECK(completed == 4); // content, headers, escaped, mangled

  // 4. The HTTP API: every page of /api/jobs, one job, stats, metrics.
  std::string listed;
  std::string cursor;
  do {
    auto r = api.get("/api/jobs?limit=500" + (cursor.empty() ? ""
                                                             : "&cursor=" + cursor));
    REQUIRE(r.status == 200);
    listed += r.body;
    cursor = json_at(r.body, "/nextCursor").value_or("null");
    if (cursor == "null")
      cursor.clear();
  } while (!cursor.empty());
  CHECK(count_of(listed, "\"id\":") == prompts.size());
  check_no_key_in("GET /api/jobs", listed, key);
  check_no_key_in("GET /api/jobs/{id}",
                  api.get("/api/jobs/" + jobs.front().id).body, key);
  check_no_key_in("GET /api/stats", api.get("/api/stats").body, key);
  auto metrics = api.get("/metrics");
  CHECK(metrics.status == 200);
  check_no_key_in("GET /metrics", metrics.body, key);

  // 5. The CLI.
  for (auto json : {true, false}) {
    std::vector<std::string> args{"jobs", "list", "--limit", "500", "--db",
                                  c.db()};
    if (json)
      args.push_back("--json");
    auto r = run_jobd(args);
    CHECK(r.exit_code == 0);
    check_no_key_in(std::string{"jobs list"} + (json ? " --json" : ""),
                    r.out + r.err, key);
  }
  // `jobs get` of one job per shape and status (`jobs list` showed all;
  // a process per job would take a minute on a loaded machine).
  for (auto& [what, id] : sample) {
    auto r = run_jobd({"jobs", "get", id, "--db", c.db()});
    CHECK(r.exit_code == 0);
    check_no_key_in("jobs get " + id + " (" + what + ")", r.out + r.err, key);
  }

  // 6. The database and its WAL, byte for byte, while serve still has them
  //    open (the WAL is not checkpointed away yet).
  auto db_bytes = read_file(c.db());
  auto wal_bytes = read_file(c.db() + "-wal");
  CHECK(db_bytes.size() > 0);
  check_no_key_in("the database file", db_bytes, key);
  check_no_key_in("the WAL file", wal_bytes, key);

  // 7. The process's own output, after a clean stop.
  serve.signal(SIGTERM);
  REQUIRE(serve.wait_for(30s));
  CHECK(serve.exit_code() == 0);
  check_no_key_in("jobd serve stdout", serve.out(), key);
  check_no_key_in("jobd serve stderr", serve.err(), key);
  check_no_key_in("the database file after stop", read_file(c.db()), key);
  check_no_key_in("the WAL file after stop", read_file(c.db() + "-wal"), key);

  // The server really was sent the key: the test would prove nothing if the
  // handler had never had it.
  auto seen = server.requests();
  REQUIRE(seen.size() == prompts.size());
  CHECK(seen.front().header("authorization") == "Bearer " + key);
}
