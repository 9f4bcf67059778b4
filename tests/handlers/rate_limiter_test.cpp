// The rate limiter with a manual clock: the sleep hook advances the clock,
// so every wait is exact and costs no real time.
#include <catch2/catch.hpp>

#include <memory>
#include <vector>

#include "handlers/rate_limiter.hpp"
#include "storage/clock.hpp"

using namespace jobd;

namespace {

struct limiter_env {
  std::shared_ptr<manual_clock> clock = std::make_shared<manual_clock>();
  std::vector<ms_t> sleeps;

  ms_t slept() const {
    ms_t sum = 0;
    for (auto s : sleeps)
      sum += s;
    return sum;
  }

  rate_limiter make(int64_t rpm, int64_t tpm) {
    return rate_limiter{rate_limits{rpm, tpm}, clock, [this](ms_t ms) {
                          sleeps.push_back(ms);
                          clock->advance(ms);
                        }};
  }
};

const std::function<bool()> never = [] { return false; };

} // namespace

TEST_CASE("unlimited budgets never wait", "[handlers][rate_limiter]") {
  limiter_env env;
  auto rl = env.make(0, 0);
  for (int i = 0; i < 1000; ++i)
    REQUIRE(rl.acquire(1'000'000, never));
  CHECK(env.sleeps.empty());
  rl.settle(10, 1'000'000); // no effect when unlimited
  CHECK(rl.wait_ms(1'000'000) == 0);
}

TEST_CASE("requests per minute: a full bucket, then one per 60/rpm seconds",
          "[handlers][rate_limiter]") {
  limiter_env env;
  auto rl = env.make(2, 0);
  REQUIRE(rl.acquire(0, never));
  REQUIRE(rl.acquire(0, never));
  CHECK(env.sleeps.empty());
  CHECK(rl.wait_ms(0) == 30'000);
  REQUIRE(rl.acquire(0, never));
  CHECK(env.slept() == 30'000);
  // Waiting is done in short slices so cancellation is noticed.
  for (auto s : env.sleeps)
    CHECK(s <= rate_limiter::max_sleep_slice_ms);
  // A long idle gap refills to the cap, not beyond.
  env.clock->advance(10 * 60'000);
  env.sleeps.clear();
  REQUIRE(rl.acquire(0, never));
  REQUIRE(rl.acquire(0, never));
  CHECK(env.sleeps.empty());
  CHECK(rl.wait_ms(0) == 30'000);
}

TEST_CASE("tokens per minute: waits for the missing tokens only",
          "[handlers][rate_limiter]") {
  limiter_env env;
  auto rl = env.make(0, 1000);
  REQUIRE(rl.acquire(600, never));
  CHECK(env.sleeps.empty());
  // 200 tokens are missing; 1000/min refills one per 60 ms.
  REQUIRE(rl.acquire(600, never));
  CHECK(env.slept() == 200 * 60);
}

TEST_CASE("settle corrects the estimate with the real usage",
          "[handlers][rate_limiter]") {
  limiter_env env;
  auto rl = env.make(0, 1000);
  SECTION("an overestimate is given back") {
    REQUIRE(rl.acquire(1000, never));
    CHECK(rl.wait_ms(900) > 0);
    rl.settle(1000, 100);
    CHECK(rl.wait_ms(900) == 0);
    REQUIRE(rl.acquire(900, never));
    CHECK(env.sleeps.empty());
  }
  SECTION("an underestimate takes more") {
    REQUIRE(rl.acquire(100, never));
    rl.settle(100, 1000);
    CHECK(rl.wait_ms(1) == 60);
  }
  SECTION("giving back never overfills the bucket") {
    REQUIRE(rl.acquire(10, never));
    rl.settle(5000, 0);
    REQUIRE(rl.acquire(1000, never));
    CHECK(rl.wait_ms(1) == 60);
  }
}

TEST_CASE("a request larger than a minute's budget goes when the bucket is "
          "full, and later ones wait for the debt",
          "[handlers][rate_limiter]") {
  limiter_env env;
  auto rl = env.make(0, 1000);
  REQUIRE(rl.acquire(5000, never));
  CHECK(env.sleeps.empty());
  // The bucket is 4000 tokens in debt: 4001 tokens at 60 ms each. The
  // refill must not stop at one minute's worth.
  CHECK(rl.wait_ms(1) == 4001 * 60);
  REQUIRE(rl.acquire(1, never));
  CHECK(env.slept() == 4001 * 60);
}

TEST_CASE("both budgets must fit", "[handlers][rate_limiter]") {
  limiter_env env;
  auto rl = env.make(60, 100);
  REQUIRE(rl.acquire(100, never));
  // Requests: 59 left; tokens: 100 missing = 60 s.
  CHECK(rl.wait_ms(100) == 60'000);
  // Requests alone: after 60 requests, one more needs 1 s.
  auto rl2 = env.make(60, 1'000'000);
  for (int i = 0; i < 60; ++i)
    REQUIRE(rl2.acquire(1, never));
  CHECK(rl2.wait_ms(1) == 1000);
}

TEST_CASE("a cancelled wait takes nothing", "[handlers][rate_limiter]") {
  limiter_env env;
  auto rl = env.make(1, 0);
  REQUIRE(rl.acquire(0, never));
  int polls = 0;
  CHECK_FALSE(rl.acquire(0, [&] { return ++polls > 3; }));
  CHECK(env.sleeps.size() == 3);
  // Nothing was taken: the bucket refills to one request 60 s after the
  // first acquire, whatever the cancelled call did.
  CHECK(rl.wait_ms(0) == 60'000 - env.slept());
}

TEST_CASE("a clock stepping back counts as no time passing",
          "[handlers][rate_limiter]") {
  limiter_env env;
  auto rl = env.make(1, 0);
  REQUIRE(rl.acquire(0, never));
  env.clock->advance(-3'600'000);
  CHECK(rl.wait_ms(0) == 60'000);
  env.clock->advance(30'000);
  CHECK(rl.wait_ms(0) == 30'000);
}
