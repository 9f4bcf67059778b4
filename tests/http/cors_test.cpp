// CORS (http.cors_origins): web pages of the listed origins may call the
// API, read its answers, open the event stream and import the client; a
// page of any other origin is kept out by the browser, and its preflight
// gets a clear refusal. The header values are the configured strings.
#include <catch2/catch.hpp>

#include "http/config.hpp"
#include "support/http_fixture.hpp"

using namespace jobd;
using namespace jobd::test;
using namespace std::chrono_literals;

namespace {

const std::string app = "https://app.example.com";
const std::string local = "http://localhost:3000";

http_reply preflight(http_client& c, const std::string& path,
                     const std::string& origin, const std::string& method) {
  return c.request("OPTIONS", path, "", "",
                   {{"Origin", origin},
                    {"Access-Control-Request-Method", method},
                    {"Access-Control-Request-Headers",
                     "authorization, content-type"}});
}

http_config with_origins(const std::string& list,
                         const std::string& token = "") {
  auto cfg = test_http_config();
  cfg.cors_origins = list;
  cfg.api_token = token;
  return cfg;
}

} // namespace

TEST_CASE("http.cors_origins takes exact origins, or * alone",
          "[http][cors]") {
  CHECK(cors_origins_error("").empty());
  CHECK(cors_origins_error(app).empty());
  CHECK(cors_origins_error(app + ", " + local).empty());
  CHECK(cors_origins_error("http://[::1]:8080,http://127.0.0.1:5173").empty());
  CHECK(cors_origins_error("*").empty());
  CHECK(parse_cors_origins(" " + app + " ,," + local + " ")
        == std::vector<std::string>{app, local});
  for (auto bad : {"https://app.example.com/", "app.example.com",
                   "ftp://app.example.com", "https://App.example.com",
                   "https://app.example.com/path", "https://",
                   "https://app.example.com:", "https://a.example:123456",
                   "https://a b.example"}) {
    INFO(bad);
    CHECK_THAT(cors_origins_error(bad), Catch::Contains("is not an origin"));
  }
  CHECK_THAT(cors_origins_error("*, " + app), Catch::Contains("stands alone"));
  CHECK_THAT(cors_origins_error(" , "), Catch::Contains("no origin"));
}

TEST_CASE("without http.cors_origins a preflight is refused and no answer "
          "carries CORS headers",
          "[http][cors]") {
  http_env env;
  http_client c{env.port()};
  auto p = preflight(c, "/api/jobs", app, "POST");
  CHECK(p.status == 403);
  CHECK_THAT(p.body, Catch::Contains("origin_not_allowed"));
  CHECK_THAT(p.body, Catch::Contains("http.cors_origins"));
  CHECK(p.header("access-control-allow-origin").empty());
  auto g = c.request("GET", "/api/jobs", "", "", {{"Origin", app}});
  CHECK(g.status == 200);
  CHECK(g.header("access-control-allow-origin").empty());
  CHECK(g.header("vary").empty());
  // OPTIONS that is not a preflight is still a method this path lacks.
  CHECK(c.request("OPTIONS", "/api/jobs").status == 405);
}

TEST_CASE("a listed origin's preflight is answered without a token and its "
          "answers are marked for it; others are kept out",
          "[http][cors]") {
  http_env env{with_origins(app + "," + local, "secret")};
  http_client anon{env.port()};
  auto p = preflight(anon, "/api/jobs", app, "POST");
  CHECK(p.status == 204);
  CHECK(p.header("access-control-allow-origin") == app);
  CHECK_THAT(p.header("access-control-allow-methods"), Catch::Contains("POST"));
  CHECK_THAT(p.header("access-control-allow-methods"),
             Catch::Contains("PATCH"));
  CHECK_THAT(p.header("access-control-allow-headers"),
             Catch::Contains("Authorization"));
  CHECK_THAT(p.header("access-control-allow-headers"),
             Catch::Contains("Content-Type"));
  CHECK(p.header("access-control-max-age") == "600");
  CHECK(p.header("vary") == "Origin");
  // The second origin of the list gets its own name back.
  CHECK(preflight(anon, "/api/jobs/abc", local, "DELETE")
          .header("access-control-allow-origin")
        == local);
  // A route or method that does not exist is said so.
  CHECK(preflight(anon, "/api/nope", app, "GET").status == 404);
  auto put = preflight(anon, "/api/jobs", app, "PUT");
  CHECK(put.status == 405);
  CHECK_THAT(put.header("allow"), Catch::Contains("POST"));

  // The real request still needs the token; the page can read the refusal.
  auto no_token = anon.request("POST", "/api/jobs", R"({"type":"ECHO"})",
                               "application/json", {{"Origin", app}});
  CHECK(no_token.status == 401);
  CHECK(no_token.header("access-control-allow-origin") == app);
  http_client c{env.port(), "secret"};
  auto made = c.request("POST", "/api/jobs", R"({"type":"ECHO"})",
                        "application/json", {{"Origin", app}});
  CHECK(made.status == 201);
  CHECK(made.header("access-control-allow-origin") == app);
  CHECK_THAT(made.header("access-control-expose-headers"),
             Catch::Contains("Location"));
  CHECK(made.header("vary") == "Origin");

  // Not listed (exact match only): no CORS header, and a preflight is 403.
  for (auto other : {"https://evil.example", "https://app.example.com:443",
                     "http://app.example.com", "https://app.example.com.evil"}) {
    INFO(other);
    CHECK(preflight(anon, "/api/jobs", other, "POST").status == 403);
    auto g = c.request("GET", "/api/jobs", "", "", {{"Origin", other}});
    CHECK(g.status == 200);
    CHECK(g.header("access-control-allow-origin").empty());
    CHECK(g.header("vary") == "Origin");
  }
}

TEST_CASE("a listed origin may open the event stream and import the client",
          "[http][cors]") {
  http_env env{with_origins(app)};
  http_client c{env.port()};
  auto js = c.request("GET", "/jobs-client.js", "", "", {{"Origin", app}});
  CHECK(js.status == 200);
  CHECK(js.header("access-control-allow-origin") == app);
  raw_connection stream{env.port()};
  stream.send("GET /api/events HTTP/1.1\r\nHost: x\r\nOrigin: " + app
              + "\r\n\r\n");
  auto head = stream.read_until(
    [](const std::string& s) {
      return s.find(": connected") != std::string::npos;
    },
    5s);
  CHECK_THAT(head, Catch::StartsWith("HTTP/1.1 200"));
  CHECK_THAT(head, Catch::Contains("Access-Control-Allow-Origin: " + app
                                   + "\r\n"));
  CHECK_THAT(head, Catch::Contains("Vary: Origin\r\n"));
  raw_connection other{env.port()};
  other.send("GET /api/events HTTP/1.1\r\nHost: x\r\nOrigin: "
             "https://evil.example\r\n\r\n");
  auto other_head = other.read_until(
    [](const std::string& s) {
      return s.find(": connected") != std::string::npos;
    },
    5s);
  CHECK_THAT(other_head, Catch::StartsWith("HTTP/1.1 200"));
  CHECK(other_head.find("Access-Control-Allow-Origin") == std::string::npos);
}

TEST_CASE("http.cors_origins = * answers every origin, and is refused with "
          "an API token",
          "[http][cors]") {
  {
    http_env env{with_origins("*")};
    http_client c{env.port()};
    auto g = c.request("GET", "/api/jobs", "", "",
                       {{"Origin", "https://anything.example"}});
    CHECK(g.header("access-control-allow-origin") == "*");
    CHECK(g.header("vary").empty()); // the same answer for every origin
    CHECK(preflight(c, "/api/jobs", "https://anything.example", "POST")
            .status
          == 204);
  }
  // Refused at start, with the setting named (on a running server's
  // actor system and store, so nothing is left half started).
  http_env env;
  auto start = [&](const http_config& cfg) {
    return http_server::start(*env.sys, cfg, env.rt.store, env.handlers, {},
                              nullptr);
  };
  auto bad = start(with_origins("*", "secret"));
  REQUIRE_FALSE(bad);
  CHECK_THAT(message_of(bad.error()),
             Catch::Contains("http.cors_origins: '*' is refused while an "
                             "API token is set"));
  auto path = start(with_origins("https://app.example.com/"));
  REQUIRE_FALSE(path);
  CHECK_THAT(message_of(path.error()),
             Catch::Contains("http.cors_origins: 'https://app.example.com/' "
                             "is not an origin"));
}
