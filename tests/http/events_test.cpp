// Live updates over Server-Sent Events.
#include <catch2/catch.hpp>

#include "support/http_fixture.hpp"

using namespace jobd;
using namespace jobd::test;
using namespace std::chrono_literals;

TEST_CASE("GET /api/events streams job changes and heartbeats", "[http][sse]") {
  http_env env; // heartbeat every 200 ms
  raw_connection stream{env.port()};
  stream.send("GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n");
  auto head = stream.read_until(
    [](const std::string& s) { return s.find(": connected") != std::string::npos; },
    5s);
  CHECK_THAT(head, Catch::StartsWith("HTTP/1.1 200"));
  CHECK_THAT(head, Catch::Contains("Content-Type: text/event-stream"));
  // The stream is registered once the header went out; a job created now
  // must show up created, claimed and completed.
  http_client c{env.port()};
  auto id = *json_at(c.post("/api/jobs", R"({"type":"ECHO","payload":{"k":1}})").body,
                     "/id");
  auto seen = stream.read_until(
    [&](const std::string& s) {
      return s.find("\"id\":\"" + id + "\",\"type\":\"ECHO\",\"status\":\"COMPLETED\"")
             != std::string::npos;
    },
    10s);
  CHECK_THAT(seen, Catch::Contains("event: job\ndata: {\"id\":\"" + id
                                   + "\",\"type\":\"ECHO\",\"status\":\"PENDING\""));
  CHECK_THAT(seen, Catch::Contains("\"status\":\"COMPLETED\""));

  auto pings = stream.read_until(
    [](const std::string& s) { return s.find(": ping") != std::string::npos; },
    5s);
  CHECK_THAT(pings, Catch::Contains(": ping\n\n"));

  // Deletions made through the API are announced too.
  CHECK(c.request("DELETE", "/api/jobs/" + id).status == 204);
  auto gone = stream.read_until(
    [&](const std::string& s) {
      return s.find("event: deleted\ndata: {\"id\":\"" + id + "\"}")
             != std::string::npos;
    },
    5s);
  CHECK_THAT(gone, Catch::Contains("event: deleted"));
  CHECK_THAT(c.get("/metrics").body, Catch::Contains("jobd_http_event_streams_open 1"));
}

TEST_CASE("a closed event stream is forgotten", "[http][sse]") {
  http_env env;
  http_client c{env.port()};
  {
    raw_connection stream{env.port()};
    stream.send("GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n");
    stream.read_until(
      [](const std::string& s) { return s.find(": connected") != std::string::npos; },
      5s);
    CHECK_THAT(c.get("/metrics").body,
               Catch::Contains("jobd_http_event_streams_open 1"));
  }
  CHECK(wait_until([&] {
    return c.get("/metrics").body.find("jobd_http_event_streams_open 0")
           != std::string::npos;
  }));
}
