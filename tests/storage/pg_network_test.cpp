// PostgreSQL across a network (issue 16): the store behind a fault proxy
// (bench/fault_proxy.hpp) that counts round trips and loses replies.
#include <chrono>
#include <catch2/catch.hpp>

#include <memory>
#include <string>

#include "bench/fault_proxy.hpp"
#include "storage/postgres/pg_store.hpp"
#include "storage/postgres/pg_tx.hpp"
#include "support/pg_server.hpp"

using namespace jobd;
using namespace jobd::test;
using jobd::bench::fault_proxy;

namespace {

const std::string w1 = "worker-1";
constexpr ms_t lease = 30'000;

struct net_env {
  /// `call_timeout_ms` for the proxied store (pg_store_options).
  explicit net_env(int64_t call_timeout_ms = -1)
    : call_timeout_ms(call_timeout_ms) {
    auto& pg = pg_server::shared();
    direct_url = pg.fresh_schema_url();
    proxy = std::make_unique<fault_proxy>("127.0.0.1",
                                          static_cast<uint16_t>(pg.port()));
    proxied_url = pg.url_through(direct_url, proxy->port());
    direct = open(direct_url);
    store = open(proxied_url, call_timeout_ms);
  }
  std::unique_ptr<pg_store> open(const std::string& url,
                                 int64_t call_timeout = -1) {
    store_options opts;
    opts.url = url;
    pg_store_options pg;
    pg.time = pg_time_source::injected;
    pg.reconnect_min_ms = 1;
    pg.reconnect_max_ms = 1;
    pg.call_timeout_ms = call_timeout;
    auto st = pg_store::open(opts, clock, pg);
    if (!st)
      FAIL("open failed: " << message_of(st.error()));
    return std::move(*st);
  }
  // Round trips the proxied store makes while running fn.
  template <class F>
  int64_t round_trips(F fn) {
    auto before = proxy->stats().turns;
    fn();
    return proxy->stats().turns - before;
  }
  void add(int n) {
    std::vector<new_job> jobs(static_cast<size_t>(n));
    for (auto& nj : jobs) {
      nj.type = "ECHO";
      nj.payload = "{}";
      nj.max_retries = 0;
    }
    REQUIRE(direct->enqueue(jobs));
  }
  std::shared_ptr<manual_clock> clock = std::make_shared<manual_clock>(
    1'700'000'000'000);
  int64_t call_timeout_ms;
  std::string direct_url, proxied_url;
  std::unique_ptr<fault_proxy> proxy;
  std::unique_ptr<pg_store> direct; // not through the proxy
  std::unique_ptr<pg_store> store;  // through it
};

// After a claim of two jobs whose COMMIT reply was lost: both are
// PROCESSING under a worker that never got them, and the proxied store's
// next call reconnects and hands them back first. Returns them.
std::vector<job> handed_back_after_reconnect(net_env& env) {
  auto stuck = env.direct->list(job_filter{"PROCESSING", "", "", 10});
  REQUIRE(stuck);
  CHECK(stuck->jobs.size() == 2);
  REQUIRE(env.store->counts());
  CHECK(env.store->released_in_doubt() == 2);
  auto back = env.direct->list(job_filter{"PENDING", "", "", 10});
  REQUIRE(back);
  REQUIRE(back->jobs.size() == 2);
  return back->jobs;
}

std::vector<completion> done_all(const std::vector<job>& js) {
  std::vector<completion> out;
  for (auto& j : js)
    out.push_back({{j.id, j.attempt}, "{}"});
  return out;
}

} // namespace

TEST_CASE("pg_bind puts literals in for $n, however many digits",
          "[storage][pg]") {
  std::vector<std::string> lits;
  for (int i = 1; i <= 11; ++i)
    lits.push_back("'v" + std::to_string(i) + "'");
  CHECK(pg_bind("SELECT $1, $11::int, $2+$10, '$' || x$", lits)
        == "SELECT 'v1', 'v11'::int, 'v2'+'v10', '$' || x$");
  CHECK_THROWS_AS(pg_bind("SELECT $12", lits), std::out_of_range);
  CHECK_THROWS_AS(pg_bind("SELECT $0", lits), std::out_of_range);
}

TEST_CASE("a write costs its statements plus one round trip, however many "
          "jobs it touches",
          "[storage][pg][network]") {
  net_env env;
  env.add(20);
  // Warm: the connection is open and the schema checked.
  REQUIRE(env.store->counts());
  SECTION("a claim, a completion of many, a heartbeat: two each") {
    caf::expected<std::vector<job>> c{caf::error{}};
    CHECK(env.round_trips([&] { c = env.store->claim(w1, 10, lease); }) == 2);
    REQUIRE(c);
    REQUIRE(c->size() == 10);
    std::vector<lease_ref> refs;
    for (auto& j : *c)
      refs.push_back({j.id, j.attempt});
    CHECK(env.round_trips([&] {
            REQUIRE(env.store->heartbeat(w1, refs, lease));
          })
          == 2);
    caf::expected<std::vector<std::string>> done{caf::error{}};
    CHECK(env.round_trips([&] {
            done = env.store->complete_all(w1, done_all(*c));
          })
          == 2);
    REQUIRE(done);
    CHECK(done->size() == 10);
  }
  SECTION("a batch of a completion and a claim: three") {
    auto first = env.store->claim(w1, 10, lease);
    REQUIRE(first);
    caf::expected<std::vector<job>> next{caf::error{}};
    CHECK(env.round_trips([&] {
            REQUIRE_FALSE(env.store->batch([&]() -> caf::error {
              auto d = env.store->complete_all(w1, done_all(*first));
              if (!d)
                return d.error();
              next = env.store->claim(w1, 10, lease);
              return next ? caf::error{} : next.error();
            }));
          })
          == 3);
    REQUIRE(next);
    CHECK(next->size() == 10);
    auto counts = env.direct->counts();
    REQUIRE(counts);
    int64_t completed = 0;
    for (size_t i = 0; i < counts->status.size(); ++i)
      if (counts->status[i] == "COMPLETED")
        completed += counts->count[i];
    CHECK(completed == 10);
  }
  SECTION("an idle claim: two") {
    REQUIRE(env.store->claim(w1, 100, lease));
    CHECK(env.round_trips([&] {
            auto none = env.store->claim(w1, 10, lease);
            REQUIRE(none);
            CHECK(none->empty());
          })
          == 2);
  }
}

TEST_CASE("a claim whose COMMIT reply is lost: its jobs are handed back on "
          "the next call, without spending a retry",
          "[storage][pg][network]") {
  net_env env;
  env.add(2); // maxRetries 0: a spent retry would fail them
  REQUIRE(env.store->counts());
  env.proxy->drop_reply_to("COMMIT");
  auto use_batch = GENERATE(false, true);
  INFO("in a batch: " << use_batch);
  caf::expected<std::vector<job>> c{caf::error{}};
  if (use_batch) {
    auto err = env.store->batch([&]() -> caf::error {
      c = env.store->claim(w1, 2, lease);
      return c ? caf::error{} : c.error();
    });
    REQUIRE(err);
    CHECK(code_of(err) == errc::unavailable);
  } else {
    c = env.store->claim(w1, 2, lease);
    REQUIRE_FALSE(c);
    CHECK(code_of(c.error()) == errc::unavailable);
    CHECK_THAT(message_of(c.error()), Catch::Contains("outcome is unknown"));
  }
  CHECK(env.proxy->stats().replies_dropped == 1);
  // The commit happened: both PROCESSING under w1, which never got them.
  auto back = handed_back_after_reconnect(env);
  for (auto& j : back) {
    CHECK(j.retry_count == 0);
    CHECK(j.locked_by.empty());
  }
  // And they run normally.
  auto again = env.store->claim(w1, 2, lease);
  REQUIRE(again);
  REQUIRE(again->size() == 2);
  auto done = env.store->complete_all(w1, done_all(*again));
  REQUIRE(done);
  CHECK(done->size() == 2);
}

TEST_CASE("a claim whose reply is lost before COMMIT leaves nothing behind",
          "[storage][pg][network]") {
  net_env env;
  env.add(2);
  REQUIRE(env.store->counts());
  env.proxy->drop_reply_to("FOR UPDATE SKIP LOCKED"); // the claim itself
  auto c = env.store->claim(w1, 2, lease);
  REQUIRE_FALSE(c);
  CHECK(code_of(c.error()) == errc::unavailable);
  // Never committed: the server rolled back when the connection ended.
  auto got = env.store->claim(w1, 2, lease);
  REQUIRE(got);
  CHECK(got->size() == 2);
  CHECK(env.store->released_in_doubt() == 0);
}

TEST_CASE("a call the network swallows gives the connection up after the "
          "call deadline; the next call after the network heals works",
          "[storage][pg][network]") {
  // The proxy accepts the bytes and never answers: TCP sees nothing wrong,
  // so without the deadline libpq would wait for ever.
  net_env env{400};
  env.add(2);
  REQUIRE(env.store->counts());
  env.proxy->blackhole();
  auto t0 = std::chrono::steady_clock::now();
  auto c = env.store->claim(w1, 2, lease);
  auto took = std::chrono::steady_clock::now() - t0;
  REQUIRE_FALSE(c);
  CHECK(code_of(c.error()) == errc::unavailable);
  CHECK_THAT(message_of(c.error()), Catch::Contains("no reply within 400 ms"));
  CHECK(took >= std::chrono::milliseconds(400));
  CHECK(took < std::chrono::seconds(10));
  // The claim never reached the server: nothing was taken.
  auto pending = env.direct->list(job_filter{"PENDING", "", "", 10});
  REQUIRE(pending);
  CHECK(pending->jobs.size() == 2);
  env.proxy->heal();
  auto again = env.store->claim(w1, 2, lease);
  REQUIRE(again);
  CHECK(again->size() == 2);
  // A healthy call far shorter than the deadline is never cut.
  for (int i = 0; i < 20; ++i)
    REQUIRE(env.store->counts());
  auto done = env.store->complete_all(w1, done_all(*again));
  REQUIRE(done);
  CHECK(done->size() == 2);
}

TEST_CASE("a claim whose COMMIT reply the network swallows: the call "
          "deadline gives the connection up and its jobs are handed back",
          "[storage][pg][network]") {
  net_env env{400};
  env.add(2); // maxRetries 0: a spent retry would fail them
  REQUIRE(env.store->counts());
  env.proxy->swallow_reply_to("COMMIT");
  auto use_batch = GENERATE(false, true);
  INFO("in a batch: " << use_batch);
  caf::expected<std::vector<job>> c{caf::error{}};
  caf::error err;
  if (use_batch) {
    err = env.store->batch([&]() -> caf::error {
      c = env.store->claim(w1, 2, lease);
      return c ? caf::error{} : c.error();
    });
  } else {
    c = env.store->claim(w1, 2, lease);
    err = c ? caf::error{} : c.error();
  }
  REQUIRE(err);
  CHECK(code_of(err) == errc::unavailable);
  CHECK_THAT(message_of(err), Catch::Contains("no reply within 400 ms"));
  CHECK(env.proxy->stats().replies_dropped == 1);
  auto back = handed_back_after_reconnect(env);
  for (auto& j : back)
    CHECK(j.retry_count == 0);
}
