// Unique keys across processes (issue 11, item 2): two `jobd serve`
// processes on one database take the same uniqueKeys at the same moment;
// each key is stored once, and both answers name the same job, one as new
// (201) and one as a duplicate (200). The unique index decides, so the
// outcome does not depend on which process wins each race.
#include "integration/cluster.hpp"

#include <thread>

#include "support/http_fixture.hpp"
#include "support/json_checks.hpp"

using namespace jobd;
using namespace jobd::test;
using namespace std::chrono_literals;

namespace {

void same_keys_from_two_servers(const std::string& backend) {
  cluster c{backend};
  std::vector<std::unique_ptr<child_process>> servers;
  std::vector<uint16_t> ports;
  for (int i = 0; i < 2; ++i) {
    auto port = free_port();
    ports.push_back(port);
    servers.push_back(std::make_unique<child_process>(
      jobd_binary(),
      std::vector<std::string>{"serve", "--db", c.db(), "--port",
                               std::to_string(port), "--workers", "0"},
      child_process::options{{}, c.dir().path().string()}));
    c.wait_serving(port, *servers.back());
  }
  constexpr int keys = 60;
  struct answer {
    unsigned status = 0;
    std::string id;
  };
  std::vector<std::vector<answer>> got(2, std::vector<answer>(keys));
  auto post_all = [&](int server) {
    http_client api{ports[server]};
    for (int k = 0; k < keys; ++k) {
      auto r = api.post("/api/jobs",
                        R"({"type":"ECHO","uniqueKey":"key-)"
                          + std::to_string(k)
                          + R"(","scheduledFor":"2099-01-01T00:00:00Z"})");
      got[server][k] = {r.status, json_at(r.body, "/id").value_or(r.body)};
    }
  };
  std::thread other{[&] { post_all(1); }};
  post_all(0);
  other.join();
  for (int k = 0; k < keys; ++k) {
    INFO("key-" << k << ": " << got[0][k].status << " " << got[0][k].id
                << " / " << got[1][k].status << " " << got[1][k].id);
    CHECK(got[0][k].id == got[1][k].id);
    auto statuses = std::multiset<unsigned>{got[0][k].status,
                                            got[1][k].status};
    CHECK(statuses == std::multiset<unsigned>{200, 201});
  }
  CHECK(c.count("PENDING") == keys);
  for (auto& s : servers) {
    s->signal(SIGTERM);
    REQUIRE(s->wait_for(60s));
    CHECK(s->exit_code() == 0);
  }
}

} // namespace

TEST_CASE("sqlite: two serve processes store each unique key once",
          "[integration][unique]") {
  same_keys_from_two_servers("sqlite");
}

TEST_CASE("postgresql: two serve processes store each unique key once",
          "[integration][unique][pg]") {
  same_keys_from_two_servers("postgresql");
}
