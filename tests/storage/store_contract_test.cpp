// The storage contract: every backend must pass every case here unchanged.
#include <catch2/catch.hpp>

#include <cmath>
#include <map>
#include <set>
#include <thread>

#include "storage/job_table.hpp"
#include "storage/rules.hpp"
#include "support/flaky_store.hpp"
#include "support/store_backends.hpp"

using namespace jobd;
using namespace jobd::test;

namespace {

new_job echo(int32_t priority = 0, ms_t at = 0, int32_t max_retries = 3) {
  new_job nj;
  nj.type = "ECHO";
  nj.payload = R"({"n":1})";
  nj.priority = priority;
  nj.scheduled_for = at;
  nj.max_retries = max_retries;
  return nj;
}

job add(job_store& st, new_job nj) {
  auto res = st.enqueue({std::move(nj)});
  REQUIRE(res);
  REQUIRE(res->size() == 1);
  return res->front();
}

/// A patch that changes the status only.
job_patch to_status(job_status s) {
  job_patch p;
  p.has_status = true;
  p.status = s;
  return p;
}

job must_get(job_store& st, const std::string& id) {
  auto res = st.get(id);
  REQUIRE(res);
  return *res;
}

/// The error of a call that returns a value or an error (none: no error).
template <class T>
caf::error error_of(const caf::expected<T>& res) {
  return res ? caf::error{} : res.error();
}

new_job of_type(const std::string& type, int32_t priority);

const std::string w1 = "worker-1";
const std::string w2 = "worker-2";
constexpr ms_t lease = 30'000;

} // namespace

#define FOR_EACH_BACKEND()                                                     \
  auto backend = GENERATE(from_range(store_backends()));                       \
  auto env = make_store_env(backend);                                          \
  auto& st = *env->store;                                                      \
  auto& clk = *env->clock;                                                     \
  INFO("backend: " << backend);                                                \
  (void) clk

TEST_CASE("enqueue stores a PENDING job that get returns unchanged",
          "[storage]") {
  FOR_EACH_BACKEND();
  auto j = add(st, echo(5));
  CHECK(is_job_id(j.id));
  CHECK(j.status == job_status::pending);
  CHECK(j.type == "ECHO");
  CHECK(j.priority == 5);
  CHECK(j.max_retries == 3);
  CHECK(j.retry_count == 0);
  CHECK(j.scheduled_for == clk.now_ms()); // no run time: due now
  CHECK(j.created_at == clk.now_ms());
  auto g = must_get(st, j.id);
  CHECK(g.id == j.id);
  CHECK(g.payload == R"({"n":1})");
  CHECK(g.result.empty());
  CHECK(g.error.empty());
  CHECK(g.attempt == 0);
}

TEST_CASE("enqueue of a batch is all or nothing", "[storage]") {
  FOR_EACH_BACKEND();
  auto bad = echo();
  bad.max_retries = -1;
  auto res = st.enqueue({echo(), echo(), bad});
  REQUIRE_FALSE(res);
  CHECK(code_of(res.error()) == errc::invalid);
  CHECK_THAT(message_of(res.error()),
             Catch::Contains("jobs[2].maxRetries"));
  auto page = st.list(job_filter{});
  REQUIRE(page);
  CHECK(page->jobs.empty());
  auto empty_type = echo();
  empty_type.type = "";
  auto res2 = st.enqueue({empty_type});
  REQUIRE_FALSE(res2);
  CHECK_THAT(message_of(res2.error()), Catch::Contains("type"));
  auto ok = st.enqueue({echo(), echo(), echo()});
  REQUIRE(ok);
  CHECK(ok->size() == 3);
  std::set<std::string> ids;
  for (auto& j : *ok)
    ids.insert(j.id);
  CHECK(ids.size() == 3);
}

TEST_CASE("get of a missing id is not_found", "[storage]") {
  FOR_EACH_BACKEND();
  auto res = st.get("01ARZ3NDEKTSV4RRFFQ69G5FAV");
  REQUIRE_FALSE(res);
  CHECK(code_of(res.error()) == errc::not_found);
}

TEST_CASE("claim order: priority, then scheduledFor, then createdAt",
          "[storage]") {
  FOR_EACH_BACKEND();
  auto t0 = clk.now_ms();
  auto low = add(st, echo(0));
  clk.advance(1);
  auto high = add(st, echo(10));
  clk.advance(1);
  auto low_earlier = add(st, echo(0, t0 - 5000));
  clk.advance(1);
  auto high_later = add(st, echo(10));
  auto claimed = st.claim(w1, 10, lease);
  REQUIRE(claimed);
  REQUIRE(claimed->size() == 4);
  CHECK((*claimed)[0].id == high.id);
  CHECK((*claimed)[1].id == high_later.id);
  CHECK((*claimed)[2].id == low_earlier.id);
  CHECK((*claimed)[3].id == low.id);
}

// One at a time, so the order comes from the claim statement itself (a
// batch is re-sorted after RETURNING, which would hide a wrong ORDER BY).
TEST_CASE("claim order holds for a claim of one job at a time", "[storage]") {
  FOR_EACH_BACKEND();
  auto t0 = clk.now_ms();
  // Created first, due from its creation.
  auto first_created = add(st, echo(0));
  clk.advance(1);
  // Created later, but scheduled earlier: runs first.
  auto earlier_due = add(st, echo(0, t0 - 5000));
  clk.advance(1);
  // Same run time as first_created, created later: runs after it.
  auto same_time_later = add(st, echo(0, t0));
  clk.advance(1);
  // Created last with the latest run time, but high priority: runs first.
  auto urgent = add(st, echo(7, clk.now_ms()));
  std::vector<std::string> order;
  for (int i = 0; i < 4; ++i) {
    auto c = st.claim(w1, 1, lease);
    REQUIRE(c);
    REQUIRE(c->size() == 1);
    order.push_back(c->front().id);
  }
  std::vector<std::string> expected{urgent.id, earlier_due.id,
                                    first_created.id, same_time_later.id};
  CHECK(order == expected);
}

// The claim visits one priority at a time, highest first (and reads the
// rest at once past 16 of them): order and limits hold across many
// priorities, with jobs due later at every one of them, for claim and
// claim_types alike.
TEST_CASE("claim order holds across 20 priorities with jobs due later at "
          "each: due ones only, highest first, up to the limit",
          "[storage]") {
  FOR_EACH_BACKEND();
  REQUIRE(st.declare_types({"SEND_MAIL"}, {}) == caf::error{});
  auto later = clk.now_ms() + 3'600'000;
  std::vector<std::string> due_echo, due_mail;
  for (int p = 0; p < 20; ++p) {
    add(st, echo(p, later));
    due_echo.push_back(add(st, echo(p)).id);
    auto mail = of_type("SEND_MAIL", p);
    mail.scheduled_for = later;
    add(st, mail);
    due_mail.push_back(add(st, of_type("SEND_MAIL", p)).id);
    clk.advance(1);
  }
  std::reverse(due_echo.begin(), due_echo.end());
  std::reverse(due_mail.begin(), due_mail.end());
  auto ids = [](const std::vector<job>& v) {
    std::vector<std::string> out;
    for (auto& j : v)
      out.push_back(j.id);
    return out;
  };
  for (auto [limit, from] : {std::pair{3, 0}, std::pair{14, 3}, std::pair{2, 17}, std::pair{10, 19}}) {
    INFO("limit " << limit << " from " << from);
    auto c = st.claim(w1, limit, lease);
    REQUIRE(c);
    auto n = std::min(limit, 20 - from);
    CHECK(ids(*c) == std::vector<std::string>(due_echo.begin() + from,
                                              due_echo.begin() + from + n));
    auto m = st.claim_types("ext-1", {"SEND_MAIL"}, limit, lease);
    REQUIRE(m);
    CHECK(ids(*m) == std::vector<std::string>(due_mail.begin() + from,
                                              due_mail.begin() + from + n));
  }
  // Only the jobs due later are left, and none is taken.
  CHECK(st.claim(w1, 100, lease)->empty());
  CHECK(st.claim_types("ext-1", {"SEND_MAIL"}, 100, lease)->empty());
  clk.advance(3'600'000);
  CHECK(st.claim(w1, 100, lease)->size() == 20);
  CHECK(st.claim_types("ext-1", {"SEND_MAIL"}, 100, lease)->size() == 20);
}

TEST_CASE("claim marks jobs PROCESSING with a lease and never hands a job out "
          "twice",
          "[storage]") {
  FOR_EACH_BACKEND();
  for (int i = 0; i < 5; ++i)
    add(st, echo());
  auto a = st.claim(w1, 3, lease);
  REQUIRE(a);
  REQUIRE(a->size() == 3);
  for (auto& j : *a) {
    CHECK(j.status == job_status::processing);
    CHECK(j.attempt == 1);
    CHECK(j.locked_by == w1);
    CHECK(j.lease_expires_at == clk.now_ms() + lease);
    CHECK(j.started_at == clk.now_ms());
  }
  auto b = st.claim(w2, 10, lease);
  REQUIRE(b);
  CHECK(b->size() == 2);
  std::set<std::string> ids;
  for (auto& j : *a)
    ids.insert(j.id);
  for (auto& j : *b)
    ids.insert(j.id);
  CHECK(ids.size() == 5);
  auto c = st.claim(w2, 10, lease);
  REQUIRE(c);
  CHECK(c->empty());
}

TEST_CASE("jobs scheduled in the future are not claimed early", "[storage]") {
  FOR_EACH_BACKEND();
  // A due job beside the future one, so the claim statement itself must
  // leave the future job alone (not a cheaper "anything due?" check first).
  auto later = add(st, echo(100, clk.now_ms() + 60'000));
  auto now = add(st, echo(0));
  auto first = st.claim(w1, 10, lease);
  REQUIRE(first);
  REQUIRE(first->size() == 1);
  CHECK(first->front().id == now.id);
  CHECK(must_get(st, later.id).status == job_status::pending);
  clk.advance(59'999);
  auto soon = add(st, echo(0));
  auto none = st.claim(w1, 10, lease);
  REQUIRE(none);
  REQUIRE(none->size() == 1);
  CHECK(none->front().id == soon.id);
  none = st.claim(w1, 10, lease);
  REQUIRE(none);
  CHECK(none->empty());
  clk.advance(1);
  auto due = st.claim(w1, 10, lease);
  REQUIRE(due);
  REQUIRE(due->size() == 1);
  CHECK(due->front().id == later.id);
}

TEST_CASE("complete stores the result; a stale attempt changes nothing",
          "[storage]") {
  FOR_EACH_BACKEND();
  auto j = add(st, echo());
  auto c = st.claim(w1, 1, lease);
  REQUIRE(c);
  REQUIRE(c->size() == 1);
  lease_ref ref{j.id, c->front().attempt};
  SECTION("by the holder") {
    clk.advance(250);
    auto ok = st.complete(ref, w1, R"({"done":true})");
    REQUIRE(ok);
    CHECK(*ok);
    auto g = must_get(st, j.id);
    CHECK(g.status == job_status::completed);
    CHECK(g.result == R"({"done":true})");
    CHECK(g.completed_at == clk.now_ms());
    CHECK(g.locked_by.empty());
    // A second completion of the same attempt changes nothing.
    auto again = st.complete(ref, w1, R"({"done":false})");
    REQUIRE(again);
    CHECK_FALSE(*again);
    CHECK(must_get(st, j.id).result == R"({"done":true})");
  }
  SECTION("by another worker") {
    auto res = st.complete(ref, w2, "{}");
    REQUIRE(res);
    CHECK_FALSE(*res);
    CHECK(must_get(st, j.id).status == job_status::processing);
  }
  SECTION("by an older attempt") {
    auto res = st.complete(lease_ref{j.id, ref.attempt - 1}, w1, "{}");
    REQUIRE(res);
    CHECK_FALSE(*res);
    CHECK(must_get(st, j.id).status == job_status::processing);
  }
}

TEST_CASE("complete_all completes the holder's attempts, each with its "
          "result, and skips stale ones",
          "[storage]") {
  FOR_EACH_BACKEND();
  std::vector<job> js;
  for (int i = 0; i < 4; ++i)
    js.push_back(add(st, echo()));
  auto c = st.claim(w1, 4, lease);
  REQUIRE(c);
  REQUIRE(c->size() == 4);
  auto other = add(st, echo());
  auto c2 = st.claim(w2, 1, lease);
  REQUIRE(c2);
  REQUIRE(c2->size() == 1);
  auto& x = *c;
  clk.advance(100);
  std::vector<completion> done{
    {{x[2].id, x[2].attempt}, R"({"n":2})"},
    {{x[0].id, x[0].attempt}, R"({"quote":"it's \"q\" {x}"})"},
    {{x[1].id, x[1].attempt - 1}, "{}"},          // an older attempt
    {{other.id, c2->front().attempt}, "{}"},      // w2's job
    {{"no-such-job", 1}, "{}"},
    {{x[3].id, x[3].attempt}, ""},                // no result: null
  };
  auto res = st.complete_all(w1, done);
  REQUIRE(res);
  CHECK(*res == std::vector<std::string>{x[2].id, x[0].id, x[3].id});
  auto g0 = must_get(st, x[0].id);
  CHECK(g0.status == job_status::completed);
  CHECK(g0.result == R"({"quote":"it's \"q\" {x}"})");
  CHECK(g0.completed_at == clk.now_ms());
  CHECK(g0.locked_by.empty());
  CHECK(must_get(st, x[2].id).result == R"({"n":2})");
  CHECK(must_get(st, x[3].id).result == "null");
  CHECK(must_get(st, x[1].id).status == job_status::processing);
  CHECK(must_get(st, other.id).status == job_status::processing);
  // Again: all stale now.
  auto again = st.complete_all(w1, done);
  REQUIRE(again);
  CHECK(again->empty());
  auto none = st.complete_all(w1, {});
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("a failure reschedules with the given delay until retries run out",
          "[storage]") {
  FOR_EACH_BACKEND();
  auto j = add(st, echo(0, 0, 2));
  for (int round = 0; round < 2; ++round) {
    auto c = st.claim(w1, 1, lease);
    REQUIRE(c);
    REQUIRE(c->size() == 1);
    CHECK(c->front().attempt == round + 1);
    auto delay = ms_t{1000} << round;
    auto out = st.fail({j.id, c->front().attempt}, w1, "boom", false, delay);
    REQUIRE(out);
    CHECK(out->applied);
    CHECK(out->status == job_status::pending);
    CHECK(out->retry_count == round + 1);
    CHECK(out->scheduled_for == clk.now_ms() + delay);
    auto g = must_get(st, j.id);
    CHECK(g.status == job_status::pending);
    CHECK(g.error == "boom");
    CHECK(g.retry_count == round + 1);
    CHECK(g.locked_by.empty());
    // Not due before the delay has passed.
    clk.advance(delay - 1);
    auto early = st.claim(w1, 1, lease);
    REQUIRE(early);
    CHECK(early->empty());
    clk.advance(1);
  }
  auto c = st.claim(w1, 1, lease);
  REQUIRE(c);
  REQUIRE(c->size() == 1);
  auto out = st.fail({j.id, c->front().attempt}, w1, "last", false, 4000);
  REQUIRE(out);
  CHECK(out->status == job_status::failed);
  auto g = must_get(st, j.id);
  CHECK(g.status == job_status::failed);
  CHECK(g.error == "last");
  CHECK(g.retry_count == 2);
  CHECK(g.completed_at == clk.now_ms());
}

TEST_CASE("a permanent failure fails the job at once", "[storage]") {
  FOR_EACH_BACKEND();
  auto j = add(st, echo());
  auto c = st.claim(w1, 1, lease);
  REQUIRE(c);
  auto out = st.fail({j.id, 1}, w1, "bad payload", true, 1000);
  REQUIRE(out);
  CHECK(out->status == job_status::failed);
  CHECK(must_get(st, j.id).retry_count == 0);
  CHECK(must_get(st, j.id).status == job_status::failed);
}

TEST_CASE("a stale failure changes nothing", "[storage]") {
  FOR_EACH_BACKEND();
  auto j = add(st, echo());
  REQUIRE(st.claim(w1, 1, lease));
  auto out = st.fail({j.id, 1}, w2, "not mine", false, 1000);
  REQUIRE(out);
  CHECK_FALSE(out->applied);
  CHECK(must_get(st, j.id).status == job_status::processing);
}

// The same worker holding a newer attempt of the job (it was handed back
// and claimed again): an outcome for the old attempt must not touch it.
TEST_CASE("a failure of an older attempt by the same worker changes nothing",
          "[storage]") {
  FOR_EACH_BACKEND();
  auto j = add(st, echo());
  REQUIRE(st.claim(w1, 1, lease));
  auto back = st.release(w1, {{j.id, 1}});
  REQUIRE(back);
  REQUIRE(*back == 1);
  auto again = st.claim(w1, 1, lease);
  REQUIRE(again);
  REQUIRE(again->size() == 1);
  REQUIRE(again->front().attempt == 2);
  auto out = st.fail({j.id, 1}, w1, "old attempt", false, 1000);
  REQUIRE(out);
  CHECK_FALSE(out->applied);
  auto perm = st.fail({j.id, 1}, w1, "old attempt", true, 1000);
  REQUIRE(perm);
  CHECK_FALSE(perm->applied);
  auto g = must_get(st, j.id);
  CHECK(g.status == job_status::processing);
  CHECK(g.attempt == 2);
  CHECK(g.retry_count == 0);
  CHECK(g.error.empty());
  CHECK(g.locked_by == w1);
  // The current attempt still can.
  auto cur = st.fail({j.id, 2}, w1, "now", false, 1000);
  REQUIRE(cur);
  CHECK(cur->applied);
}

TEST_CASE("release by another worker or of an older attempt changes nothing",
          "[storage]") {
  FOR_EACH_BACKEND();
  auto j = add(st, echo());
  REQUIRE(st.claim(w1, 1, lease));
  REQUIRE(st.release(w1, {{j.id, 1}}));
  REQUIRE(st.claim(w1, 1, lease)); // attempt 2, same worker
  auto other = st.release(w2, {{j.id, 2}});
  REQUIRE(other);
  CHECK(*other == 0);
  auto old = st.release(w1, {{j.id, 1}});
  REQUIRE(old);
  CHECK(*old == 0);
  auto g = must_get(st, j.id);
  CHECK(g.status == job_status::processing);
  CHECK(g.locked_by == w1);
  CHECK(g.attempt == 2);
}

TEST_CASE("a heartbeat of an older attempt by the same worker renews nothing",
          "[storage]") {
  FOR_EACH_BACKEND();
  auto j = add(st, echo());
  REQUIRE(st.claim(w1, 1, 1000));
  REQUIRE(st.release(w1, {{j.id, 1}}));
  REQUIRE(st.claim(w1, 1, 1000)); // attempt 2, same worker
  auto until = must_get(st, j.id).lease_expires_at;
  clk.advance(500);
  auto old = st.heartbeat(w1, {{j.id, 1}}, 1000);
  REQUIRE(old);
  CHECK(old->empty());
  CHECK(must_get(st, j.id).lease_expires_at == until);
}

TEST_CASE("a FAILED job can be retried by hand", "[storage]") {
  FOR_EACH_BACKEND();
  // It used its one retry before failing, so the reset is visible.
  auto j = add(st, echo(0, 0, 1));
  REQUIRE(st.claim(w1, 1, lease));
  REQUIRE(st.fail({j.id, 1}, w1, "boom", false, 0));
  REQUIRE(st.claim(w1, 1, lease));
  REQUIRE(st.fail({j.id, 2}, w1, "boom again", false, 0));
  REQUIRE(must_get(st, j.id).status == job_status::failed);
  REQUIRE(must_get(st, j.id).retry_count == 1);
  clk.advance(10);
  auto r = st.retry(j.id);
  REQUIRE(r);
  CHECK(r->status == job_status::pending);
  CHECK(r->retry_count == 0);
  CHECK(r->error.empty());
  CHECK(r->completed_at == 0);
  CHECK(r->scheduled_for == clk.now_ms());
  CHECK(must_get(st, j.id).retry_count == 0);
  auto c = st.claim(w1, 1, lease);
  REQUIRE(c);
  REQUIRE(c->size() == 1);
  CHECK(c->front().attempt == 3);
  // Its retries are whole again: one failure reschedules, not fails.
  auto out = st.fail({j.id, 3}, w1, "once more", false, 0);
  REQUIRE(out);
  CHECK(out->status == job_status::pending);
  REQUIRE(st.claim(w1, 1, lease));
  SECTION("only a FAILED job") {
    auto again = st.retry(j.id);
    REQUIRE_FALSE(again);
    CHECK(code_of(again.error()) == errc::conflict);
    CHECK_THAT(message_of(again.error()), Catch::Contains("PROCESSING"));
  }
  SECTION("a missing job") {
    auto none = st.retry("01ARZ3NDEKTSV4RRFFQ69G5FAV");
    REQUIRE_FALSE(none);
    CHECK(code_of(none.error()) == errc::not_found);
  }
}

TEST_CASE("an expired lease is rescued, counting a retry; its old holder is "
          "fenced off",
          "[storage]") {
  FOR_EACH_BACKEND();
  auto j = add(st, echo(0, 0, 1));
  REQUIRE(st.claim(w1, 1, 1000));
  // Another job whose lease ran out earlier, so the sweep has work and the
  // rescue statement itself must leave j alone at its lease end.
  auto other = add(st, echo(-1));
  REQUIRE(st.claim(w2, 1, 400));
  clk.advance(1000);
  auto none = st.rescue_expired();
  REQUIRE(none);
  CHECK(*none == 1); // j expires after, not at, the lease end
  CHECK(must_get(st, other.id).status == job_status::pending);
  CHECK(must_get(st, j.id).status == job_status::processing);
  clk.advance(1);
  std::vector<job> rescued;
  auto n = st.rescue_expired(&rescued);
  REQUIRE(n);
  CHECK(*n == 1);
  // The report holds each rescued job as it is now (for the log).
  REQUIRE(rescued.size() == 1);
  CHECK(rescued[0].id == j.id);
  CHECK(rescued[0].status == job_status::pending);
  CHECK(rescued[0].attempt == 1);
  CHECK_THAT(rescued[0].error, Catch::Contains("worker worker-1"));
  auto g = must_get(st, j.id);
  CHECK(g.status == job_status::pending);
  CHECK(g.retry_count == 1);
  CHECK_THAT(g.error, Catch::Contains("lease expired"));
  CHECK(g.locked_by.empty());
  // The old holder wakes up: its outcome is ignored.
  auto late = st.complete({j.id, 1}, w1, "{}");
  REQUIRE(late);
  CHECK_FALSE(*late);
  // Second attempt, second expiry: retries used up, FAILED.
  auto c = st.claim(w2, 1, 1000);
  REQUIRE(c);
  REQUIRE(c->size() == 1);
  CHECK(c->front().attempt == 2);
  clk.advance(1001);
  REQUIRE(st.rescue_expired());
  g = must_get(st, j.id);
  CHECK(g.status == job_status::failed);
  CHECK(g.retry_count == 1);
  CHECK(g.completed_at == clk.now_ms());
}

TEST_CASE("a heartbeat keeps the lease; only the holder can renew",
          "[storage]") {
  FOR_EACH_BACKEND();
  auto j = add(st, echo());
  REQUIRE(st.claim(w1, 1, 1000));
  clk.advance(800);
  auto renewed = st.heartbeat(w1, {{j.id, 1}}, 1000);
  REQUIRE(renewed);
  REQUIRE(renewed->size() == 1);
  CHECK(renewed->front() == j.id);
  clk.advance(800);
  auto n = st.rescue_expired();
  REQUIRE(n);
  CHECK(*n == 0);
  auto other = st.heartbeat(w2, {{j.id, 1}}, 1000);
  REQUIRE(other);
  CHECK(other->empty());
  auto stale = st.heartbeat(w1, {{j.id, 7}}, 1000);
  REQUIRE(stale);
  CHECK(stale->empty());
  CHECK(must_get(st, j.id).lease_expires_at == clk.now_ms() + 200);
}

TEST_CASE("release hands a job back without counting a retry", "[storage]") {
  FOR_EACH_BACKEND();
  auto j = add(st, echo());
  REQUIRE(st.claim(w1, 1, lease));
  auto n = st.release(w1, {{j.id, 1}, {"01ARZ3NDEKTSV4RRFFQ69G5FAV", 1}});
  REQUIRE(n);
  CHECK(*n == 1);
  auto g = must_get(st, j.id);
  CHECK(g.status == job_status::pending);
  CHECK(g.retry_count == 0);
  CHECK(g.locked_by.empty());
  auto c = st.claim(w2, 1, lease);
  REQUIRE(c);
  REQUIRE(c->size() == 1);
  CHECK(c->front().attempt == 2);
}

TEST_CASE("remove deletes a job unless it is running", "[storage]") {
  FOR_EACH_BACKEND();
  auto a = add(st, echo());
  auto b = add(st, echo(-1));
  REQUIRE(st.claim(w1, 1, lease)); // claims a (higher priority)
  auto busy = st.remove(a.id);
  CHECK(code_of(busy) == errc::conflict);
  CHECK_THAT(message_of(busy), Catch::Contains("PROCESSING"));
  CHECK(must_get(st, a.id).status == job_status::processing);
  CHECK_FALSE(st.remove(b.id));
  CHECK(code_of(st.get(b.id).error()) == errc::not_found);
  CHECK(code_of(st.remove(b.id)) == errc::not_found);
}

TEST_CASE("list: newest first, filters and cursor pages", "[storage]") {
  FOR_EACH_BACKEND();
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) {
    auto nj = echo();
    if (i % 2 == 1)
      nj.type = "OTHER";
    ids.push_back(add(st, nj).id);
    clk.advance(1);
  }
  job_filter f;
  f.limit = 3;
  std::vector<std::string> seen;
  for (int page_no = 0; page_no < 5; ++page_no) {
    auto p = st.list(f);
    REQUIRE(p);
    for (auto& j : p->jobs)
      seen.push_back(j.id);
    if (p->next_cursor.empty())
      break;
    f.cursor = p->next_cursor;
  }
  std::vector<std::string> expected(ids.rbegin(), ids.rend());
  CHECK(seen == expected);
  job_filter by_type;
  by_type.type = "OTHER";
  auto p = st.list(by_type);
  REQUIRE(p);
  CHECK(p->jobs.size() == 3);
  for (auto& j : p->jobs)
    CHECK(j.type == "OTHER");
  REQUIRE(st.claim(w1, 2, lease));
  job_filter by_status;
  by_status.status = "PROCESSING";
  p = st.list(by_status);
  REQUIRE(p);
  CHECK(p->jobs.size() == 2);
  SECTION("bad filters name the field") {
    job_filter bad;
    bad.status = "DONE";
    auto r = st.list(bad);
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::invalid);
    CHECK_THAT(message_of(r.error()), Catch::StartsWith("status"));
    bad = job_filter{};
    bad.limit = 501;
    r = st.list(bad);
    REQUIRE_FALSE(r);
    CHECK_THAT(message_of(r.error()), Catch::StartsWith("limit"));
    bad = job_filter{};
    bad.cursor = "'; DROP TABLE ContentJob; --";
    r = st.list(bad);
    REQUIRE_FALSE(r);
    CHECK_THAT(message_of(r.error()), Catch::StartsWith("cursor"));
  }
}

TEST_CASE("update allows only valid status transitions", "[storage]") {
  FOR_EACH_BACKEND();
  auto j = add(st, echo());
  job_patch to_failed;
  to_failed.has_status = true;
  to_failed.status = job_status::failed;
  to_failed.has_error = true;
  to_failed.error = "cancelled by operator";
  auto r = st.update(j.id, to_failed);
  REQUIRE(r);
  CHECK(r->status == job_status::failed);
  CHECK(r->error == "cancelled by operator");
  CHECK(must_get(st, j.id).status == job_status::failed);
  job_patch to_processing;
  to_processing.has_status = true;
  to_processing.status = job_status::processing;
  auto bad = st.update(j.id, to_processing);
  REQUIRE_FALSE(bad);
  CHECK(code_of(bad.error()) == errc::conflict);
  CHECK_THAT(message_of(bad.error()),
             Catch::Contains("FAILED") && Catch::Contains("PROCESSING"));
  job_patch prio;
  prio.has_priority = true;
  prio.priority = 42;
  prio.has_max_retries = true;
  prio.max_retries = 7;
  r = st.update(j.id, prio);
  REQUIRE(r);
  CHECK(must_get(st, j.id).priority == 42);
  CHECK(must_get(st, j.id).max_retries == 7);
  SECTION("a running job can be settled; its worker is then fenced") {
    auto k = add(st, echo(100));
    REQUIRE(st.claim(w1, 1, lease));
    job_patch done;
    done.has_status = true;
    done.status = job_status::completed;
    done.has_result = true;
    done.result = R"({"by":"hand"})";
    REQUIRE(st.update(k.id, done));
    auto late = st.complete({k.id, 1}, w1, "{}");
    REQUIRE(late);
    CHECK_FALSE(*late);
    CHECK(must_get(st, k.id).result == R"({"by":"hand"})");
    // but its schedule cannot change while it runs
    auto m = add(st, echo(100));
    REQUIRE(st.claim(w1, 1, lease));
    auto busy = st.update(m.id, prio);
    REQUIRE_FALSE(busy);
    CHECK(code_of(busy.error()) == errc::conflict);
  }
  SECTION("a missing job") {
    auto none = st.update("01ARZ3NDEKTSV4RRFFQ69G5FAV", prio);
    REQUIRE_FALSE(none);
    CHECK(code_of(none.error()) == errc::not_found);
  }
}

TEST_CASE("counts by status and type", "[storage]") {
  FOR_EACH_BACKEND();
  add(st, echo());
  add(st, echo());
  auto other = echo();
  other.type = "OTHER";
  add(st, other);
  REQUIRE(st.claim(w1, 1, lease));
  auto c = st.counts();
  REQUIRE(c);
  int64_t total = 0, processing = 0;
  for (size_t i = 0; i < c->count.size(); ++i) {
    total += c->count[i];
    if (c->status[i] == "PROCESSING")
      processing += c->count[i];
  }
  CHECK(total == 3);
  CHECK(processing == 1);
}

TEST_CASE("prune deletes only finished jobs older than the cut-off",
          "[storage]") {
  FOR_EACH_BACKEND();
  auto done = add(st, echo());
  auto pending = add(st, echo());
  REQUIRE(st.claim(w1, 1, lease));
  REQUIRE(st.complete({done.id, 1}, w1, "{}"));
  auto cut = clk.now_ms();
  clk.advance(10);
  auto kept = st.prune(cut, 100);
  REQUIRE(kept);
  CHECK(*kept == 0);
  auto n = st.prune(clk.now_ms(), 100);
  REQUIRE(n);
  CHECK(*n == 1);
  CHECK(code_of(st.get(done.id).error()) == errc::not_found);
  CHECK(must_get(st, pending.id).status == job_status::pending);
}

TEST_CASE("prune with a batch of zero or less deletes nothing", "[storage]") {
  FOR_EACH_BACKEND();
  auto done = add(st, echo());
  REQUIRE(st.claim(w1, 1, lease));
  REQUIRE(st.complete({done.id, 1}, w1, "{}"));
  clk.advance(10);
  for (int32_t batch : {0, -1}) {
    INFO("batch " << batch);
    auto n = st.prune(clk.now_ms(), batch);
    REQUIRE(n);
    CHECK(*n == 0);
    CHECK(must_get(st, done.id).status == job_status::completed);
  }
}

// Both backends say the same words for the same refusal (storage/rules.hpp)
// and write the same rescue error (storage/job_table.hpp).
TEST_CASE("every backend words its refusals and rescues alike", "[storage]") {
  FOR_EACH_BACKEND();
  const std::string missing = "01ARZ3NDEKTSV4RRFFQ69G5FAV";
  CHECK(message_of(st.get(missing).error())
        == "no job with id '" + missing + "'");
  auto j = add(st, echo(0, 0, 1));
  CHECK(message_of(st.retry(j.id).error())
        == "job '" + j.id + "' is PENDING; only a FAILED job can be retried");
  job_patch p;
  p.has_max_retries = true;
  p.max_retries = 101;
  auto bad = st.update(j.id, p);
  REQUIRE_FALSE(bad);
  CHECK(code_of(bad.error()) == errc::invalid);
  CHECK(message_of(bad.error()) == "maxRetries: must be 0..100");
  REQUIRE(st.claim(w1, 1, 1000));
  CHECK(message_of(st.remove(j.id))
        == "job '" + j.id
             + "' is PROCESSING; wait for it to finish, or set its status to "
               "FAILED first");
  clk.advance(1001);
  auto n = st.rescue_expired();
  REQUIRE(n);
  CHECK(*n == 1);
  CHECK(must_get(st, j.id).error
        == "lease expired: worker worker-1 stopped renewing attempt 1 "
           "(killed, hung, or cut off from the database; it may not have "
           "started the job)");
}

TEST_CASE("batch: all calls share one transaction; an error undoes them all",
          "[storage]") {
  FOR_EACH_BACKEND();
  auto err = st.batch([&]() -> caf::error {
    auto a = st.enqueue({echo()});
    if (!a)
      return a.error();
    auto b = st.enqueue({echo()});
    if (!b)
      return b.error();
    return make_error(errc::io, "simulated failure");
  });
  CHECK(code_of(err) == errc::io);
  auto p = st.list(job_filter{});
  REQUIRE(p);
  CHECK(p->jobs.empty());
  err = st.batch([&]() -> caf::error {
    for (int i = 0; i < 3; ++i)
      if (auto r = st.enqueue({echo()}); !r)
        return r.error();
    return {};
  });
  CHECK_FALSE(err);
  p = st.list(job_filter{});
  REQUIRE(p);
  CHECK(p->jobs.size() == 3);
}

TEST_CASE("two connections never claim the same job", "[storage]") {
  FOR_EACH_BACKEND();
  std::vector<new_job> many(200, echo());
  REQUIRE(st.enqueue(many));
  auto other = env->open_again();
  std::set<std::string> ids;
  size_t total = 0;
  for (int round = 0; round < 50; ++round) {
    auto a = st.claim(w1, 3, lease);
    auto b = other->claim(w2, 3, lease);
    REQUIRE(a);
    REQUIRE(b);
    for (auto& j : *a)
      ids.insert(j.id);
    for (auto& j : *b)
      ids.insert(j.id);
    total += a->size() + b->size();
  }
  CHECK(total == 200);
  CHECK(ids.size() == 200);
}

TEST_CASE("a read-only connection sees every commit and refuses every write",
          "[storage]") {
  FOR_EACH_BACKEND();
  auto a = add(st, echo());
  auto opts = env->opts;
  opts.read_only = true;
  auto opened = open_store(opts, env->clock);
  REQUIRE(opened);
  auto& ro = **opened;
  // Reads: what the writer committed, also after the reader's last read.
  CHECK(must_get(ro, a.id).id == a.id);
  auto b = add(st, echo(7));
  CHECK(must_get(ro, b.id).priority == 7);
  auto page = ro.list(job_filter{});
  REQUIRE(page);
  CHECK(page->jobs.size() == 2);
  auto counts = ro.counts();
  REQUIRE(counts);
  REQUIRE(counts->count.size() == 1);
  CHECK(counts->count[0] == 2);
  CHECK(code_of(ro.get("00000000000000000000000000").error())
        == errc::not_found);
  auto history = ro.attempts(a.id, max_attempts_listed);
  REQUIRE(history);
  CHECK(history->attempts.empty());
  // Writes: each refused with errc::io, nothing changed.
  auto refused = [](const caf::error& err) {
    INFO(message_of(err));
    REQUIRE(err);
    CHECK(code_of(err) == errc::io);
    CHECK_THAT(message_of(err), Catch::Contains("read-only"));
  };
  refused(error_of(ro.enqueue({echo()})));
  refused(error_of(ro.claim(w1, 10, lease)));
  refused(error_of(ro.retry(a.id)));
  refused(ro.remove(a.id));
  job_patch patch;
  patch.has_priority = true;
  patch.priority = 9;
  refused(error_of(ro.update(a.id, patch)));
  refused(ro.batch([] { return caf::error{}; }));
  clk.advance(lease);
  refused(error_of(ro.prune(clk.now_ms(), 10)));
  // The writer still holds both jobs, unclaimed and unchanged.
  auto after = st.list(job_filter{});
  REQUIRE(after);
  REQUIRE(after->jobs.size() == 2);
  for (auto& j : after->jobs) {
    CHECK(j.status == job_status::pending);
    CHECK(j.attempt == 0);
  }
  CHECK(must_get(st, a.id).priority == 0);
  // And the writer writes on while the reader is open.
  auto claimed = st.claim(w1, 10, lease);
  REQUIRE(claimed);
  CHECK(claimed->size() == 2);
  CHECK(must_get(ro, a.id).status == job_status::processing);
}

namespace {

/// (status, type) -> count, as counts() reports it (zero rows left out).
std::map<std::pair<std::string, std::string>, int64_t>
reported(job_store& st) {
  auto c = st.counts();
  REQUIRE(c);
  std::map<std::pair<std::string, std::string>, int64_t> out;
  for (size_t i = 0; i < c->count.size(); ++i)
    if (c->count[i] != 0)
      out[{c->status[i], c->type[i]}] += c->count[i];
  return out;
}

/// The same, counted from the rows themselves (every page of list()).
std::map<std::pair<std::string, std::string>, int64_t>
counted(job_store& st) {
  std::map<std::pair<std::string, std::string>, int64_t> out;
  job_filter f;
  f.limit = max_list_limit;
  for (;;) {
    auto page = st.list(f);
    REQUIRE(page);
    for (auto& j : page->jobs)
      ++out[{to_string(j.status), j.type}];
    if (page->next_cursor.empty())
      return out;
    f.cursor = page->next_cursor;
  }
}

} // namespace

TEST_CASE("counts stay exact through every kind of write", "[storage]") {
  FOR_EACH_BACKEND();
  auto same = [&](const char* after) {
    INFO("after " << after);
    CHECK(reported(st) == counted(st));
  };
  std::vector<new_job> batch;
  for (int i = 0; i < 12; ++i) {
    auto nj = echo(i % 3);
    if (i % 4 == 0)
      nj.type = "OTHER";
    batch.push_back(nj);
  }
  auto jobs = st.enqueue(batch);
  REQUIRE(jobs);
  same("enqueue");
  auto claimed = st.claim(w1, 8, lease);
  REQUIRE(claimed);
  REQUIRE(claimed->size() == 8);
  same("claim");
  auto& c = *claimed;
  REQUIRE(st.complete({c[0].id, c[0].attempt}, w1, "{}"));
  REQUIRE(st.complete({c[1].id, c[1].attempt}, w1, "{}"));
  CHECK_FALSE(*st.complete({c[1].id, c[1].attempt}, w1, "{}")); // stale
  auto all = st.complete_all(w1, {{{c[6].id, c[6].attempt}, "{}"},
                                  {{c[7].id, c[7].attempt}, "{}"},
                                  {{c[1].id, c[1].attempt}, "{}"}});
  REQUIRE(all);
  CHECK(all->size() == 2);
  same("complete_all");
  same("complete");
  REQUIRE(st.fail({c[2].id, c[2].attempt}, w1, "boom", false, 1000));
  REQUIRE(st.fail({c[3].id, c[3].attempt}, w1, "bad", true, 0));
  same("fail");
  REQUIRE(st.heartbeat(w1, {{c[4].id, c[4].attempt}}, lease));
  REQUIRE(st.release(w1, {{c[4].id, c[4].attempt}}));
  same("release");
  clk.advance(lease + 1);
  auto rescued = st.rescue_expired();
  REQUIRE(rescued);
  CHECK(*rescued == 1); // c[5]: 6 and 7 completed, 4 released
  same("rescue");
  REQUIRE(st.retry(c[3].id));
  same("retry by hand");
  job_patch to_failed;
  to_failed.has_status = true;
  to_failed.status = job_status::failed;
  REQUIRE(st.update(c[2].id, to_failed));
  job_patch again;
  again.has_status = true;
  again.status = job_status::pending;
  REQUIRE(st.update(c[0].id, again));
  same("update");
  REQUIRE_FALSE(st.remove(c[1].id));
  same("remove");
  // A batch that fails keeps none of its changes, counts included.
  auto err = st.batch([&]() -> caf::error {
    auto more = st.enqueue({echo(), echo()});
    if (!more)
      return more.error();
    return make_error(errc::invalid, "undo");
  });
  CHECK(err);
  same("a failed batch");
  err = st.batch([&]() -> caf::error {
    auto more = st.enqueue({echo()});
    if (!more)
      return more.error();
    auto cl = st.claim(w2, 2, lease);
    return cl ? caf::error{} : cl.error();
  });
  CHECK_FALSE(err);
  same("a batch");
  auto more = st.claim(w2, 20, lease);
  REQUIRE(more);
  for (auto& j : *more)
    REQUIRE(st.complete({j.id, j.attempt}, w2, "{}"));
  clk.advance(1000);
  auto pruned = st.prune(clk.now_ms(), 1000);
  REQUIRE(pruned);
  CHECK(*pruned > 0);
  same("prune");
}

// -- the change feed (issue 15 part 4) ---------------------------------------

namespace {

/// Every change after `after`, read in pages of `limit`, checking that each
/// page continues where the last one ended.
std::vector<job_change> feed_after(job_store& st, int64_t after,
                                   int32_t limit = 500) {
  std::vector<job_change> out;
  for (int pages = 0; pages < 100; ++pages) {
    auto page = st.changes(after, limit);
    REQUIRE(page);
    for (auto& c : page->changes) {
      CHECK(c.seq > after);
      out.push_back(c);
    }
    CHECK(page->next >= after);
    after = page->next;
    if (!page->more)
      return out;
  }
  FAIL("the feed did not end");
  return out;
}

/// "id:STATUS" for a change, "id:deleted" for a deletion.
std::vector<std::string> shown(const std::vector<job_change>& cs) {
  std::vector<std::string> out;
  for (auto& c : cs)
    out.push_back(c.job.id + ":"
                  + (c.deleted ? std::string{"deleted"}
                               : std::string{to_string(c.job.status)}));
  return out;
}

int64_t position(job_store& st) {
  auto pos = st.change_position();
  REQUIRE(pos);
  return *pos;
}

} // namespace

TEST_CASE("the change feed holds every change after a position, in commit "
          "order, each job once and as it is now",
          "[storage][feed]") {
  FOR_EACH_BACKEND();
  auto start = position(st);
  auto a = add(st, echo(5));
  auto b = add(st, echo());
  auto c = add(st, echo());
  auto mid = position(st);
  CHECK(mid > start);
  auto claimed = st.claim(w1, 1, lease); // a: highest priority
  REQUIRE(claimed);
  REQUIRE(claimed->size() == 1);
  REQUIRE(claimed->front().id == a.id);
  REQUIRE(*st.complete({a.id, claimed->front().attempt}, w1, R"({"ok":1})"));
  auto all = feed_after(st, start);
  // a changed last, so it comes last, once, COMPLETED with its result.
  CHECK(shown(all) == std::vector<std::string>{
                        b.id + ":PENDING", c.id + ":PENDING",
                        a.id + ":COMPLETED"});
  REQUIRE(all.size() == 3);
  CHECK(all[2].job.result == R"({"ok":1})");
  CHECK(all[0].seq < all[1].seq);
  CHECK(all[1].seq < all[2].seq);
  CHECK(all[2].seq == position(st));
  // From the middle: only what changed later.
  CHECK(shown(feed_after(st, mid))
        == std::vector<std::string>{a.id + ":COMPLETED"});
  // From now: nothing, and the position stays.
  auto now = st.changes(position(st), 10);
  REQUIRE(now);
  CHECK(now->changes.empty());
  CHECK(now->next == position(st));
  CHECK_FALSE(now->more);
  CHECK_FALSE(now->gap);
}

TEST_CASE("every kind of write reaches the change feed; a heartbeat and a "
          "stale write do not",
          "[storage][feed]") {
  FOR_EACH_BACKEND();
  std::vector<new_job> five(5, echo());
  auto jobs = st.enqueue(five);
  REQUIRE(jobs);
  auto claimed = st.claim(w1, 5, lease);
  REQUIRE(claimed);
  REQUIRE(claimed->size() == 5);
  auto& c = *claimed;
  auto step = [&](const char* what, auto&& write,
                  std::vector<std::string> expected) {
    INFO(what);
    auto before = position(st);
    write();
    CHECK(shown(feed_after(st, before)) == expected);
  };
  step("heartbeat", [&] {
    REQUIRE(st.heartbeat(w1, {{c[0].id, c[0].attempt}}, lease));
  }, {});
  step("stale complete", [&] {
    CHECK_FALSE(*st.complete({c[0].id, c[0].attempt}, w2, "{}"));
  }, {});
  step("complete", [&] {
    REQUIRE(*st.complete({c[0].id, c[0].attempt}, w1, "{}"));
  }, {c[0].id + ":COMPLETED"});
  step("fail with a retry", [&] {
    REQUIRE(st.fail({c[1].id, c[1].attempt}, w1, "boom", false, 1000));
  }, {c[1].id + ":PENDING"});
  step("permanent failure", [&] {
    REQUIRE(st.fail({c[2].id, c[2].attempt}, w1, "bad", true, 0));
  }, {c[2].id + ":FAILED"});
  step("release", [&] {
    REQUIRE(*st.release(w1, {{c[3].id, c[3].attempt}}) == 1);
  }, {c[3].id + ":PENDING"});
  step("rescue", [&] {
    clk.advance(lease + 1);
    REQUIRE(*st.rescue_expired() == 1);
  }, {c[4].id + ":PENDING"});
  step("retry by hand", [&] { REQUIRE(st.retry(c[2].id)); },
       {c[2].id + ":PENDING"});
  step("update", [&] {
    job_patch p;
    p.has_priority = true;
    p.priority = 9;
    auto j = st.update(c[3].id, p);
    REQUIRE(j);
  }, {c[3].id + ":PENDING"});
  step("remove", [&] { REQUIRE_FALSE(st.remove(c[0].id)); },
       {c[0].id + ":deleted"});
  step("a failed batch", [&] {
    auto err = st.batch([&]() -> caf::error {
      auto more = st.enqueue({echo()});
      REQUIRE(more);
      REQUIRE(st.remove(c[1].id) == caf::error{});
      return make_error(errc::invalid, "undo");
    });
    CHECK(err);
  }, {});
  step("retention", [&] {
    job_patch done;
    done.has_status = true;
    done.status = job_status::completed;
    REQUIRE(st.update(c[1].id, done));
    clk.advance(10'000);
    auto pruned = st.prune(clk.now_ms(), 100);
    REQUIRE(pruned);
    CHECK(*pruned == 1);
  }, {c[1].id + ":deleted"});
}

TEST_CASE("a page of the change feed never splits a transaction, and paging "
          "reads every change once",
          "[storage][feed]") {
  FOR_EACH_BACKEND();
  auto start = position(st);
  std::vector<new_job> ten(10, echo());
  auto batch = st.enqueue(ten);
  REQUIRE(batch);
  std::vector<std::string> singles;
  for (int i = 0; i < 5; ++i)
    singles.push_back(add(st, echo()).id);
  auto first = st.changes(start, 3);
  REQUIRE(first);
  CHECK(first->changes.size() == 10); // one transaction, whole
  CHECK(first->more);
  for (auto& ch : first->changes)
    CHECK(ch.seq == first->changes.front().seq);
  auto all = feed_after(st, start, 3);
  std::set<std::string> ids;
  for (auto& ch : all)
    ids.insert(ch.job.id);
  CHECK(all.size() == 15);
  CHECK(ids.size() == 15);
  for (size_t i = 0; i < 5; ++i)
    CHECK(all[10 + i].job.id == singles[i]);
  SECTION("a limit outside 1..500 is refused") {
    for (int32_t bad : {0, -1, 501}) {
      auto res = st.changes(start, bad);
      REQUIRE_FALSE(res);
      CHECK(code_of(res.error()) == errc::invalid);
      CHECK(message_of(res.error()).find("limit") != std::string::npos);
    }
  }
}

TEST_CASE("the change feed shows another connection's changes (another "
          "process) in commit order",
          "[storage][feed]") {
  FOR_EACH_BACKEND();
  auto other = env->open_again();
  auto start = position(st);
  auto a = add(st, echo());
  clk.advance(1);
  auto b = add(*other, echo());
  auto claimed = other->claim(w2, 1, lease);
  REQUIRE(claimed);
  REQUIRE(claimed->size() == 1);
  CHECK(claimed->front().id == a.id);
  auto c = add(st, echo());
  CHECK(shown(feed_after(st, start))
        == std::vector<std::string>{b.id + ":PENDING", a.id + ":PROCESSING",
                                    c.id + ":PENDING"});
  CHECK(shown(feed_after(*other, start)) == shown(feed_after(st, start)));
  CHECK(position(st) == position(*other));
}

TEST_CASE("deletions stay in the change feed for tombstone_keep_ms; a reader "
          "further behind is told of the gap",
          "[storage][feed]") {
  FOR_EACH_BACKEND();
  auto start = position(st);
  auto a = add(st, echo());
  REQUIRE_FALSE(st.remove(a.id));
  clk.advance(tombstone_keep_ms / 2);
  auto after_first = position(st);
  auto b = add(st, echo());
  REQUIRE_FALSE(st.remove(b.id));
  // Retention that deletes no job still drops old tombstones.
  auto nothing = st.prune(clk.now_ms() - 1, 100);
  REQUIRE(nothing);
  CHECK(*nothing == 0);
  auto page = st.changes(start, 100);
  REQUIRE(page);
  CHECK_FALSE(page->gap);
  CHECK(shown(page->changes)
        == std::vector<std::string>{a.id + ":deleted", b.id + ":deleted"});
  clk.advance(tombstone_keep_ms / 2 + 1);
  REQUIRE(st.prune(clk.now_ms() - 1, 100));
  page = st.changes(start, 100);
  REQUIRE(page);
  CHECK(page->gap);
  CHECK(shown(page->changes) == std::vector<std::string>{b.id + ":deleted"});
  page = st.changes(after_first, 100);
  REQUIRE(page);
  CHECK_FALSE(page->gap);
  CHECK(shown(page->changes) == std::vector<std::string>{b.id + ":deleted"});
}

// -- unique keys ---------------------------------------------------------------

namespace {

new_job keyed(const std::string& key, int32_t states = 0, ms_t period = 0) {
  auto nj = echo();
  nj.unique_key = key;
  nj.unique_states = states;
  nj.unique_period_ms = period;
  return nj;
}

int64_t stored_count(job_store& st) {
  auto c = st.counts();
  REQUIRE(c);
  int64_t n = 0;
  for (auto v : c->count)
    n += v;
  return n;
}

constexpr int32_t active_only = active_status_bits;

} // namespace

TEST_CASE("a second job with a taken unique key returns the first and stores "
          "nothing",
          "[storage][unique]") {
  FOR_EACH_BACKEND();
  auto first = add(st, keyed("export-42"));
  CHECK_FALSE(first.duplicate);
  CHECK(first.unique_key == "export-42");
  CHECK(first.unique_states == all_status_bits); // the default
  CHECK(first.unique_until == 0);
  clk.advance(5);
  auto other = keyed("export-42");
  other.priority = 9; // a duplicate's own fields are ignored
  auto again = add(st, other);
  CHECK(again.duplicate);
  CHECK(again.id == first.id);
  CHECK(again.priority == 0);
  CHECK(again.created_at == first.created_at);
  CHECK(stored_count(st) == 1);
  CHECK_FALSE(must_get(st, first.id).duplicate);
  // Another key, or none, is a new job.
  CHECK(add(st, keyed("export-43")).id != first.id);
  CHECK(add(st, echo()).id != first.id);
  CHECK(stored_count(st) == 3);
  SECTION("by default the key stays taken after the job finished") {
    REQUIRE(st.claim(w1, 3, lease));
    REQUIRE(st.complete({first.id, 1}, w1, "{}"));
    auto done = add(st, keyed("export-42"));
    CHECK(done.duplicate);
    CHECK(done.id == first.id);
    CHECK(done.status == job_status::completed);
  }
  SECTION("deleting the job frees its key") {
    REQUIRE_FALSE(st.remove(first.id));
    auto fresh = add(st, keyed("export-42"));
    CHECK_FALSE(fresh.duplicate);
    CHECK(fresh.id != first.id);
  }
}

TEST_CASE("a batch with a taken key stores the rest and returns the holder in "
          "its place",
          "[storage][unique]") {
  FOR_EACH_BACKEND();
  auto held = add(st, keyed("a"));
  auto res = st.enqueue({keyed("b"), keyed("a"), echo(), keyed("b")});
  REQUIRE(res);
  REQUIRE(res->size() == 4);
  auto& out = *res;
  CHECK_FALSE(out[0].duplicate);
  CHECK(out[1].duplicate);
  CHECK(out[1].id == held.id);
  CHECK_FALSE(out[2].duplicate);
  CHECK(out[3].duplicate); // the batch's own first "b"
  CHECK(out[3].id == out[0].id);
  CHECK(stored_count(st) == 3);
  auto c = st.counts();
  REQUIRE(c);
  REQUIRE(c->count.size() == 1);
  CHECK(c->count[0] == 3); // JobCount counted only what was stored
}

TEST_CASE("uniqueStates: a key held only while waiting or running is free "
          "again once its job finished",
          "[storage][unique]") {
  FOR_EACH_BACKEND();
  auto first = add(st, keyed("daily", active_only));
  CHECK(first.unique_states == active_only);
  CHECK(add(st, keyed("daily", active_only)).duplicate);
  REQUIRE(st.claim(w1, 1, lease));
  CHECK(add(st, keyed("daily", active_only)).duplicate); // running
  REQUIRE(st.complete({first.id, 1}, w1, "{}"));
  auto second = add(st, keyed("daily", active_only));
  CHECK_FALSE(second.duplicate);
  CHECK(second.id != first.id);
  SECTION("a retry by hand that would take a held key is refused, naming "
          "the holder") {
    // third fails for good while second holds the key
    auto c = st.claim(w1, 1, lease);
    REQUIRE(c);
    REQUIRE(c->size() == 1);
    REQUIRE(st.fail({second.id, 1}, w1, "boom", true, 0));
    auto third = add(st, keyed("daily", active_only));
    CHECK_FALSE(third.duplicate);
    auto r = st.retry(second.id);
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::conflict);
    CHECK(message_of(r.error())
          == "uniqueKey: job '" + second.id
               + "' would take key 'daily', which job '" + third.id
               + "' holds (PENDING); delete or finish that job first");
    CHECK(must_get(st, second.id).status == job_status::failed);
    auto u = st.update(second.id, to_status(job_status::pending));
    REQUIRE_FALSE(u);
    CHECK(code_of(u.error()) == errc::conflict);
    CHECK_THAT(message_of(u.error()), Catch::Contains(third.id));
    // Once the holder is gone, the retry goes through.
    REQUIRE_FALSE(st.remove(third.id));
    auto ok = st.retry(second.id);
    REQUIRE(ok);
    CHECK(ok->status == job_status::pending);
  }
}

TEST_CASE("uniquePeriodMs: one job per key per period, counted from the epoch",
          "[storage][unique]") {
  FOR_EACH_BACKEND();
  constexpr ms_t hour = 3'600'000;
  // The manual clock starts on some instant; move to 10 minutes into an hour.
  clk.advance(hour - clk.now_ms() % hour + 10 * 60'000);
  auto first = add(st, keyed("hourly-report", 0, hour));
  CHECK(first.unique_until == clk.now_ms() + 50 * 60'000);
  clk.advance(49 * 60'000);
  CHECK(add(st, keyed("hourly-report", 0, hour)).id == first.id);
  clk.advance(60'000); // the next hour
  auto next = add(st, keyed("hourly-report", 0, hour));
  CHECK_FALSE(next.duplicate);
  CHECK(next.unique_until == first.unique_until + hour);
  // Without a period the key is another one.
  CHECK_FALSE(add(st, keyed("hourly-report")).duplicate);
}

TEST_CASE("unique options are checked, naming the field", "[storage][unique]") {
  FOR_EACH_BACKEND();
  auto refused = [&](new_job nj) {
    auto res = st.enqueue({echo(), std::move(nj)});
    REQUIRE_FALSE(res);
    CHECK(code_of(res.error()) == errc::invalid);
    return message_of(res.error());
  };
  CHECK(refused(keyed("k", status_bit(job_status::pending)))
        == "jobs[1].uniqueStates: must include PENDING and PROCESSING (a "
           "waiting or running job always holds its key)");
  CHECK(refused(keyed("k", 0x10 | active_only))
        == "jobs[1].uniqueStates: must include PENDING and PROCESSING (a "
           "waiting or running job always holds its key)");
  CHECK(refused(keyed(std::string(256, 'k')))
        == "jobs[1].uniqueKey: at most 255 bytes, got 256");
  CHECK(refused(keyed("k", 0, -1))
        == "jobs[1].uniquePeriodMs: must be 0 (none) or 1..31622400000 (366 "
           "days), got -1");
  CHECK(refused(keyed("", active_only))
        == "jobs[1].uniqueKey: uniqueStates and uniquePeriodMs need a "
           "uniqueKey");
  CHECK(stored_count(st) == 0);
}

TEST_CASE("two connections enqueueing the same keys at once store each key "
          "once and agree on its job",
          "[storage][unique]") {
  FOR_EACH_BACKEND();
  auto other = env->open_again();
  constexpr int keys = 40;
  std::vector<std::vector<job>> got(2);
  auto run = [&](job_store& s, std::vector<job>& out) {
    for (int i = 0; i < keys; ++i) {
      auto res = s.enqueue({keyed("k" + std::to_string(i))});
      if (!res)
        throw std::runtime_error(message_of(res.error()));
      out.push_back(res->front());
    }
  };
  std::thread t{[&] { run(*other, got[1]); }};
  run(st, got[0]);
  t.join();
  REQUIRE(got[0].size() == keys);
  REQUIRE(got[1].size() == keys);
  int new_ones = 0;
  for (int i = 0; i < keys; ++i) {
    CHECK(got[0][i].id == got[1][i].id);
    new_ones += !got[0][i].duplicate + !got[1][i].duplicate;
  }
  CHECK(new_ones == keys); // each key: one new, one duplicate
  CHECK(stored_count(st) == keys);
}

// -- cancel ------------------------------------------------------------------

TEST_CASE("cancel: a PENDING job is CANCELLED at once and never claimed",
          "[storage][cancel]") {
  FOR_EACH_BACKEND();
  auto j = add(st, keyed("weekly"));
  clk.advance(7);
  auto c = st.cancel(j.id, cancel_note("api", "not needed"));
  REQUIRE(c);
  CHECK(c->status == job_status::cancelled);
  CHECK(c->error == "cancelled by api: not needed");
  CHECK(c->completed_at == clk.now_ms());
  auto g = must_get(st, j.id);
  CHECK(g.status == job_status::cancelled);
  CHECK(g.error == "cancelled by api: not needed");
  auto none = st.claim(w1, 10, lease);
  REQUIRE(none);
  CHECK(none->empty());
  // It lets go of its unique key.
  CHECK_FALSE(add(st, keyed("weekly")).duplicate);
  // Listed and counted under its own status.
  job_filter f;
  f.status = "CANCELLED";
  auto page = st.list(f);
  REQUIRE(page);
  REQUIRE(page->jobs.size() == 1);
  CHECK(page->jobs[0].id == j.id);
  auto counts = st.counts();
  REQUIRE(counts);
  bool seen = false;
  for (size_t i = 0; i < counts->count.size(); ++i)
    if (counts->status[i] == "CANCELLED") {
      CHECK(counts->count[i] == 1);
      seen = true;
    }
  CHECK(seen);
  CHECK(cancel_note("", "") == "cancelled");
  CHECK(cancel_note("cli", "") == "cancelled by cli");
}

TEST_CASE("cancel: a PROCESSING job is CANCELLED and its worker fenced off",
          "[storage][cancel]") {
  FOR_EACH_BACKEND();
  auto j = add(st, echo());
  auto claimed = st.claim(w1, 1, lease);
  REQUIRE(claimed);
  REQUIRE(claimed->size() == 1);
  auto c = st.cancel(j.id, cancel_note("", "wrong prompt"));
  REQUIRE(c);
  CHECK(c->status == job_status::cancelled);
  CHECK(c->locked_by.empty());
  // The worker's heartbeat renews nothing (its pool stops the handler) ...
  auto hb = st.heartbeat(w1, {{j.id, 1}}, lease);
  REQUIRE(hb);
  CHECK(hb->empty());
  // ... and whatever it reports changes nothing.
  auto done = st.complete({j.id, 1}, w1, R"({"late":true})");
  REQUIRE(done);
  CHECK_FALSE(*done);
  auto failed = st.fail({j.id, 1}, w1, "aborted", false, 0);
  REQUIRE(failed);
  CHECK_FALSE(failed->applied);
  auto released = st.release(w1, {{j.id, 1}});
  REQUIRE(released);
  CHECK(*released == 0);
  clk.advance(lease + 1);
  auto rescued = st.rescue_expired();
  REQUIRE(rescued);
  CHECK(*rescued == 0);
  auto g = must_get(st, j.id);
  CHECK(g.status == job_status::cancelled);
  CHECK(g.error == "cancelled: wrong prompt");
  CHECK(g.result.empty());
}

TEST_CASE("cancel: a finished job is a conflict; CANCELLED is final",
          "[storage][cancel]") {
  FOR_EACH_BACKEND();
  auto done = add(st, echo(1));
  REQUIRE(st.claim(w1, 1, lease));
  REQUIRE(st.complete({done.id, 1}, w1, "{}"));
  auto r = st.cancel(done.id, "cancelled");
  REQUIRE_FALSE(r);
  CHECK(code_of(r.error()) == errc::conflict);
  CHECK(message_of(r.error())
        == "job '" + done.id
             + "' is COMPLETED; only a PENDING or PROCESSING job can be "
               "cancelled");
  auto j = add(st, echo());
  REQUIRE(st.cancel(j.id, "cancelled"));
  auto twice = st.cancel(j.id, "cancelled");
  REQUIRE_FALSE(twice);
  CHECK_THAT(message_of(twice.error()), Catch::Contains("is CANCELLED"));
  auto retried = st.retry(j.id);
  REQUIRE_FALSE(retried);
  CHECK(code_of(retried.error()) == errc::conflict);
  CHECK(message_of(retried.error())
        == "job '" + j.id
             + "' is CANCELLED, which is final; enqueue a new job to run it "
               "again");
  auto u = st.update(j.id, to_status(job_status::pending));
  REQUIRE_FALSE(u);
  CHECK(code_of(u.error()) == errc::conflict);
  auto missing = st.cancel("01ARZ3NDEKTSV4RRFFQ69G5FAV", "cancelled");
  REQUIRE_FALSE(missing);
  CHECK(code_of(missing.error()) == errc::not_found);
  // Deleting it is fine; retention prunes it like a finished job.
  auto k = add(st, echo());
  REQUIRE(st.cancel(k.id, "cancelled"));
  clk.advance(10'000);
  auto pruned = st.prune(clk.now_ms() - 5'000, 100);
  REQUIRE(pruned);
  CHECK(*pruned == 3); // done, j and k
  CHECK(code_of(st.get(k.id).error()) == errc::not_found);
}

TEST_CASE("cancel reaches the change feed", "[storage][cancel]") {
  FOR_EACH_BACKEND();
  auto j = add(st, echo());
  auto pos = st.change_position();
  REQUIRE(pos);
  REQUIRE(st.cancel(j.id, "cancelled"));
  auto page = st.changes(*pos, 10);
  REQUIRE(page);
  REQUIRE(page->changes.size() == 1);
  CHECK(page->changes[0].job.id == j.id);
  CHECK(page->changes[0].job.status == job_status::cancelled);
}

// -- progress (issue 11 item 5) -----------------------------------------------

namespace {

/// One report of attempt (id, attempt).
progress_update report(const std::string& id, int32_t attempt,
                       double fraction, const std::string& message) {
  progress_update u;
  u.ref.id = id;
  u.ref.attempt = attempt;
  u.fraction = fraction;
  u.message = message;
  return u;
}

/// Reports as progress() takes them (pushed one by one: GCC 12 warns
/// falsely about an initializer list of them).
template <class... Us>
std::vector<progress_update> reports(Us... us) {
  std::vector<progress_update> v;
  (v.push_back(std::move(us)), ...);
  return v;
}

} // namespace

TEST_CASE("progress: the holder's report is stored with its time; a new "
          "attempt starts without it",
          "[storage][progress]") {
  FOR_EACH_BACKEND();
  auto j = add(st, echo());
  CHECK(j.progress < 0);
  CHECK(j.progress_at == 0);
  auto claimed = st.claim(w1, 1, lease);
  REQUIRE(claimed);
  REQUIRE(claimed->size() == 1);
  clk.advance(250);
  auto written = st.progress(
    w1, reports(report(j.id, 1, 0.42, "120 of 300 samples written")));
  REQUIRE(written);
  CHECK(*written == std::vector<std::string>{j.id});
  auto g = must_get(st, j.id);
  CHECK(g.progress == Approx(0.42));
  CHECK(g.progress_message == "120 of 300 samples written");
  CHECK(g.progress_at == clk.now_ms());
  CHECK(g.updated_at == clk.now_ms());
  CHECK(g.status == job_status::processing);
  // A message alone (the total unknown), then a later report replaces it.
  REQUIRE(st.progress(w1, reports(report(j.id, 1, -1, "412 tokens"))));
  g = must_get(st, j.id);
  CHECK(g.progress < 0);
  CHECK(g.progress_message == "412 tokens");
  // A fraction alone.
  REQUIRE(st.progress(w1, reports(report(j.id, 1, 0.5, ""))));
  g = must_get(st, j.id);
  CHECK(g.progress == Approx(0.5));
  CHECK(g.progress_message.empty());
  CHECK(g.progress_at != 0);
  // The attempt fails and is retried: the next claim clears the progress.
  REQUIRE(st.fail({j.id, 1}, w1, "boom", false, 0));
  CHECK(must_get(st, j.id).progress == Approx(0.5)); // kept while waiting
  auto again = st.claim(w2, 1, lease);
  REQUIRE(again);
  REQUIRE(again->size() == 1);
  CHECK(again->front().progress < 0);
  CHECK(again->front().progress_message.empty());
  CHECK(again->front().progress_at == 0);
  // A finished job keeps its last attempt's progress.
  REQUIRE(st.progress(w2, reports(report(j.id, 2, 1.0, "done"))));
  REQUIRE(*st.complete({j.id, 2}, w2, "{}"));
  g = must_get(st, j.id);
  CHECK(g.status == job_status::completed);
  CHECK(g.progress == Approx(1.0));
  CHECK(g.progress_message == "done");
}

TEST_CASE("progress: only the holder of the current attempt writes it",
          "[storage][progress]") {
  FOR_EACH_BACKEND();
  auto a = add(st, echo());
  auto b = add(st, echo());
  auto pending = add(st, echo(-5));
  auto claimed = st.claim(w1, 2, lease);
  REQUIRE(claimed);
  REQUIRE(claimed->size() == 2);
  auto written = st.progress(
    w1, reports(report(a.id, 1, 0.1, "a"),         // held: written
                report(b.id, 7, 0.2, "stale"),     // another attempt
                report(pending.id, 0, 0.3, "p"),   // not running
                report(b.id, 1, 0.4, "b")));       // held: written
  REQUIRE(written);
  CHECK(*written == std::vector<std::string>{a.id, b.id});
  CHECK(must_get(st, b.id).progress == Approx(0.4));
  CHECK(must_get(st, pending.id).progress_at == 0);
  // Another worker changes nothing.
  written = st.progress(w2, reports(report(a.id, 1, 0.9, "thief")));
  REQUIRE(written);
  CHECK(written->empty());
  CHECK(must_get(st, a.id).progress_message == "a");
  // Nor does a worker whose job was cancelled or completed.
  REQUIRE(st.cancel(a.id, cancel_note("", "")));
  REQUIRE(*st.complete({b.id, 1}, w1, "{}"));
  written = st.progress(w1, reports(report(a.id, 1, 0.9, "late"),
                                    report(b.id, 1, 0.9, "late")));
  REQUIRE(written);
  CHECK(written->empty());
  CHECK(must_get(st, a.id).progress_message == "a");
  CHECK(must_get(st, b.id).progress_message == "b");
  // Nothing to write is no write.
  written = st.progress(w1, {});
  REQUIRE(written);
  CHECK(written->empty());
}

TEST_CASE("progress: what a handler reports is cleaned before it is stored",
          "[storage][progress]") {
  FOR_EACH_BACKEND();
  auto j = add(st, echo());
  REQUIRE(st.claim(w1, 1, lease));
  auto stored = [&](double fraction, const std::string& message) {
    REQUIRE(st.progress(w1, reports(report(j.id, 1, fraction, message))));
    return must_get(st, j.id);
  };
  auto g = stored(1.7, "line one\nline\ttwo\x7f");
  CHECK(g.progress == Approx(1.0));
  CHECK(g.progress_message == "line one line two ");
  g = stored(std::nan(""), "x");
  CHECK(g.progress < 0);
  g = stored(-0.5, "y");
  CHECK(g.progress < 0);
  g = stored(0.0000004, "tiny"); // kept in millionths
  CHECK(g.progress == Approx(0.0));
  CHECK(g.progress >= 0);
  // Cut to 200 bytes, never inside a character; bad UTF-8 replaced.
  std::string long_text;
  for (int i = 0; i < 150; ++i)
    long_text += "\xc3\xa9"; // é, two bytes
  g = stored(0.5, long_text);
  CHECK(g.progress_message.size() == 200);
  CHECK(g.progress_message == long_text.substr(0, 200));
  g = stored(0.5, std::string{"a"} + long_text);
  CHECK(g.progress_message.size() == 199);
  g = stored(0.5, "bad \xff byte");
  CHECK(g.progress_message == "bad \xef\xbf\xbd byte");
}

TEST_CASE("progress reaches the change feed (a heartbeat does not)",
          "[storage][progress][feed]") {
  FOR_EACH_BACKEND();
  auto j = add(st, echo());
  REQUIRE(st.claim(w1, 1, lease));
  auto before = position(st);
  REQUIRE(st.heartbeat(w1, {{j.id, 1}}, lease));
  CHECK(shown(feed_after(st, before)).empty());
  REQUIRE(st.progress(w1, reports(report(j.id, 1, 0.25, "a quarter"))));
  auto changes = feed_after(st, before);
  CHECK(shown(changes) == std::vector<std::string>{j.id + ":PROCESSING"});
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].job.progress == Approx(0.25));
  CHECK(changes[0].job.progress_message == "a quarter");
  // A stale report is no change either.
  before = position(st);
  REQUIRE(st.progress(w2, reports(report(j.id, 1, 0.5, "no"))));
  CHECK(shown(feed_after(st, before)).empty());
}

// -- per-job timeout (issue 11 item 8) ----------------------------------------

TEST_CASE("timeoutMs is stored with the job, with or without a unique key; "
          "a bad one is refused, naming the field",
          "[storage][timeout]") {
  FOR_EACH_BACKEND();
  auto plain = echo();
  plain.timeout_ms = 90'000;
  auto keyed = echo();
  keyed.timeout_ms = 5;
  keyed.unique_key = "with-a-timeout";
  auto res = st.enqueue({plain, keyed, echo()});
  REQUIRE(res);
  REQUIRE(res->size() == 3);
  CHECK((*res)[0].timeout_ms == 90'000);
  CHECK(must_get(st, (*res)[0].id).timeout_ms == 90'000);
  CHECK(must_get(st, (*res)[1].id).timeout_ms == 5);
  CHECK(must_get(st, (*res)[2].id).timeout_ms == 0); // the type's default
  auto claimed = st.claim(w1, 3, lease);
  REQUIRE(claimed);
  std::map<std::string, ms_t> by_id;
  for (auto& j : *claimed)
    by_id[j.id] = j.timeout_ms;
  CHECK(by_id[(*res)[0].id] == 90'000); // a claim hands it to the worker
  for (ms_t bad : {ms_t{-1}, max_job_timeout_ms + 1}) {
    auto nj = echo();
    nj.timeout_ms = bad;
    auto refused = st.enqueue({echo(), nj});
    REQUIRE_FALSE(refused);
    CHECK(code_of(refused.error()) == errc::invalid);
    CHECK_THAT(message_of(refused.error()),
               Catch::StartsWith("jobs[1].timeoutMs: must be 1..604800000"));
  }
  auto longest = echo();
  longest.timeout_ms = max_job_timeout_ms;
  CHECK(st.enqueue({longest}));
}

TEST_CASE("pause: no claimer takes a paused type's jobs until it is resumed; "
          "other types run, and its jobs can still be enqueued",
          "[storage][pause]") {
  FOR_EACH_BACKEND();
  auto e1 = add(st, echo(5));
  new_job other{"OTHER"};
  auto o = add(st, other);
  auto paused = st.pause_type("ECHO", "deploy in progress");
  REQUIRE(paused);
  CHECK(paused->type == "ECHO");
  CHECK(paused->note == "deploy in progress");
  CHECK(paused->paused_at == clk.now_ms());
  auto counts = st.counts();
  REQUIRE(counts);
  REQUIRE(counts->paused.size() == 1);
  CHECK(counts->paused[0].type == "ECHO");
  CHECK(counts->paused[0].note == "deploy in progress");
  // The higher-priority ECHO job waits; OTHER runs.
  auto claimed = st.claim(w1, 10, lease);
  REQUIRE(claimed);
  REQUIRE(claimed->size() == 1);
  CHECK(claimed->front().id == o.id);
  auto e2 = add(st, echo());
  CHECK(must_get(st, e2.id).status == job_status::pending);
  REQUIRE(st.claim(w2, 10, lease));
  CHECK(st.claim(w2, 10, lease)->empty());
  CHECK(must_get(st, e1.id).status == job_status::pending);
  auto resumed = st.resume_type("ECHO");
  REQUIRE(resumed);
  CHECK(*resumed);
  CHECK(st.counts()->paused.empty());
  auto after = st.claim(w2, 10, lease);
  REQUIRE(after);
  REQUIRE(after->size() == 2);
  CHECK(after->front().id == e1.id);
}

TEST_CASE("pause: pausing twice keeps the first pause; resuming a type that "
          "is not paused changes nothing; a running job of a paused type "
          "still finishes",
          "[storage][pause]") {
  FOR_EACH_BACKEND();
  auto j = add(st, echo());
  auto running = st.claim(w1, 1, lease);
  REQUIRE(running);
  REQUIRE(running->size() == 1);
  auto first = st.pause_type("ECHO", "first");
  REQUIRE(first);
  clk.advance(1000);
  auto again = st.pause_type("ECHO", "second");
  REQUIRE(again);
  CHECK(again->note == "first");
  CHECK(again->paused_at == first->paused_at);
  auto done = st.complete(lease_ref{j.id, 1}, w1, "{}");
  REQUIRE(done);
  CHECK(*done);
  CHECK(must_get(st, j.id).status == job_status::completed);
  auto no_note = st.pause_type("OTHER", "");
  REQUIRE(no_note);
  CHECK(no_note->note.empty());
  CHECK(st.counts()->paused.size() == 2);
  CHECK(*st.resume_type("ECHO"));
  CHECK_FALSE(*st.resume_type("ECHO"));
  CHECK_FALSE(*st.resume_type("NEVER_PAUSED"));
  CHECK(st.counts()->paused.size() == 1);
}

TEST_CASE("pause: a bad type or note is refused, naming the field, and "
          "nothing is paused",
          "[storage][pause]") {
  FOR_EACH_BACKEND();
  struct bad {
    std::string type, note, message;
  };
  for (auto& b : std::vector<bad>{
         {"", "", "type: must not be empty"},
         {std::string(101, 'T'), "", "type: must be at most 100 bytes, got 101"},
         {"EC\nHO", "", "type: must not contain control characters"},
         {"ECHO", std::string(701, 'n'),
          "note: must be at most 700 bytes, got 701"},
         {"ECHO", "why\x01", "note: must not contain control characters"}}) {
    auto r = st.pause_type(b.type, b.note);
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == errc::invalid);
    CHECK(message_of(r.error()) == b.message);
  }
  CHECK(st.counts()->paused.empty());
}

TEST_CASE("search: an id prefix in any case, or text in the payload or the "
          "error; with the other filters and pages",
          "[storage][search]") {
  FOR_EACH_BACKEND();
  new_job invoice{"ECHO"};
  invoice.payload = R"({"customer":"Ada Lovelace","invoice":"INV-2041"})";
  auto a = add(st, invoice);
  clk.advance(1);
  new_job other{"OTHER"};
  other.payload = R"({"customer":"Grace Hopper"})";
  auto b = add(st, other);
  clk.advance(1);
  auto c = add(st, echo());
  clk.advance(1);
  // c fails with an error naming the invoice.
  auto claimed = st.claim(w1, 3, lease);
  REQUIRE(claimed);
  REQUIRE(st.fail(lease_ref{c.id, 1}, w1, "upstream refused INV-2041", true, 0));
  auto ids = [&](job_filter f) {
    auto page = st.list(f);
    REQUIRE(page);
    std::vector<std::string> out;
    for (auto& j : page->jobs)
      out.push_back(j.id);
    return out;
  };
  job_filter f;
  f.q = "INV-2041";
  CHECK(ids(f) == std::vector<std::string>{c.id, a.id}); // newest first
  f.q = "Lovelace";
  CHECK(ids(f) == std::vector<std::string>{a.id});
  f.q = "lovelace"; // text is matched as written
  CHECK(ids(f).empty());
  // An id prefix, in either case; the whole id too.
  f.q = b.id.substr(0, 24);
  auto by_prefix = ids(f);
  CHECK(std::find(by_prefix.begin(), by_prefix.end(), b.id) != by_prefix.end());
  f.q = b.id;
  for (auto& ch : f.q)
    ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  CHECK(ids(f) == std::vector<std::string>{b.id});
  // With status and type.
  f.q = "INV-2041";
  f.status = "FAILED";
  CHECK(ids(f) == std::vector<std::string>{c.id});
  f.status.clear();
  f.type = "OTHER";
  CHECK(ids(f).empty());
  // Pages.
  f.type.clear();
  f.limit = 1;
  auto first = st.list(f);
  REQUIRE(first);
  REQUIRE(first->jobs.size() == 1);
  CHECK(first->jobs[0].id == c.id);
  REQUIRE(first->next_cursor == c.id);
  f.cursor = first->next_cursor;
  auto second = st.list(f);
  REQUIRE(second);
  REQUIRE(second->jobs.size() == 1);
  CHECK(second->jobs[0].id == a.id);
  CHECK(second->next_cursor.empty());
  // Bad searches name the field.
  job_filter bad;
  bad.q = std::string(201, 'x');
  auto r = st.list(bad);
  REQUIRE_FALSE(r);
  CHECK(message_of(r.error()) == "q: must be at most 200 bytes, got 201");
  bad.q = "a\tb";
  r = st.list(bad);
  REQUIRE_FALSE(r);
  CHECK(message_of(r.error()) == "q: must not contain control characters");
}

TEST_CASE("search: text is looked for among the newest jobs only; an id "
          "prefix finds any job",
          "[storage][search]") {
  FOR_EACH_BACKEND();
  new_job old{"ECHO"};
  old.payload = R"({"needle":"haystack-7"})";
  auto o = add(st, old);
  clk.advance(1);
  std::vector<new_job> newer(max_search_scan, echo());
  REQUIRE(st.enqueue(newer));
  job_filter f;
  f.q = "haystack-7";
  auto page = st.list(f);
  REQUIRE(page);
  CHECK(page->jobs.empty()); // older than the newest max_search_scan
  f.q = o.id;
  page = st.list(f);
  REQUIRE(page);
  REQUIRE(page->jobs.size() == 1);
  CHECK(page->jobs[0].id == o.id);
}

// -- bulk actions --------------------------------------------------------------

namespace {

/// Enqueues `n` jobs of `type` and puts them in `to` by hand, all in one
/// transaction (PENDING -> FAILED or COMPLETED is allowed by hand).
std::vector<job> make_jobs(job_store& st, int n, const std::string& type,
                           job_status to) {
  std::vector<new_job> batch(static_cast<size_t>(n), echo());
  for (auto& nj : batch)
    nj.type = type;
  auto jobs = st.enqueue(batch);
  REQUIRE(jobs);
  if (to != job_status::pending) {
    REQUIRE_FALSE(st.batch([&]() -> caf::error {
      for (auto& j : *jobs) {
        auto res = st.update(j.id, to_status(to));
        if (!res)
          return res.error();
        j = *res;
      }
      return {};
    }));
  }
  return *jobs;
}

bulk_request bulk_of(bulk_action a, const std::string& type = "",
                     int32_t max = max_bulk_max) {
  bulk_request r;
  r.action = a;
  r.type = type;
  r.max = max;
  if (a == bulk_action::cancel)
    r.note = cancel_note("", "");
  return r;
}

int64_t count_of(job_store& st, job_status s, const std::string& type) {
  return reported(st)[{to_string(s), type}];
}

} // namespace

TEST_CASE("bulk retry: every FAILED job of a type back to PENDING, 500 to a "
          "transaction, counts exact",
          "[storage][bulk]") {
  FOR_EACH_BACKEND();
  make_jobs(st, 1100, "ECHO", job_status::failed);
  make_jobs(st, 3, "OTHER", job_status::failed);
  make_jobs(st, 2, "ECHO", job_status::completed);
  auto start = position(st);
  auto res = st.bulk(bulk_of(bulk_action::retry, "ECHO"));
  REQUIRE(res);
  CHECK(res->action == bulk_action::retry);
  CHECK(res->matched == 1100);
  CHECK(res->changed == 1100);
  CHECK(res->skipped == 0);
  CHECK_FALSE(res->more);
  REQUIRE(res->jobs.size() == 1100);
  for (auto& j : res->jobs) {
    CHECK(j.status == job_status::pending);
    CHECK(j.retry_count == 0);
    CHECK(j.error.empty());
  }
  CHECK(reported(st) == counted(st));
  CHECK(count_of(st, job_status::pending, "ECHO") == 1100);
  CHECK(count_of(st, job_status::failed, "OTHER") == 3);
  CHECK(count_of(st, job_status::completed, "ECHO") == 2);
  // Three transactions (500, 500, 100), each its own position in the feed.
  std::set<int64_t> commits;
  for (auto& c : feed_after(st, start))
    commits.insert(c.seq);
  CHECK(commits.size() == 3);
  // Retried jobs are due now: a claim takes them.
  auto claimed = st.claim(w1, 5, lease);
  REQUIRE(claimed);
  CHECK(claimed->size() == 5);
}

TEST_CASE("bulk: max caps a call, newest first, and more says that others "
          "match",
          "[storage][bulk]") {
  FOR_EACH_BACKEND();
  auto jobs = make_jobs(st, 5, "ECHO", job_status::failed);
  auto first = st.bulk(bulk_of(bulk_action::retry, "", 3));
  REQUIRE(first);
  CHECK(first->matched == 3);
  CHECK(first->changed == 3);
  CHECK(first->more);
  // The three newest (ids sort by creation).
  std::set<std::string> changed;
  for (auto& j : first->jobs)
    changed.insert(j.id);
  CHECK(changed == std::set<std::string>{jobs[2].id, jobs[3].id, jobs[4].id});
  auto second = st.bulk(bulk_of(bulk_action::retry, "", 2));
  REQUIRE(second);
  CHECK(second->matched == 2);
  CHECK(second->changed == 2);
  CHECK_FALSE(second->more); // exactly the rest: nothing further matches
  auto third = st.bulk(bulk_of(bulk_action::retry));
  REQUIRE(third);
  CHECK(third->matched == 0);
  CHECK(third->changed == 0);
  CHECK_FALSE(third->more);
  CHECK(reported(st) == counted(st));
}

TEST_CASE("bulk retry skips a job whose unique key another job holds, and "
          "counts it",
          "[storage][bulk]") {
  FOR_EACH_BACKEND();
  auto second = add(st, keyed("daily", active_only));
  REQUIRE(st.update(second.id, to_status(job_status::failed)));
  auto holder = add(st, keyed("daily", active_only));
  CHECK_FALSE(holder.duplicate);
  auto plain = make_jobs(st, 1, "ECHO", job_status::failed).front();
  auto res = st.bulk(bulk_of(bulk_action::retry));
  REQUIRE(res);
  CHECK(res->matched == 2);
  CHECK(res->changed == 1);
  CHECK(res->skipped == 1);
  REQUIRE(res->jobs.size() == 1);
  CHECK(res->jobs[0].id == plain.id);
  CHECK(must_get(st, second.id).status == job_status::failed);
  CHECK(must_get(st, plain.id).status == job_status::pending);
  CHECK(reported(st) == counted(st));
}

TEST_CASE("bulk cancel: PENDING and PROCESSING jobs of a type are CANCELLED "
          "with the note; a running attempt is fenced off",
          "[storage][bulk]") {
  FOR_EACH_BACKEND();
  auto pending = make_jobs(st, 3, "ECHO", job_status::pending);
  auto other = make_jobs(st, 1, "OTHER", job_status::pending).front();
  auto claimed = st.claim(w1, 1, lease);
  REQUIRE(claimed);
  REQUIRE(claimed->size() == 1);
  auto running = claimed->front();
  REQUIRE(running.type == "ECHO");
  auto r = bulk_of(bulk_action::cancel, "ECHO");
  r.note = cancel_note("ops", "bad deploy");
  SECTION("PENDING only leaves the running job alone") {
    r.status = "PENDING";
    auto res = st.bulk(r);
    REQUIRE(res);
    CHECK(res->matched == 2);
    CHECK(res->changed == 2);
    CHECK(must_get(st, running.id).status == job_status::processing);
    CHECK(*st.complete({running.id, running.attempt}, w1, "{}"));
  }
  SECTION("both") {
    auto res = st.bulk(r);
    REQUIRE(res);
    CHECK(res->matched == 3);
    CHECK(res->changed == 3);
    CHECK(res->skipped == 0);
    for (auto& j : pending) {
      auto g = must_get(st, j.id);
      CHECK(g.status == job_status::cancelled);
      CHECK(g.error == "cancelled by ops: bad deploy");
      CHECK(g.completed_at == clk.now_ms());
    }
    // The cancelled attempt's outcome changes nothing; its lease renews
    // nothing (so its pool stops it).
    auto hb = st.heartbeat(w1, {{running.id, running.attempt}}, lease);
    REQUIRE(hb);
    CHECK(hb->empty());
    auto done = st.complete({running.id, running.attempt}, w1, "{}");
    REQUIRE(done);
    CHECK_FALSE(*done);
    CHECK(must_get(st, running.id).status == job_status::cancelled);
    bool reported_running = false;
    for (auto& j : res->jobs)
      if (j.id == running.id)
        reported_running = j.attempt == running.attempt;
    CHECK(reported_running); // the caller tells this attempt's worker
  }
  CHECK(must_get(st, other.id).status == job_status::pending);
  CHECK(reported(st) == counted(st));
}

TEST_CASE("bulk delete: only finished jobs, and with finishedBefore only "
          "those that finished before it",
          "[storage][bulk]") {
  FOR_EACH_BACKEND();
  auto old_done = make_jobs(st, 3, "ECHO", job_status::completed);
  auto old_failed = make_jobs(st, 2, "ECHO", job_status::failed);
  auto cut = clk.now_ms() + 1;
  clk.advance(60'000);
  auto new_done = make_jobs(st, 2, "ECHO", job_status::completed);
  auto waiting = make_jobs(st, 2, "ECHO", job_status::pending);
  auto claimed = st.claim(w1, 1, lease);
  REQUIRE(claimed);
  REQUIRE(claimed->size() == 1);
  auto cancelled = make_jobs(st, 1, "OTHER", job_status::pending).front();
  REQUIRE(st.cancel(cancelled.id, "cancelled"));

  auto r = bulk_of(bulk_action::remove);
  r.finished_before = cut;
  r.status = "COMPLETED";
  auto completed_only = st.bulk(r);
  REQUIRE(completed_only);
  CHECK(completed_only->matched == 3);
  CHECK(completed_only->changed == 3);
  CHECK(completed_only->jobs.empty());
  for (auto& j : old_done)
    CHECK(code_of(st.get(j.id).error()) == errc::not_found);
  CHECK(must_get(st, old_failed[0].id).status == job_status::failed);
  r.status.clear();
  auto older = st.bulk(r);
  REQUIRE(older);
  CHECK(older->matched == 2); // the old FAILED ones
  CHECK(must_get(st, new_done[0].id).status == job_status::completed);
  CHECK(reported(st) == counted(st));

  auto all = st.bulk(bulk_of(bulk_action::remove));
  REQUIRE(all);
  CHECK(all->matched == 3); // the new COMPLETED ones and the CANCELLED one
  CHECK(all->changed == 3);
  // Waiting and running jobs stay.
  auto left = counted(st);
  CHECK(left == decltype(left){{{"PENDING", "ECHO"}, 1},
                               {{"PROCESSING", "ECHO"}, 1}});
  CHECK(reported(st) == left);
  for (auto& j : waiting)
    CHECK(st.get(j.id));
}

TEST_CASE("bulk: a request that makes no sense is refused, naming the field, "
          "and changes nothing",
          "[storage][bulk]") {
  FOR_EACH_BACKEND();
  make_jobs(st, 2, "ECHO", job_status::failed);
  auto before = counted(st);
  auto refused = [&](bulk_request r, const std::string& starts) {
    INFO(starts);
    auto res = st.bulk(r);
    REQUIRE_FALSE(res);
    CHECK(code_of(res.error()) == errc::invalid);
    CHECK_THAT(message_of(res.error()), Catch::StartsWith(starts));
  };
  auto r = bulk_of(bulk_action::retry);
  r.status = "PENDING";
  refused(r, "status: retry applies to FAILED jobs only, got 'PENDING'");
  r.status = "failed";
  refused(r, "status: expected PENDING");
  auto c = bulk_of(bulk_action::cancel);
  c.status = "COMPLETED";
  refused(c, "status: cancel applies to PENDING and PROCESSING jobs only");
  c.status.clear();
  c.finished_before = 1000;
  refused(c, "finishedBefore: only delete takes it");
  auto d = bulk_of(bulk_action::remove);
  d.status = "PROCESSING";
  refused(d, "status: delete applies to finished jobs only");
  d.status.clear();
  d.max = 0;
  refused(d, "max: must be 1..10000, got 0");
  d.max = max_bulk_max + 1;
  refused(d, "max: must be 1..10000, got 10001");
  d.max = 10;
  d.note = "cancelled";
  refused(d, "note: only cancel takes a reason");
  c.finished_before = 0;
  c.note = std::string{"cancelled\n"};
  refused(c, "note: must not contain control characters");
  auto typed = bulk_of(bulk_action::retry, "NOPE");
  auto err = validate_bulk(typed, {"ECHO", "OTHER"});
  CHECK(message_of(err) == "type: expected one of ECHO, OTHER, got 'NOPE'");
  CHECK(counted(st) == before);
}

TEST_CASE("get_for_update reads a job as get does, inside a batch too",
          "[storage][bulk]") {
  FOR_EACH_BACKEND();
  auto j = add(st, echo(3));
  REQUIRE_FALSE(st.batch([&]() -> caf::error {
    auto locked = st.get_for_update(j.id);
    REQUIRE(locked);
    CHECK(locked->id == j.id);
    CHECK(locked->priority == 3);
    CHECK(locked->status == job_status::pending);
    auto missing = st.get_for_update("01ARZ3NDEKTSV4RRFFQ69G5FAV");
    REQUIRE_FALSE(missing);
    CHECK(code_of(missing.error()) == errc::not_found);
    // The batch goes on after a missing job (no SQL error).
    return error_of(st.update(j.id, to_status(job_status::failed)));
  }));
  CHECK(must_get(st, j.id).status == job_status::failed);
}

TEST_CASE("bulk: a job another writer changed between the read and the "
          "write is skipped, not acted on",
          "[storage][bulk]") {
  FOR_EACH_BACKEND();
  auto other = env->open_again();
  // The bulk call's own connection, which lets `other` write right after
  // each of its list reads.
  flaky_store racing{env->open_again()};
  SECTION("a delete of FAILED jobs leaves one retried meanwhile") {
    auto failed = make_jobs(st, 3, "ECHO", job_status::failed);
    racing.after_list = [&] { REQUIRE(other->retry(failed[1].id)); };
    auto r = bulk_of(bulk_action::remove);
    r.status = "FAILED";
    auto res = racing.bulk(r);
    REQUIRE(res);
    CHECK(res->matched == 3);
    CHECK(res->changed == 2);
    CHECK(res->skipped == 1);
    CHECK(must_get(st, failed[1].id).status == job_status::pending);
    CHECK(code_of(st.get(failed[0].id).error()) == errc::not_found);
  }
  SECTION("a cancel of PENDING jobs leaves one claimed meanwhile running") {
    auto waiting = make_jobs(st, 2, "ECHO", job_status::pending);
    std::vector<job> claimed;
    racing.after_list = [&] {
      auto c = other->claim(w1, 1, lease);
      REQUIRE(c);
      claimed = *c;
    };
    auto r = bulk_of(bulk_action::cancel);
    r.status = "PENDING";
    auto res = racing.bulk(r);
    REQUIRE(res);
    REQUIRE(claimed.size() == 1);
    CHECK(res->matched == 2);
    CHECK(res->changed == 1);
    CHECK(res->skipped == 1);
    auto running = must_get(st, claimed[0].id);
    CHECK(running.status == job_status::processing);
    CHECK(*st.complete({running.id, running.attempt}, w1, "{}"));
  }
  CHECK(reported(st) == counted(st));
}

// -- recurring schedules -------------------------------------------------------

namespace {

schedule every_minute(const std::string& name = "tick") {
  schedule s;
  s.name = name;
  s.cron = "* * * * *";
  s.type = "ECHO";
  s.payload = R"({"from":"schedule"})";
  s.priority = 4;
  s.max_retries = 2;
  return s;
}

/// The whole minute after `t`.
ms_t minute_after(ms_t t) {
  return (t / 60'000 + 1) * 60'000;
}

} // namespace

TEST_CASE("schedules: a schedule is stored, listed by name, redefined "
          "keeping its pause, last run and creation, and deleted",
          "[storage][schedule]") {
  FOR_EACH_BACKEND();
  auto created = st.put_schedule(every_minute("b-tick"));
  REQUIRE(created);
  CHECK(created->cron == "* * * * *");
  CHECK(created->time_zone == "UTC");
  CHECK(created->created_at == clk.now_ms());
  CHECK(created->updated_at == clk.now_ms());
  CHECK(created->last_run_at == 0);
  CHECK(created->last_job_id.empty());
  CHECK_FALSE(created->paused);
  CHECK(created->source == "api");
  REQUIRE(st.put_schedule(every_minute("a-tick")));
  auto all = st.schedules();
  REQUIRE(all);
  REQUIRE(all->size() == 2);
  CHECK(all->at(0).name == "a-tick");
  CHECK(all->at(1).name == "b-tick");
  CHECK(all->at(1).payload == R"({"from":"schedule"})");
  CHECK(all->at(1).priority == 4);
  CHECK(all->at(1).max_retries == 2);
  // A run and a pause, then a redefinition: both kept.
  auto run = minute_after(clk.now_ms());
  clk.set(run + 5);
  REQUIRE(st.fire_schedule("b-tick", run, false));
  REQUIRE(st.pause_schedule("b-tick", true));
  clk.advance(1000);
  auto again = every_minute("b-tick");
  again.payload = R"({"v":2})";
  again.missed = "catch_up";
  again.catch_up_ms = 600'000;
  again.source = "config";
  auto redefined = st.put_schedule(again);
  REQUIRE(redefined);
  CHECK(redefined->payload == R"({"v":2})");
  CHECK(redefined->missed == "catch_up");
  CHECK(redefined->catch_up_ms == 600'000);
  CHECK(redefined->source == "config");
  CHECK(redefined->paused);
  CHECK(redefined->last_run_at == run);
  CHECK(redefined->created_at == created->created_at);
  CHECK(redefined->updated_at == clk.now_ms());
  auto gone = st.remove_schedule("b-tick");
  REQUIRE(gone);
  CHECK(*gone);
  CHECK_FALSE(*st.remove_schedule("b-tick"));
  CHECK(st.schedules()->size() == 1);
  // Its job stays.
  CHECK(stored_count(st) == 1);
}

TEST_CASE("schedules: a run creates one job, due at the run time, with the "
          "schedule's job; the same run again creates nothing",
          "[storage][schedule]") {
  FOR_EACH_BACKEND();
  REQUIRE(st.put_schedule(every_minute()));
  auto run = minute_after(clk.now_ms());
  clk.set(run + 250);
  auto fired = st.fire_schedule("tick", run, false);
  REQUIRE(fired);
  REQUIRE(fired->size() == 1);
  auto j = must_get(st, fired->front().id);
  CHECK(j.type == "ECHO");
  CHECK(j.payload == R"({"from":"schedule"})");
  CHECK(j.priority == 4);
  CHECK(j.max_retries == 2);
  CHECK(j.scheduled_for == run);
  CHECK(j.status == job_status::pending);
  auto s = stored_schedule(st, "tick");
  REQUIRE(s);
  CHECK(s->last_run_at == run);
  CHECK(s->last_job_id == j.id);
  // Counted like any enqueue.
  auto counts = st.counts();
  REQUIRE(counts);
  REQUIRE(counts->count.size() == 1);
  CHECK(counts->count[0] == 1);
  // Again, and an older run than the last one: nothing.
  auto twice = st.fire_schedule("tick", run, false);
  REQUIRE(twice);
  CHECK(twice->empty());
  auto older = st.fire_schedule("tick", run - 60'000, false);
  REQUIRE(older);
  CHECK(older->empty());
  CHECK(stored_count(st) == 1);
  // The next run.
  auto next = st.fire_schedule("tick", run + 60'000, false);
  REQUIRE(next);
  CHECK(next->size() == 1);
  CHECK(stored_schedule(st, "tick")->last_run_at == run + 60'000);
  // A schedule that is gone fires nothing.
  auto none = st.fire_schedule("nope", run, false);
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("schedules: a paused schedule creates no run until resumed; a run "
          "by hand runs even then and leaves the last cron run",
          "[storage][schedule]") {
  FOR_EACH_BACKEND();
  REQUIRE(st.put_schedule(every_minute()));
  auto paused = st.pause_schedule("tick", true);
  REQUIRE(paused);
  CHECK(paused->paused);
  auto run = minute_after(clk.now_ms());
  clk.set(run + 10);
  auto held = st.fire_schedule("tick", run, false);
  REQUIRE(held);
  CHECK(held->empty());
  auto by_hand = st.fire_schedule("tick", clk.now_ms(), true);
  REQUIRE(by_hand);
  REQUIRE(by_hand->size() == 1);
  CHECK(by_hand->front().scheduled_for == clk.now_ms());
  auto s = stored_schedule(st, "tick");
  CHECK(s->last_run_at == 0);
  CHECK(s->last_job_id == by_hand->front().id);
  // The same moment by hand twice: one job.
  CHECK(st.fire_schedule("tick", clk.now_ms(), true)->empty());
  auto resumed = st.pause_schedule("tick", false);
  REQUIRE(resumed);
  CHECK_FALSE(resumed->paused);
  CHECK(st.fire_schedule("tick", run, false)->size() == 1);
  CHECK(stored_count(st) == 2);
  auto missing = st.pause_schedule("nope", true);
  REQUIRE_FALSE(missing);
  CHECK(code_of(missing.error()) == errc::not_found);
  CHECK(message_of(missing.error()) == "no schedule named \"nope\"");
}

TEST_CASE("schedules: a bad schedule is refused, naming the field, and "
          "nothing is stored",
          "[storage][schedule]") {
  FOR_EACH_BACKEND();
  auto refused = [&](schedule s) {
    auto res = st.put_schedule(s);
    REQUIRE_FALSE(res);
    CHECK(code_of(res.error()) == errc::invalid);
    return message_of(res.error());
  };
  auto with = [](auto change) {
    auto s = every_minute();
    change(s);
    return s;
  };
  CHECK(refused(with([](schedule& s) { s.name = ""; }))
        == "name: must be 1..100 bytes, got 0");
  CHECK(refused(with([](schedule& s) { s.name = "a b"; }))
        == "name: may hold only letters, digits, '.', '_' and '-', got \"a b\"");
  CHECK(refused(with([](schedule& s) { s.cron = "61 * * * *"; })).rfind("cron: ", 0)
        == 0);
  CHECK(refused(with([](schedule& s) { s.time_zone = "Mars/Olympus"; }))
          .find("Mars/Olympus")
        != std::string::npos);
  CHECK(refused(with([](schedule& s) { s.type = ""; }))
        == "type: must not be empty");
  CHECK(refused(with([](schedule& s) { s.payload = "[1]"; }))
        == "payload: must be a JSON object");
  CHECK(refused(with([](schedule& s) { s.max_retries = 101; }))
        == "maxRetries: must be 0..100, got 101");
  CHECK(refused(with([](schedule& s) { s.missed = "later"; }))
        == "missed: must be skip or catch_up, got \"later\"");
  CHECK(refused(with([](schedule& s) { s.catch_up_ms = 59'999; }))
        == "catchUpMs: must be 60000..604800000 (1 minute..7 days), got 59999");
  CHECK(refused(with([](schedule& s) { s.source = "file"; }))
        == "source: must be config or api, got \"file\"");
  CHECK(st.schedules()->empty());
}

TEST_CASE("schedules: two connections firing the same runs at once create "
          "each run once",
          "[storage][schedule]") {
  FOR_EACH_BACKEND();
  REQUIRE(st.put_schedule(every_minute()));
  auto other = env->open_again();
  constexpr int runs = 30;
  auto first = minute_after(clk.now_ms());
  clk.set(first + runs * 60'000);
  std::vector<int> made(2, 0);
  auto fire = [&](job_store& s, int& out) {
    for (int i = 0; i < runs; ++i) {
      auto res = s.fire_schedule("tick", first + i * 60'000, false);
      if (!res)
        throw std::runtime_error(message_of(res.error()));
      out += static_cast<int>(res->size());
    }
  };
  std::thread t{[&] { fire(*other, made[1]); }};
  fire(st, made[0]);
  t.join();
  CHECK(made[0] + made[1] == runs);
  CHECK(stored_count(st) == runs);
  CHECK(stored_schedule(st, "tick")->last_run_at == first + (runs - 1) * 60'000);
}

TEST_CASE("schedules: retention drops the record of runs as old as the jobs "
          "it drops",
          "[storage][schedule]") {
  FOR_EACH_BACKEND();
  REQUIRE(st.put_schedule(every_minute()));
  auto at = clk.now_ms();
  REQUIRE(st.fire_schedule("tick", at, true)->size() == 1);
  CHECK(st.fire_schedule("tick", at, true)->empty());
  auto claimed = st.claim(w1, 1, lease);
  REQUIRE(claimed);
  REQUIRE(claimed->size() == 1);
  REQUIRE(*st.complete(lease_ref{claimed->front().id, 1}, w1, "{}"));
  clk.advance(1000);
  auto pruned = st.prune(clk.now_ms(), 100);
  REQUIRE(pruned);
  CHECK(*pruned == 1);
  // The record is gone, so the same moment by hand is a new run.
  CHECK(st.fire_schedule("tick", at, true)->size() == 1);
}

// -- attempt history ------------------------------------------------------------

namespace {

attempt_history must_attempts(job_store& st, const std::string& id,
                              int32_t limit = max_attempts_listed) {
  auto res = st.attempts(id, limit);
  REQUIRE(res);
  return *res;
}

} // namespace

TEST_CASE("every attempt keeps its worker, start, end, outcome and error",
          "[storage][attempts]") {
  FOR_EACH_BACKEND();
  auto j = add(st, echo(0, 0, 5));
  CHECK(must_attempts(st, j.id).attempts.empty());
  // 1: fails (retryable) after 100 ms.
  auto t1 = clk.now_ms();
  REQUIRE(st.claim(w1, 1, lease)->size() == 1);
  clk.advance(100);
  REQUIRE(st.fail({j.id, 1}, w1, "boom", false, 0)->applied);
  // 2: its worker stops renewing; the lease runs out and it is rescued.
  clk.advance(1);
  auto t2 = clk.now_ms();
  REQUIRE(st.claim(w2, 1, lease)->size() == 1);
  clk.advance(lease + 1);
  REQUIRE(*st.rescue_expired() == 1);
  auto t2_end = clk.now_ms();
  // 3: handed back at a graceful stop.
  clk.advance(1);
  auto t3 = clk.now_ms();
  REQUIRE(st.claim(w1, 1, lease)->size() == 1);
  clk.advance(5);
  REQUIRE(*st.release(w1, {{j.id, 3}}) == 1);
  auto t3_end = clk.now_ms();
  // 4: running.
  clk.advance(1);
  auto t4 = clk.now_ms();
  REQUIRE(st.claim(w2, 1, lease)->size() == 1);
  auto h = must_attempts(st, j.id);
  REQUIRE(h.attempts.size() == 4);
  CHECK_FALSE(h.truncated);
  auto& a = h.attempts;
  for (int i = 0; i < 4; ++i)
    CHECK(a[i].attempt == i + 1);
  CHECK(a[0].worker == w1);
  CHECK(a[0].started_at == t1);
  CHECK(a[0].ended_at == t1 + 100);
  CHECK(a[0].outcome == attempt_outcome::failed);
  CHECK(a[0].error == "boom");
  CHECK(a[1].worker == w2);
  CHECK(a[1].started_at == t2);
  CHECK(a[1].ended_at == t2_end);
  CHECK(a[1].outcome == attempt_outcome::lease_expired);
  CHECK_THAT(a[1].error, Catch::Contains("lease expired")
                           && Catch::Contains(w2));
  CHECK(a[2].worker == w1);
  CHECK(a[2].started_at == t3);
  CHECK(a[2].ended_at == t3_end);
  CHECK(a[2].outcome == attempt_outcome::released);
  CHECK(a[2].error.empty());
  CHECK(a[3].worker == w2);
  CHECK(a[3].started_at == t4);
  CHECK(a[3].ended_at == 0);
  CHECK(a[3].outcome == attempt_outcome::running);
  // 4 completes: read from the job's row, with its worker.
  clk.advance(7);
  REQUIRE(*st.complete({j.id, 4}, w2, R"({"ok":true})"));
  h = must_attempts(st, j.id);
  REQUIRE(h.attempts.size() == 4);
  CHECK(h.attempts[3].worker == w2);
  CHECK(h.attempts[3].started_at == t4);
  CHECK(h.attempts[3].ended_at == t4 + 7);
  CHECK(h.attempts[3].outcome == attempt_outcome::completed);
  CHECK(h.attempts[3].error.empty());
  // The earlier ones are as they were.
  CHECK(h.attempts[0].error == "boom");
  CHECK(h.attempts[2].outcome == attempt_outcome::released);
}

TEST_CASE("the last failure of a job that runs out of retries is its last "
          "attempt; a stale worker's outcome records nothing",
          "[storage][attempts]") {
  FOR_EACH_BACKEND();
  auto j = add(st, echo(0, 0, 0));
  REQUIRE(st.claim(w1, 1, lease)->size() == 1);
  // Someone else's word about attempt 1, and w1's about attempt 2: fenced.
  CHECK_FALSE(st.fail({j.id, 1}, w2, "not mine", false, 0)->applied);
  CHECK_FALSE(st.fail({j.id, 2}, w1, "no such attempt", false, 0)->applied);
  CHECK(*st.release(w2, {{j.id, 1}}) == 0);
  REQUIRE(st.fail({j.id, 1}, w1, "bad", true, 0)->applied);
  CHECK(must_get(st, j.id).status == job_status::failed);
  auto h = must_attempts(st, j.id);
  REQUIRE(h.attempts.size() == 1);
  CHECK(h.attempts[0].worker == w1);
  CHECK(h.attempts[0].outcome == attempt_outcome::failed);
  CHECK(h.attempts[0].error == "bad");
  // Retried by hand and run again: attempt 2 follows attempt 1.
  REQUIRE(st.retry(j.id));
  REQUIRE(st.claim(w2, 1, lease)->size() == 1);
  REQUIRE(*st.complete({j.id, 2}, w2, "{}"));
  h = must_attempts(st, j.id);
  REQUIRE(h.attempts.size() == 2);
  CHECK(h.attempts[0].error == "bad");
  CHECK(h.attempts[1].outcome == attempt_outcome::completed);
  CHECK(h.attempts[1].worker == w2);
}

TEST_CASE("changes by hand end the running attempt: cancelled with who and "
          "why, completed or failed by hand; a rerun keeps the completed one",
          "[storage][attempts]") {
  FOR_EACH_BACKEND();
  auto a = add(st, echo());
  auto b = add(st, echo());
  auto c = add(st, echo());
  auto started = clk.now_ms();
  REQUIRE(st.claim(w1, 3, lease)->size() == 3);
  clk.advance(50);
  REQUIRE(st.cancel(a.id, cancel_note("ops", "wrong input")));
  REQUIRE(st.update(b.id, to_status(job_status::completed)));
  REQUIRE(st.update(c.id, to_status(job_status::failed)));
  auto ha = must_attempts(st, a.id);
  REQUIRE(ha.attempts.size() == 1);
  CHECK(ha.attempts[0].outcome == attempt_outcome::cancelled);
  CHECK(ha.attempts[0].worker == w1);
  CHECK(ha.attempts[0].started_at == started);
  CHECK(ha.attempts[0].ended_at == started + 50);
  CHECK_THAT(ha.attempts[0].error,
             Catch::Contains("ops") && Catch::Contains("wrong input"));
  auto hb = must_attempts(st, b.id);
  REQUIRE(hb.attempts.size() == 1);
  CHECK(hb.attempts[0].outcome == attempt_outcome::completed);
  CHECK_THAT(hb.attempts[0].error, Catch::Contains("by hand"));
  auto hc = must_attempts(st, c.id);
  REQUIRE(hc.attempts.size() == 1);
  CHECK(hc.attempts[0].outcome == attempt_outcome::failed);
  CHECK_THAT(hc.attempts[0].error, Catch::Contains("by hand"));
  // The fenced worker's own word changes nothing, recorded or not.
  CHECK_FALSE(*st.complete({a.id, 1}, w1, "{}"));
  CHECK_FALSE(st.fail({c.id, 1}, w1, "late", false, 0)->applied);
  CHECK(must_attempts(st, c.id).attempts[0].error != "late");
  // A job completed by its worker and then run again by hand keeps the
  // completed attempt.
  auto d = add(st, echo());
  REQUIRE(st.claim(w2, 1, lease)->size() == 1);
  clk.advance(3);
  REQUIRE(*st.complete({d.id, 1}, w2, "{}"));
  auto done_at = clk.now_ms();
  clk.advance(10);
  REQUIRE(st.update(d.id, to_status(job_status::pending)));
  REQUIRE(st.claim(w1, 1, lease)->size() == 1);
  auto hd = must_attempts(st, d.id);
  REQUIRE(hd.attempts.size() == 2);
  CHECK(hd.attempts[0].outcome == attempt_outcome::completed);
  CHECK(hd.attempts[0].worker == w2);
  CHECK(hd.attempts[0].ended_at == done_at);
  CHECK(hd.attempts[1].outcome == attempt_outcome::running);
  CHECK(hd.attempts[1].worker == w1);
  // A cancelled PENDING job never ran: no attempt.
  auto e = add(st, echo(0, clk.now_ms() + 60'000));
  REQUIRE(st.cancel(e.id, cancel_note({}, {})));
  CHECK(must_attempts(st, e.id).attempts.empty());
}

TEST_CASE("attempts lists the newest 100, oldest first, and says older ones "
          "exist; a missing job is not_found",
          "[storage][attempts]") {
  FOR_EACH_BACKEND();
  auto j = add(st, echo());
  for (int i = 1; i <= max_attempts_listed + 5; ++i) {
    REQUIRE(st.claim(w1, 1, lease)->size() == 1);
    REQUIRE(*st.release(w1, {{j.id, i}}) == 1);
  }
  auto h = must_attempts(st, j.id);
  REQUIRE(h.attempts.size() == size_t{max_attempts_listed});
  CHECK(h.truncated);
  CHECK(h.attempts.front().attempt == 6);
  CHECK(h.attempts.back().attempt == max_attempts_listed + 5);
  auto few = must_attempts(st, j.id, 3);
  REQUIRE(few.attempts.size() == 3);
  CHECK(few.truncated);
  CHECK(few.attempts.front().attempt == max_attempts_listed + 3);
  // Exactly the limit: not truncated.
  REQUIRE(st.cancel(j.id, cancel_note({}, {}))); // out of the claims' way
  auto k = add(st, echo());
  REQUIRE(st.claim(w1, 1, lease)->size() == 1);
  REQUIRE(*st.release(w1, {{k.id, 1}}) == 1);
  REQUIRE(st.claim(w1, 1, lease)->size() == 1);
  auto two = must_attempts(st, k.id, 2);
  CHECK(two.attempts.size() == 2);
  CHECK_FALSE(two.truncated);
  auto one = must_attempts(st, k.id, 1);
  CHECK(one.attempts.size() == 1);
  CHECK(one.attempts[0].outcome == attempt_outcome::running);
  CHECK(one.truncated);
  auto missing = st.attempts("00000000000000000000000000", 10);
  REQUIRE_FALSE(missing);
  CHECK(code_of(missing.error()) == errc::not_found);
}

TEST_CASE("a job's attempts go with it, deleted by hand or by retention",
          "[storage][attempts]") {
  FOR_EACH_BACKEND();
  auto failed_twice = [&] {
    auto j = add(st, echo(0, 0, 1));
    for (int i = 1; i <= 2; ++i) {
      REQUIRE(st.claim(w1, 1, lease)->size() == 1);
      REQUIRE(st.fail({j.id, i}, w1, "boom", false, 0)->applied);
    }
    REQUIRE(must_get(st, j.id).status == job_status::failed);
    REQUIRE(must_attempts(st, j.id).attempts.size() == 2);
    return j;
  };
  auto a = failed_twice();
  auto b = failed_twice();
  clk.advance(1000);
  auto kept = failed_twice();
  REQUIRE(st.remove(a.id) == caf::error{});
  CHECK(code_of(st.attempts(a.id, 10).error()) == errc::not_found);
  CHECK(env->attempt_rows(a.id) == 0);
  CHECK(env->attempt_rows(b.id) == 2);
  REQUIRE(*st.prune(clk.now_ms() - 500, 100) == 1); // b, not kept
  CHECK(env->attempt_rows(b.id) == 0);
  CHECK(env->attempt_rows(kept.id) == 2);
  CHECK(must_attempts(st, kept.id).attempts.size() == 2);
}

// -- job types served by external workers ---------------------------------------

namespace {

new_job of_type(const std::string& type, int32_t priority = 0) {
  auto nj = echo(priority);
  nj.type = type;
  return nj;
}

std::vector<std::string> types_of(const std::vector<job>& jobs) {
  std::vector<std::string> out;
  for (auto& j : jobs)
    out.push_back(j.type);
  return out;
}

} // namespace

TEST_CASE("claim leaves external types' jobs alone; claim_types takes only "
          "the types asked, in claim order, paused ones excepted",
          "[storage][external]") {
  FOR_EACH_BACKEND();
  add(st, of_type("ECHO"));
  auto mail_low = add(st, of_type("SEND_MAIL", 1));
  auto mail_high = add(st, of_type("SEND_MAIL", 9));
  auto sms = add(st, of_type("SEND_SMS", 5));
  REQUIRE(st.declare_types({"SEND_MAIL", "SEND_SMS"}, {"ECHO"})
          == caf::error{});
  auto ext = st.external_types();
  REQUIRE(ext);
  CHECK(*ext == std::vector<std::string>{"SEND_MAIL", "SEND_SMS"});
  // In process: ECHO only.
  auto mine = st.claim(w1, 10, lease);
  REQUIRE(mine);
  CHECK(types_of(*mine) == std::vector<std::string>{"ECHO"});
  CHECK(st.claim(w1, 10, lease)->empty());
  // Nothing asked, nothing taken; a type nobody enqueued, nothing.
  CHECK(st.claim_types("ext-1", {}, 10, lease)->empty());
  CHECK(st.claim_types("ext-1", {"NOPE"}, 10, lease)->empty());
  // A paused type waits for external workers too.
  REQUIRE(st.pause_type("SEND_SMS", {}));
  CHECK(st.claim_types("ext-1", {"SEND_SMS"}, 10, lease)->empty());
  REQUIRE(*st.resume_type("SEND_SMS"));
  // Claim order across the types asked: priority first.
  auto got = st.claim_types("ext-1", {"SEND_MAIL", "SEND_SMS"}, 2, lease);
  REQUIRE(got);
  REQUIRE(got->size() == 2);
  CHECK((*got)[0].id == mail_high.id);
  CHECK((*got)[1].id == sms.id);
  for (auto& j : *got) {
    CHECK(j.status == job_status::processing);
    CHECK(j.locked_by == "ext-1");
    CHECK(j.attempt == 1);
    CHECK(j.lease_expires_at == clk.now_ms() + lease);
  }
  auto rest = st.claim_types("ext-2", {"SEND_MAIL"}, 10, lease);
  REQUIRE(rest);
  REQUIRE(rest->size() == 1);
  CHECK(rest->front().id == mail_low.id);
  // Never twice: nothing left for anyone.
  CHECK(st.claim_types("ext-1", {"SEND_MAIL", "SEND_SMS"}, 10, lease)
          ->empty());
  auto counts = st.counts();
  REQUIRE(counts);
  CHECK(counts->count.size() >= 1);
}

TEST_CASE("an external worker's attempt is fenced, retried, rescued and "
          "recorded like any other",
          "[storage][external]") {
  FOR_EACH_BACKEND();
  REQUIRE(st.declare_types({"SEND_MAIL"}, {}) == caf::error{});
  auto j = add(st, of_type("SEND_MAIL"));
  REQUIRE(st.claim_types("ext-1", {"SEND_MAIL"}, 1, lease)->size() == 1);
  // Another worker's word, or a stale attempt's, changes nothing.
  CHECK_FALSE(*st.complete({j.id, 1}, "ext-2", "{}"));
  CHECK_FALSE(*st.complete({j.id, 2}, "ext-1", "{}"));
  CHECK(st.heartbeat("ext-2", {{j.id, 1}}, lease)->empty());
  CHECK(st.heartbeat("ext-1", {{j.id, 1}}, lease)->size() == 1);
  auto f = st.fail({j.id, 1}, "ext-1", "smtp said 451", false, 1000);
  REQUIRE(f);
  CHECK(f->applied);
  CHECK(f->status == job_status::pending);
  clk.advance(1000);
  // The retry goes to an external worker again, not in process.
  CHECK(st.claim(w1, 10, lease)->empty());
  REQUIRE(st.claim_types("ext-2", {"SEND_MAIL"}, 1, lease)->size() == 1);
  // ext-2 vanishes: its lease runs out and the job comes back.
  clk.advance(lease + 1);
  REQUIRE(*st.rescue_expired() == 1);
  REQUIRE(st.claim_types("ext-3", {"SEND_MAIL"}, 1, lease)->size() == 1);
  REQUIRE(*st.complete({j.id, 3}, "ext-3", R"({"sent":true})"));
  auto h = must_attempts(st, j.id);
  REQUIRE(h.attempts.size() == 3);
  CHECK(h.attempts[0].worker == "ext-1");
  CHECK(h.attempts[0].outcome == attempt_outcome::failed);
  CHECK(h.attempts[1].worker == "ext-2");
  CHECK(h.attempts[1].outcome == attempt_outcome::lease_expired);
  CHECK(h.attempts[2].worker == "ext-3");
  CHECK(h.attempts[2].outcome == attempt_outcome::completed);
  CHECK(must_get(st, j.id).result == R"({"sent":true})");
}

TEST_CASE("declare_types is seen by every connection; a type run in process "
          "again loses its mark; bad names are refused, nothing changed",
          "[storage][external]") {
  FOR_EACH_BACKEND();
  auto j = add(st, of_type("SEND_MAIL"));
  REQUIRE(st.declare_types({"SEND_MAIL"}, {}) == caf::error{});
  auto other = env->open_again();
  CHECK(*other->external_types() == std::vector<std::string>{"SEND_MAIL"});
  CHECK(other->claim(w2, 10, lease)->empty());
  // Declared again (another process starting): still one mark.
  REQUIRE(other->declare_types({"SEND_MAIL"}, {"ECHO"}) == caf::error{});
  CHECK(st.external_types()->size() == 1);
  for (auto bad : {std::string{}, std::string(101, 'T'),
                   std::string{"A\nB"}}) {
    auto err = st.declare_types({"SEND_SMS", bad}, {});
    REQUIRE(err);
    CHECK(code_of(err) == errc::invalid);
    CHECK_THAT(message_of(err), Catch::StartsWith("type: "));
    err = st.declare_types({}, {bad});
    CHECK(code_of(err) == errc::invalid);
  }
  CHECK(*st.external_types() == std::vector<std::string>{"SEND_MAIL"});
  // Moved back into jobd: claim() takes its jobs again.
  REQUIRE(other->declare_types({}, {"SEND_MAIL"}) == caf::error{});
  CHECK(st.external_types()->empty());
  auto got = st.claim(w1, 10, lease);
  REQUIRE(got);
  REQUIRE(got->size() == 1);
  CHECK(got->front().id == j.id);
}

namespace {

worker_info sighting(const std::string& id, const std::string& host = {},
                     std::vector<std::string> types = {}) {
  worker_info w;
  w.id = id;
  w.host = host;
  w.types = std::move(types);
  return w;
}

worker_list must_workers(job_store& st) {
  auto res = st.workers();
  REQUIRE(res);
  return *res;
}

} // namespace

TEST_CASE("workers: a sighting is stored with its host and types, kept when "
          "a later one names neither, and listed newest first with the jobs "
          "each worker holds",
          "[storage][workers]") {
  FOR_EACH_BACKEND();
  CHECK(must_workers(st).workers.empty());
  auto t0 = clk.now_ms();
  REQUIRE(st.see_workers({sighting("mail-1", "box-a", {"SEND_MAIL"}),
                          sighting("sms-1", "box-b",
                                   {"SEND_SMS", "SEND_MAIL"})})
          == caf::error{});
  clk.advance(2000);
  // A heartbeat names neither host nor types: both are kept.
  REQUIRE(st.see_workers({sighting("sms-1")}) == caf::error{});
  auto l = must_workers(st);
  CHECK(l.as_of == clk.now_ms());
  CHECK_FALSE(l.truncated);
  REQUIRE(l.workers.size() == 2);
  auto& sms = l.workers[0];
  CHECK(sms.id == "sms-1");
  CHECK(sms.host == "box-b");
  CHECK(sms.types == std::vector<std::string>{"SEND_SMS", "SEND_MAIL"});
  CHECK(sms.first_seen_at == t0);
  CHECK(sms.last_seen_at == t0 + 2000);
  CHECK(sms.online);
  CHECK(sms.jobs.empty());
  CHECK(l.workers[1].id == "mail-1");
  CHECK(l.workers[1].last_seen_at == t0);
  // A new host or types replace the old.
  REQUIRE(st.see_workers({sighting("mail-1", "box-c", {"SEND_SMS"})})
          == caf::error{});
  l = must_workers(st);
  CHECK(l.workers[0].id == "mail-1");
  CHECK(l.workers[0].host == "box-c");
  CHECK(l.workers[0].types == std::vector<std::string>{"SEND_SMS"});
  CHECK(l.workers[0].first_seen_at == t0);
  // Jobs in hand: the PROCESSING jobs under the worker's id, oldest claim
  // first; a settled or rescued job is no longer in hand.
  REQUIRE(st.declare_types({"SEND_MAIL"}, {}) == caf::error{});
  auto a = add(st, of_type("SEND_MAIL", 9));
  auto b = add(st, of_type("SEND_MAIL"));
  auto c = add(st, of_type("SEND_MAIL"));
  REQUIRE(st.claim_types("mail-1", {"SEND_MAIL"}, 1, lease)->size() == 1);
  clk.advance(10);
  REQUIRE(st.claim_types("mail-1", {"SEND_MAIL"}, 1, lease)->size() == 1);
  REQUIRE(st.claim_types("unlisted", {"SEND_MAIL"}, 1, lease)->size() == 1);
  l = must_workers(st);
  REQUIRE(l.workers.size() == 2);
  CHECK(l.workers[0].jobs == std::vector<std::string>{a.id, b.id});
  CHECK(l.workers[1].jobs.empty());
  REQUIRE(*st.complete({a.id, 1}, "mail-1", "{}"));
  l = must_workers(st);
  CHECK(l.workers[0].jobs == std::vector<std::string>{b.id});
  // A worker holding a job counts as online however long it is silent;
  // one holding none goes offline after worker_online_ms.
  clk.advance(worker_online_ms + 1);
  l = must_workers(st);
  CHECK(l.workers[0].online);
  CHECK_FALSE(l.workers[1].online);
  clk.advance(lease);
  REQUIRE(*st.rescue_expired() == 2);
  l = must_workers(st);
  CHECK(l.workers[0].jobs.empty());
  CHECK_FALSE(l.workers[0].online);
  (void) c;
}

TEST_CASE("workers: every connection sees them; one not seen for a day is "
          "forgotten at the next sighting, and an old one is not listed "
          "meanwhile",
          "[storage][workers]") {
  FOR_EACH_BACKEND();
  REQUIRE(st.see_workers({sighting("old", "h", {"T"})}) == caf::error{});
  auto other = env->open_again();
  auto seen = other->workers();
  REQUIRE(seen);
  REQUIRE(seen->workers.size() == 1);
  CHECK(seen->workers[0].id == "old");
  clk.advance(worker_forget_ms - 1);
  REQUIRE(other->see_workers({sighting("new")}) == caf::error{});
  CHECK(must_workers(st).workers.size() == 2);
  clk.advance(2);
  // Past the day: not listed, even before anyone forgets it.
  auto l = must_workers(st);
  REQUIRE(l.workers.size() == 1);
  CHECK(l.workers[0].id == "new");
  REQUIRE(st.see_workers({sighting("new")}) == caf::error{});
  clk.advance(1);
  // Gone from the table: seen again, it starts over.
  REQUIRE(st.see_workers({sighting("old")}) == caf::error{});
  l = must_workers(st);
  REQUIRE(l.workers.size() == 2);
  CHECK(l.workers[0].id == "old");
  CHECK(l.workers[0].host.empty());
  CHECK(l.workers[0].types.empty());
  CHECK(l.workers[0].first_seen_at == clk.now_ms());
}

TEST_CASE("workers: at most 500 are listed, the most recently seen, and the "
          "list says more exist",
          "[storage][workers]") {
  FOR_EACH_BACKEND();
  std::vector<worker_info> many;
  for (int i = 0; i < max_workers_listed + 1; ++i)
    many.push_back(sighting("w-" + std::to_string(i)));
  REQUIRE(st.see_workers(many) == caf::error{});
  clk.advance(1);
  REQUIRE(st.see_workers({sighting("w-7")}) == caf::error{});
  auto l = must_workers(st);
  CHECK(l.truncated);
  REQUIRE(l.workers.size() == static_cast<size_t>(max_workers_listed));
  CHECK(l.workers[0].id == "w-7");
}

TEST_CASE("workers: a bad sighting is refused, naming the field, and none of "
          "its batch is stored",
          "[storage][workers]") {
  FOR_EACH_BACKEND();
  struct bad_case {
    worker_info w;
    const char* field;
  };
  std::vector<bad_case> cases{
    {sighting(""), "worker: "},
    {sighting(std::string(101, 'w')), "worker: "},
    {sighting("a\tb"), "worker: "},
    {sighting("ok", std::string(max_worker_host_bytes + 1, 'h')), "host: "},
    {sighting("ok", "a\nb"), "host: "},
    {sighting("ok", "h", {""}), "types: "},
    {sighting("ok", "h", {"A\x01"}), "types: "},
  };
  for (auto& c : cases) {
    INFO(c.field);
    auto err = st.see_workers({sighting("good"), c.w});
    REQUIRE(err);
    CHECK(code_of(err) == errc::invalid);
    CHECK_THAT(message_of(err), Catch::StartsWith(c.field));
  }
  CHECK(must_workers(st).workers.empty());
}
