// GET /api/jobs?q= (issue 11 item 9): an id prefix or text in a payload or
// error, with the other filters; bad searches are 400 naming q.
#include <catch2/catch.hpp>

#include "support/http_fixture.hpp"

using namespace jobd;
using namespace jobd::test;

TEST_CASE("GET /api/jobs?q= finds jobs by text in the payload or error, or "
          "by id prefix; with status; bad searches are 400 naming q",
          "[http][search]") {
  http_env env;
  http_client c{env.port()};
  const char* later = R"("scheduledFor":"2099-01-01T00:00:00Z")";
  auto a = c.post("/api/jobs", std::string{R"({"type":"ECHO","payload":{"order":"A-77 for Ada"},)"} + later + "}");
  auto b = c.post("/api/jobs", std::string{R"({"type":"ECHO","payload":{"order":"B-12"},)"} + later + "}");
  auto f = c.post("/api/jobs", R"({"type":"ECHO","payload":{"fail":true,"permanent":true,"error":"card declined for A-77"}})");
  REQUIRE(a.status == 201);
  REQUIRE(b.status == 201);
  REQUIRE(f.status == 201);
  auto a_id = *json_at(a.body, "/id"), b_id = *json_at(b.body, "/id"),
       f_id = *json_at(f.body, "/id");
  REQUIRE(wait_until([&] {
    return json_at(c.get("/api/jobs/" + f_id).body, "/status") == "FAILED";
  }));
  auto ids = [&](const std::string& query) {
    auto r = c.get("/api/jobs?" + query);
    REQUIRE(r.status == 200);
    std::vector<std::string> out;
    for (int i = 0;; ++i) {
      auto id = json_at(r.body, "/jobs/" + std::to_string(i) + "/id");
      if (!id)
        break;
      out.push_back(*id);
    }
    return out;
  };
  // "A-77": in a's payload and in f's payload and error; newest first.
  CHECK(ids("q=A-77") == std::vector<std::string>{f_id, a_id});
  CHECK(ids("q=A-77&status=FAILED") == std::vector<std::string>{f_id});
  CHECK(ids("q=for%20Ada") == std::vector<std::string>{a_id});
  auto prefix = b_id.substr(0, 24);
  for (auto& ch : prefix)
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  auto by_prefix = ids("q=" + prefix);
  CHECK(std::find(by_prefix.begin(), by_prefix.end(), b_id) != by_prefix.end());
  CHECK(ids("q=") == ids("")); // an empty search is no search
  auto long_q = c.get("/api/jobs?q=" + std::string(201, 'x'));
  CHECK(long_q.status == 400);
  CHECK(json_at(long_q.body, "/error/field") == "q");
  CHECK(json_at(long_q.body, "/error/message")
        == "q must be at most 200 bytes, got 201");
  auto ctl = c.get("/api/jobs?q=a%09b");
  CHECK(ctl.status == 400);
  CHECK(json_at(ctl.body, "/error/field") == "q");
}
