// A quick look at enqueue throughput over one keep-alive connection (the W1
// HTTP workload in miniature). Hidden: run with `test_http "[.bench]"`.
#include <catch2/catch.hpp>

#include <iostream>

#include "support/http_fixture.hpp"

using namespace jobd;
using namespace jobd::test;

TEST_CASE("enqueue throughput over one keep-alive connection",
          "[.bench][http]") {
  http_env env;
  http_client c{env.port()};
  constexpr int n = 2000;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < n; ++i)
    REQUIRE(c.post("/api/jobs", R"({"type":"ECHO","scheduledFor":"2099-01-01T00:00:00Z"})")
              .status
            == 201);
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now()
                                            - start)
                .count();
  std::cout << n << " sequential POST /api/jobs: " << secs << " s, "
            << n / secs << " jobs/s (synchronous=NORMAL)\n";
}
