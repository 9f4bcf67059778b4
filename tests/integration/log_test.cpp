// A worker's log as an operator reads it with jq: log.format=json and
// log.level=debug give one JSON object per line, a line per job claimed,
// completed (with its duration) and failed (with the error and when it
// runs again, or that it will not), each naming the job, its type, the
// attempt and the worker.
#include "integration/cluster.hpp"

#include <simdjson.h>

#include "storage/json_text.hpp"

using namespace jobd;
using namespace jobd::test;

TEST_CASE("log.format=json: every line parses; job events carry the job, "
          "the attempt and the worker",
          "[integration][log]") {
  cluster c{"sqlite"};
  c.enqueue_echo(2);
  auto failing = c.enqueue_echo(1, R"({"fail":true,"error":"boom"})", 1);
  auto& w = c.start_worker({"--set", "log.format=json", "--set",
                            "log.level=debug", "--set", "retry.base=50ms",
                            "--set", "retry.jitter=0", "--set",
                            "worker.id=log-test", "--poll-interval", "50ms"});
  c.wait_until(
    [&] { return c.count("COMPLETED") == 2 && c.count("FAILED") == 1; }, 60s,
    "two jobs COMPLETED and one FAILED");
  c.stop_all();
  auto err = w.err();
  INFO(err);
  CHECK(w.out().empty());
  std::map<std::string, int> msgs;
  simdjson::dom::parser p;
  for (auto& line : lines_of(err)) {
    INFO(line);
    std::string why;
    REQUIRE(check_json(line, why));
    auto doc = p.parse(line);
    REQUIRE_FALSE(doc.error());
    auto msg = std::string{doc["msg"].get_string().value()};
    ++msgs[msg];
    CHECK_FALSE(doc["time"].get_string().error());
    CHECK_FALSE(doc["level"].get_string().error());
    if (msg.rfind("job ", 0) != 0)
      continue;
    CHECK_FALSE(doc["id"].get_string().error());
    CHECK(std::string_view{doc["type"].get_string().value()} == "ECHO");
    CHECK(doc["attempt"].get_int64().value() >= 1);
    CHECK(std::string_view{doc["worker"].get_string().value()} == "log-test");
    CHECK(doc["payload"].error()); // log.payloads is off by default
    if (msg == "job completed") {
      CHECK(std::string_view{doc["level"].get_string().value()} == "debug");
      CHECK(doc["duration_ms"].get_int64().value() >= 0);
    }
    if (msg.rfind("job failed", 0) == 0) {
      CHECK(std::string_view{doc["level"].get_string().value()} == "warn");
      CHECK(std::string_view{doc["id"].get_string().value()}
            == failing[0].id);
      CHECK(std::string_view{doc["error"].get_string().value()} == "boom");
    }
    if (msg == "job failed, will retry") {
      CHECK(doc["retry"].get_int64().value() == 1);
      ms_t at = 0;
      CHECK(parse_time(std::string{doc["retry_at"].get_string().value()}, at));
    }
  }
  CHECK(msgs["job claimed"] == 4); // 2 + the failing one twice
  CHECK(msgs["job completed"] == 2);
  CHECK(msgs["job failed, will retry"] == 1);
  CHECK(msgs["job failed for good (retries used up)"] == 1);
  CHECK(msgs.count("stopped; 0 unfinished job(s) handed back to PENDING")
        == 1);
}

TEST_CASE("at the default level a worker logs job failures, not every job",
          "[integration][log]") {
  cluster c{"sqlite"};
  c.enqueue_echo(3);
  c.enqueue_echo(1, R"({"fail":true,"error":"boom"})", 0);
  auto& w = c.start_worker({"--poll-interval", "50ms"});
  c.wait_until(
    [&] { return c.count("COMPLETED") == 3 && c.count("FAILED") == 1; }, 60s,
    "three jobs COMPLETED and one FAILED");
  c.stop_all();
  auto err = w.err();
  INFO(err);
  CHECK(err.find("job claimed") == std::string::npos);
  CHECK(err.find("job completed") == std::string::npos);
  CHECK_THAT(err, Catch::Contains("jobd: warn: job failed for good (retries "
                                  "used up) id=")
                    && Catch::Contains("error=boom"));
}

TEST_CASE("log.payloads=true: claimed and failed lines carry the payload, a "
          "long one cut",
          "[integration][log]") {
  cluster c{"sqlite"};
  std::string big = R"({"fail":true,"error":"boom","pad":")"
                    + std::string(5000, 'x') + "\"}";
  auto failing = c.enqueue_echo(1, big, 0);
  c.enqueue_echo(1, R"({"user":"ada"})");
  auto& w = c.start_worker({"--set", "log.format=json", "--set",
                            "log.level=debug", "--set", "log.payloads=true",
                            "--poll-interval", "50ms"});
  c.wait_until(
    [&] { return c.count("COMPLETED") == 1 && c.count("FAILED") == 1; }, 60s,
    "one job COMPLETED and one FAILED");
  c.stop_all();
  auto err = w.err();
  INFO(err);
  simdjson::dom::parser p;
  std::map<std::string, std::string> payloads; // msg + id -> payload
  for (auto& line : lines_of(err)) {
    auto doc = p.parse(line);
    REQUIRE_FALSE(doc.error());
    std::string_view payload;
    if (doc["payload"].get_string().get(payload))
      continue;
    payloads[std::string{doc["msg"].get_string().value()} + " "
             + std::string{doc["id"].get_string().value()}]
      = std::string{payload};
  }
  auto cut = big.substr(0, 2048) + "... (" + std::to_string(big.size())
             + " bytes)";
  CHECK(payloads["job claimed " + failing[0].id] == cut);
  CHECK(payloads["job failed for good (retries used up) " + failing[0].id]
        == cut);
  int ada = 0;
  for (auto& [k, v] : payloads)
    ada += v == R"({"user":"ada"})";
  CHECK(ada == 1); // its claim; it did not fail
  CHECK(payloads.size() == 3);
}
