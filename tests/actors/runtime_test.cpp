// The worker runtime on the deterministic scheduler: scheduling, retries
// with backoff, lease rescue and handler supervision, without sleeping.
#include <catch2/catch.hpp>

#include <caf/send.hpp>

#include "actors/log.hpp"
#include "handlers/echo.hpp"
#include "support/actor_fixture.hpp"
#include "support/flaky_store.hpp"
#include "support/log_capture.hpp"
#include "support/temp_dir.hpp"

using namespace jobd;
using namespace jobd::test;

namespace {

// Fails its first `failures` runs by throwing something that is not a
// std::exception, which kills the handler actor; then succeeds.
class crashing_handler final : public job_handler {
public:
  explicit crashing_handler(int failures) : left_(failures) {}
  outcome run(const job&, run_context&) override {
    if (left_-- > 0)
      throw 42;
    return outcome::success(R"({"survived":true})");
  }

private:
  std::atomic<int> left_;
};

// Fails retryably with a Retry-After, once.
class retry_after_handler final : public job_handler {
public:
  outcome run(const job&, run_context&) override {
    if (calls_++ == 0)
      return outcome::failure("rate limited", false, 20'000);
    return outcome::success("{}");
  }
  std::atomic<int> calls_{0};
};

// Reports progress `reports` times ("i of n"), then succeeds, or fails
// retryably when `fail` is set (then saying "i of n on attempt a").
class reporting_handler final : public job_handler {
public:
  explicit reporting_handler(int reports, bool fail = false)
    : reports_(reports), fail_(fail) {}
  outcome run(const job& j, run_context& ctx) override {
    auto suffix = fail_ ? " on attempt " + std::to_string(j.attempt) : "";
    for (int i = 1; i <= reports_; ++i)
      ctx.report_progress(static_cast<double>(i) / reports_,
                          std::to_string(i) + " of "
                            + std::to_string(reports_) + suffix);
    if (fail_)
      return outcome::failure("gave up after reporting");
    return outcome::success("{}");
  }

private:
  int reports_;
  bool fail_;
};

struct runtime_fixture : actor_fixture {
  temp_dir dir;
  store_options opts;
  std::unique_ptr<job_store> reader; // a second connection, like another process
  runtime rt;
  runtime_config rcfg;
  std::shared_ptr<handler_registry> handlers = std::make_shared<handler_registry>();

  runtime_fixture() {
    set_log_quiet(true);
    opts.url = dir.file("jobs.db");
    opts.synchronous = "NORMAL";
    rcfg.store.detached = false;
    rcfg.store.worker_id = "test-worker";
    rcfg.store.lease_ms = 30'000;
    rcfg.pool.detached = false;
    rcfg.pool.workers = 2;
    rcfg.pool.heartbeat_interval_ms = 10'000;
    rcfg.scheduler.poll_interval_ms = 250;
    rcfg.scheduler.rescue_interval_ms = 5'000;
    rcfg.retry.jitter = 0;
    handlers->add("ECHO", std::make_shared<echo_handler>());
  }

  ~runtime_fixture() {
    for (auto& a : actors_of(rt))
      caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
    run();
    set_log_quiet(false);
  }

  flaky_store* flaky = nullptr;

  void start() {
    auto st = open_store(opts, clock);
    REQUIRE(st);
    auto wrapped = std::make_unique<flaky_store>(std::move(*st));
    flaky = wrapped.get();
    rt = start_runtime(sys, std::move(wrapped), handlers, rcfg, clock);
    auto r = open_store(opts, clock);
    REQUIRE(r);
    reader = std::move(*r);
    run();
  }

  std::string enqueue(const std::string& type, const std::string& payload,
                      int32_t max_retries = 3) {
    new_job nj;
    nj.type = type;
    nj.payload = payload;
    nj.max_retries = max_retries;
    std::string id;
    self->send(rt.store, enqueue_atom::value, std::vector<new_job>{nj});
    run();
    self->receive([&](std::vector<job>& jobs) { id = jobs.at(0).id; },
                  [&](caf::error& err) { FAIL(message_of(err)); },
                  caf::after(std::chrono::seconds(0)) >>
                    [] { FAIL("no reply to enqueue"); });
    return id;
  }

  job get(const std::string& id) {
    auto j = reader->get(id);
    REQUIRE(j);
    return *j;
  }

  /// A change feed observer as the HTTP server's: it wants the feed while
  /// `wanted` is set (a stream is open) and keeps every page it is given.
  struct feed_watch {
    std::shared_ptr<std::atomic<bool>> wanted
      = std::make_shared<std::atomic<bool>>(false);
    std::shared_ptr<std::vector<change_page>> pages
      = std::make_shared<std::vector<change_page>>();
  };

  feed_watch watch_feed() {
    feed_watch w;
    caf::anon_send(rt.store, caf::subscribe_atom::value,
                   feed_observer{[wanted = w.wanted] { return wanted->load(); },
                                 [pages = w.pages](const change_page& p) {
                                   pages->push_back(p);
                                 }});
    run();
    return w;
  }

  /// A stream joins the feed after position `after` (-1: from now), as
  /// join_feed does: replayed pages go to `replayed` (none may come when
  /// it is null), then `w` wants the feed. Returns the position it joined
  /// at.
  int64_t join(feed_watch& w, int64_t after,
               std::vector<change_page>* replayed) {
    int64_t through = -2;
    caf::anon_send(rt.store, feed_atom::value,
                   feed_resume{after,
                               [replayed](const change_page& p) {
                                 if (!replayed)
                                   FAIL("replay");
                                 replayed->push_back(p);
                               },
                               [&through, wanted = w.wanted](int64_t t) {
                                 through = t;
                                 wanted->store(true);
                               }});
    run();
    return through;
  }
};

} // namespace

TEST_CASE_METHOD(runtime_fixture,
                 "an enqueued job wakes the scheduler and completes at once",
                 "[actors]") {
  start();
  auto id = enqueue("ECHO", R"({"hello":"world"})");
  // No timer fired: the enqueue itself woke the scheduler.
  auto j = get(id);
  CHECK(j.status == job_status::completed);
  CHECK(j.result == R"({"hello":"world"})");
  CHECK(j.attempt == 1);
}

TEST_CASE_METHOD(runtime_fixture,
                 "jobs enqueued by another process are found by the poll",
                 "[actors]") {
  start();
  new_job nj;
  nj.type = "ECHO";
  auto other = reader->enqueue({nj});
  REQUIRE(other);
  auto id = other->front().id;
  run();
  CHECK(get(id).status == job_status::pending); // nobody told us yet
  advance(250);
  CHECK(get(id).status == job_status::completed);
}

TEST_CASE_METHOD(runtime_fixture,
                 "a scheduled job runs when due, not before", "[actors]") {
  start();
  new_job nj;
  nj.type = "ECHO";
  nj.scheduled_for = clock->now_ms() + 2'000;
  self->send(rt.store, enqueue_atom::value, std::vector<new_job>{nj});
  run();
  std::string id;
  self->receive([&](std::vector<job>& jobs) { id = jobs.at(0).id; });
  advance(1'750);
  CHECK(get(id).status == job_status::pending);
  advance(250);
  CHECK(get(id).status == job_status::completed);
}

TEST_CASE_METHOD(runtime_fixture,
                 "failures retry with backoff 1s, 2s, 4s, then FAIL",
                 "[actors]") {
  start();
  auto id = enqueue("ECHO", R"({"fail":true,"error":"boom"})", 3);
  for (int retry = 1; retry <= 3; ++retry) {
    auto j = get(id);
    REQUIRE(j.status == job_status::pending);
    CHECK(j.retry_count == retry);
    CHECK(j.error == "boom");
    ms_t backoff = ms_t{1000} << (retry - 1);
    CHECK(j.scheduled_for == clock->now_ms() + backoff);
    // Just before the backoff has passed nothing runs; when due, it runs.
    advance(backoff - 1);
    CHECK(get(id).retry_count == retry);
    CHECK(get(id).status == job_status::pending);
    advance(1);
  }
  auto j = get(id);
  CHECK(j.status == job_status::failed);
  CHECK(j.retry_count == 3);
  CHECK(j.attempt == 4);
  CHECK(j.error == "boom");
}

TEST_CASE_METHOD(runtime_fixture, "backoff is capped at 30 seconds",
                 "[actors]") {
  retry_config rc;
  rc.jitter = 0;
  CHECK(backoff_for(0, rc) == 1'000);
  CHECK(backoff_for(1, rc) == 2'000);
  CHECK(backoff_for(4, rc) == 16'000);
  CHECK(backoff_for(5, rc) == 30'000);
  CHECK(backoff_for(60, rc) == 30'000);
  rc.jitter = 0.2;
  CHECK(backoff_for(5, rc, 0.0) == 30'000);
  CHECK(backoff_for(5, rc, 1.0) == 24'000);
  CHECK(backoff_for(2, rc, 0.5) == 3'600);
}

TEST_CASE_METHOD(runtime_fixture,
                 "a permanent failure is FAILED at once, without retries",
                 "[actors]") {
  start();
  auto id = enqueue("ECHO", R"({"fail":true,"permanent":true,"error":"bad"})");
  auto j = get(id);
  CHECK(j.status == job_status::failed);
  CHECK(j.retry_count == 0);
  CHECK(j.error == "bad");
}

TEST_CASE_METHOD(runtime_fixture,
                 "an unknown job type fails permanently, naming the type",
                 "[actors]") {
  start();
  auto id = enqueue("NO_SUCH_TYPE", "{}");
  auto j = get(id);
  CHECK(j.status == job_status::failed);
  CHECK(j.retry_count == 0);
  CHECK_THAT(j.error, Catch::Contains("NO_SUCH_TYPE")
                        && Catch::Contains("ECHO"));
}

TEST_CASE_METHOD(runtime_fixture,
                 "Retry-After from a handler delays the retry beyond backoff",
                 "[actors]") {
  auto h = std::make_shared<retry_after_handler>();
  handlers->add("LIMITED", h);
  start();
  auto id = enqueue("LIMITED", "{}");
  auto j = get(id);
  REQUIRE(j.status == job_status::pending);
  CHECK(j.scheduled_for == clock->now_ms() + 20'000);
  advance(19'000);
  CHECK(get(id).status == job_status::pending);
  advance(1'000);
  CHECK(get(id).status == job_status::completed);
  CHECK(h->calls_ == 2);
}

TEST_CASE_METHOD(runtime_fixture,
                 "a handler that dies is replaced; its job fails with the "
                 "reason and is retried",
                 "[actors]") {
  handlers->add("CRASHY", std::make_shared<crashing_handler>(1));
  start();
  auto id = enqueue("CRASHY", "{}");
  auto j = get(id);
  REQUIRE(j.status == job_status::pending);
  CHECK(j.retry_count == 1);
  CHECK_THAT(j.error, Catch::Contains("handler crashed"));
  advance(1'000);
  j = get(id);
  CHECK(j.status == job_status::completed);
  CHECK(j.result == R"({"survived":true})");
  // The pool is back to full strength: two ECHO jobs run side by side.
  self->send(rt.pool, status_atom::value);
  run();
  self->receive([](int32_t running, int32_t queued) {
    CHECK(running == 0);
    CHECK(queued == 0);
  });
  auto a = enqueue("ECHO", "{}");
  auto b = enqueue("ECHO", "{}");
  CHECK(get(a).status == job_status::completed);
  CHECK(get(b).status == job_status::completed);
}

TEST_CASE_METHOD(runtime_fixture,
                 "a job whose worker died is rescued after its lease and runs "
                 "again",
                 "[actors]") {
  start();
  new_job nj;
  nj.type = "ECHO";
  REQUIRE(reader->enqueue({nj}));
  // Another process claims it and dies (never heartbeats).
  auto claimed = reader->claim("dead-worker", 1, 30'000);
  REQUIRE(claimed);
  REQUIRE(claimed->size() == 1);
  auto id = claimed->front().id;
  advance(29'999);
  CHECK(get(id).status == job_status::processing);
  // Lease expires at 30 000; the sweep every 5 s picks it up by 35 000.
  log_capture log;
  advance(5'001);
  // One line for the job, naming it and the worker that lost it.
  CHECK(log.count("job rescued id=" + id + " type=ECHO attempt=1 "
                  "status=PENDING retries=1 error=\"lease expired: worker "
                  "dead-worker stopped renewing attempt 1") == 1);
  auto j = get(id);
  CHECK(j.status == job_status::completed);
  CHECK(j.retry_count == 1);
  CHECK(j.attempt == 2);
  CHECK(j.locked_by.empty());
}

namespace {

// Advances the fixture's manual clock by `ms` as it runs: with the pool
// timing runs by that clock, each of its jobs "takes" ms.
class slow_handler final : public job_handler {
public:
  explicit slow_handler(std::shared_ptr<manual_clock> c, ms_t ms)
    : clock_(std::move(c)), ms_(ms) {}
  outcome run(const job&, run_context&) override {
    clock_->advance(ms_);
    return outcome::success("{}");
  }

private:
  std::shared_ptr<manual_clock> clock_;
  ms_t ms_;
};

int64_t count_of(job_store& st, const char* status) {
  job_filter f;
  f.status = status;
  f.limit = 100;
  auto p = st.list(f);
  REQUIRE(p);
  return static_cast<int64_t>(p->jobs.size());
}

// Enqueues `n` ECHO jobs as another process would, lets the poll find them
// and steps the system message by message until idle; returns the most
// jobs PROCESSING at any step.
int64_t peak_processing(runtime_fixture& f, size_t n) {
  std::vector<new_job> many(n);
  for (auto& nj : many)
    nj.type = "ECHO";
  REQUIRE(f.reader->enqueue(many));
  f.sched.advance_time(std::chrono::milliseconds(250));
  f.clock->advance(250);
  int64_t peak = 0;
  while (f.sched.try_run_once())
    peak = std::max(peak, count_of(*f.reader, "PROCESSING"));
  return peak;
}

} // namespace

TEST_CASE_METHOD(runtime_fixture,
                 "without prefetch the scheduler claims no more jobs than "
                 "there are free handlers",
                 "[actors]") {
  rcfg.pool.prefetch = 0;
  start();
  // At no point may more than two jobs (the pool size) be PROCESSING.
  auto max_processing = peak_processing(*this, 5);
  CHECK(max_processing <= 2);
  CHECK(max_processing >= 1);
  CHECK(count_of(*reader, "COMPLETED") == 5);
}

TEST_CASE_METHOD(runtime_fixture,
                 "while jobs are short the pool prefetches up to "
                 "worker.prefetch jobs beyond its handlers",
                 "[actors]") {
  rcfg.pool.prefetch = 3;
  rcfg.pool.run_clock = clock; // jobs take 0 ms by it: short
  start();
  auto max_processing = peak_processing(*this, 12);
  // Two handlers plus three prefetched, never more; and more than the two
  // handlers at some point (before any job finished, none were).
  CHECK(max_processing <= 5);
  CHECK(max_processing > 2);
  CHECK(count_of(*reader, "COMPLETED") == 12);
}

TEST_CASE_METHOD(runtime_fixture,
                 "a large prefetch is claimed 100 jobs per transaction",
                 "[actors]") {
  rcfg.pool.prefetch = 1000;
  rcfg.pool.run_clock = clock; // jobs take 0 ms by it: short
  start();
  enqueue("ECHO", "{}"); // opens the allowance to the cap
  std::vector<new_job> many(450);
  for (auto& nj : many)
    nj.type = "ECHO";
  self->send(rt.store, enqueue_atom::value, many);
  run();
  self->receive([](std::vector<job>&) {}, [](caf::error&) {});
  CHECK(count_of(*reader, "PENDING") == 0);
  CHECK(count_of(*reader, "PROCESSING") == 0);
  // Short writes, so other processes on the database get their turn; and
  // full ones: the allowance reached past the two handlers.
  CHECK(flaky->max_claim_limit == 100);
}

TEST_CASE_METHOD(runtime_fixture,
                 "when jobs turn slow the pool hands prefetched jobs back "
                 "instead of holding them",
                 "[actors]") {
  rcfg.pool.prefetch = 10;
  rcfg.pool.prefetch_wait_ms = 20;
  rcfg.pool.run_clock = clock;
  // Each SLOW job takes 10 s by the clock: two handlers x 20 ms of waiting
  // allow no job of that length to wait in the queue.
  handlers->add("SLOW", std::make_shared<slow_handler>(clock, 10'000));
  start();
  // A short job first: the allowance opens to the cap (10).
  enqueue("ECHO", "{}");
  REQUIRE(count_of(*reader, "COMPLETED") == 1);
  std::vector<new_job> slow(12);
  for (auto& nj : slow)
    nj.type = "SLOW";
  // Enqueued through the store actor, which wakes the scheduler: it claims
  // 2 + 10 of them at once.
  self->send(rt.store, enqueue_atom::value, slow);
  int64_t max_processing = 0;
  bool handed_back = false;
  int64_t processing_after = 0; // most PROCESSING once some were handed back
  while (sched.try_run_once()) {
    auto processing = count_of(*reader, "PROCESSING");
    max_processing = std::max(max_processing, processing);
    if (count_of(*reader, "COMPLETED") > 1
        && count_of(*reader, "PENDING") > 0)
      handed_back = true;
    if (handed_back)
      processing_after = std::max(processing_after, processing);
  }
  self->receive([](std::vector<job>&) {}, [](caf::error&) {});
  CHECK(max_processing == 12);
  // After the first slow job finished, the queued ones went back to PENDING
  // and from then on the pool held only what its handlers run.
  CHECK(handed_back);
  CHECK(processing_after <= 2);
  run();
  CHECK(count_of(*reader, "COMPLETED") == 13);
  // Handing back is not a failure: no retry was counted.
  job_filter f;
  f.type = "SLOW";
  f.limit = 100;
  auto p = reader->list(f);
  REQUIRE(p);
  for (auto& j : p->jobs)
    CHECK(j.retry_count == 0);
}

TEST_CASE_METHOD(runtime_fixture,
                 "an outcome that meets a database restart is written once "
                 "the database is back",
                 "[actors]") {
  start();
  SECTION("a completion") {
    flaky->fail_completes = 2;
    auto id = enqueue("ECHO", R"({"n":1})");
    CHECK(get(id).status == job_status::processing);
    advance(1'000); // first retry: still down
    CHECK(get(id).status == job_status::processing);
    advance(2'000); // second retry: back
    auto j = get(id);
    CHECK(j.status == job_status::completed);
    CHECK(j.attempt == 1); // kept, not run again
    CHECK(j.retry_count == 0);
  }
  SECTION("a failure") {
    flaky->fail_fails = 1;
    auto id = enqueue("ECHO", R"({"fail":true,"error":"boom"})");
    CHECK(get(id).status == job_status::processing);
    advance(1'000);
    auto j = get(id);
    CHECK(j.status == job_status::pending);
    CHECK(j.retry_count == 1);
    CHECK(j.error == "boom");
  }
}

TEST_CASE_METHOD(runtime_fixture,
                 "a claim that meets a database restart is tried again in a "
                 "second, not at the next poll",
                 "[actors]") {
  // Every transient error (is_transient), not only a lost connection.
  auto code = GENERATE(errc::unavailable, errc::busy, errc::io, errc::full);
  INFO("claim error: " << to_string(code));
  rcfg.scheduler.poll_interval_ms = 60'000;
  start();
  flaky->claim_error = code;
  flaky->fail_claims = 1;
  auto id = enqueue("ECHO", "{}"); // the wake's claim fails
  CHECK(get(id).status == job_status::pending);
  advance(1'000);
  CHECK(get(id).status == job_status::completed);
}

TEST_CASE_METHOD(runtime_fixture,
                 "the store actor reads the change feed only while an "
                 "observer wants it: its own changes after each commit, "
                 "other processes' every feed_poll_ms, in commit order",
                 "[actors][feed]") {
  rcfg.store.feed_poll_ms = 100;
  start();
  auto feed = watch_feed();
  auto& wanted = feed.wanted;
  auto& pages = feed.pages;
  // Nobody wants it: nothing is read, however much changes.
  auto unseen = enqueue("ECHO", "{}");
  advance(1'000);
  CHECK(get(unseen).status == job_status::completed);
  CHECK(pages->empty());
  // A stream joins (fresh, after = -1): from now on.
  auto through = join(feed, -1, nullptr);
  CHECK(pages->empty());
  auto pos = reader->change_position();
  REQUIRE(pos);
  CHECK(through == *pos);
  // Another process's change arrives with the next poll, not before.
  new_job later;
  later.type = "ECHO";
  later.scheduled_for = clock->now_ms() + 3'600'000;
  auto theirs = reader->enqueue({later});
  REQUIRE(theirs);
  run();
  CHECK(pages->empty());
  advance(100);
  REQUIRE(pages->size() == 1);
  REQUIRE(pages->back().changes.size() == 1);
  CHECK(pages->back().changes[0].job.id == theirs->front().id);
  CHECK(pages->back().changes[0].job.status == job_status::pending);
  // Our own job: read after each of our commits, as it runs.
  pages->clear();
  auto ours = enqueue("ECHO", "{}");
  advance(1'000);
  CHECK(get(ours).status == job_status::completed);
  std::vector<job_status> seen;
  int64_t last = 0;
  for (auto& p : *pages)
    for (auto& c : p.changes) {
      CHECK(c.seq > last);
      last = c.seq;
      if (c.job.id == ours)
        seen.push_back(c.job.status);
    }
  REQUIRE(!seen.empty());
  CHECK(seen.front() == job_status::pending);
  CHECK(seen.back() == job_status::completed);
  CHECK(std::is_sorted(seen.begin(), seen.end(),
                       [](job_status a, job_status b) {
                         return static_cast<int>(a) < static_cast<int>(b);
                       }));
  // Nobody wants it again: the polling stops.
  wanted->store(false);
  advance(100);
  pages->clear();
  REQUIRE(reader->enqueue({later}));
  advance(1'000);
  CHECK(pages->empty());
}

TEST_CASE_METHOD(runtime_fixture,
                 "a stream that resumes after a feed position gets what it "
                 "missed, then joins the live feed with nothing lost",
                 "[actors][feed]") {
  rcfg.store.feed_poll_ms = 100;
  start();
  auto feed = watch_feed();
  auto& wanted = feed.wanted;
  auto& live = feed.pages;
  auto start_pos = reader->change_position();
  REQUIRE(start_pos);
  new_job later;
  later.type = "ECHO";
  later.scheduled_for = clock->now_ms() + 3'600'000;
  auto resume = [&](int64_t after, std::vector<change_page>& replayed) {
    return join(feed, after, &replayed);
  };
  SECTION("the missed changes, then live ones") {
    auto missed = reader->enqueue({later, later, later});
    REQUIRE(missed);
    std::vector<change_page> replayed;
    auto through = resume(*start_pos, replayed);
    std::vector<std::string> ids;
    for (auto& p : replayed) {
      CHECK_FALSE(p.gap);
      for (auto& c : p.changes)
        ids.push_back(c.job.id);
    }
    CHECK(ids == std::vector<std::string>{missed->at(0).id, missed->at(1).id,
                                          missed->at(2).id});
    auto pos = reader->change_position();
    REQUIRE(pos);
    CHECK(through == *pos);
    auto next = reader->enqueue({later});
    REQUIRE(next);
    advance(100);
    std::vector<std::string> live_ids;
    for (auto& p : *live)
      for (auto& c : p.changes)
        if (c.seq > through)
          live_ids.push_back(c.job.id);
    CHECK(live_ids == std::vector<std::string>{next->front().id});
  }
  SECTION("a commit between the feed position and the replay's read: the "
          "replay holds it, and the stream is told to skip it live") {
    auto missed = reader->enqueue({later});
    REQUIRE(missed);
    std::string racer;
    flaky->before_changes = [&] {
      auto r = reader->enqueue({later});
      REQUIRE(r);
      racer = r->front().id;
    };
    std::vector<change_page> replayed;
    auto through = resume(*start_pos, replayed);
    int64_t racer_seq = -1;
    for (auto& p : replayed)
      for (auto& c : p.changes)
        if (c.job.id == racer)
          racer_seq = c.seq;
    REQUIRE(racer_seq > 0);
    CHECK(through >= racer_seq);
    // The live feed started before the racer, so it brings it again: a
    // stream drops what is at or before `through`.
    advance(100);
    bool again = false;
    for (auto& p : *live)
      for (auto& c : p.changes)
        again = again || c.job.id == racer;
    CHECK(again);
  }
  SECTION("a position ahead of the feed: a gap, then live") {
    std::vector<change_page> replayed;
    resume(*start_pos + 1'000, replayed);
    REQUIRE(replayed.size() == 1);
    CHECK(replayed[0].gap);
    CHECK(wanted->load());
  }
  SECTION("more than 20 pages missed: a gap after the first 20") {
    for (int i = 0; i < 21; ++i)
      REQUIRE(reader->enqueue(std::vector<new_job>(500, later)));
    std::vector<change_page> replayed;
    resume(*start_pos, replayed);
    REQUIRE(replayed.size() == 21);
    for (int i = 0; i < 20; ++i) {
      CHECK(replayed[i].changes.size() == 500);
      CHECK_FALSE(replayed[i].gap);
    }
    CHECK(replayed[20].gap);
    CHECK(replayed[20].changes.empty());
  }
}

TEST_CASE_METHOD(runtime_fixture,
                 "an outage: claims back off from 1 s to 30 s, with one log "
                 "line when it starts and one when it ends",
                 "[actors][outage]") {
  rcfg.scheduler.poll_interval_ms = 250;
  start();
  log_capture log;
  flaky->fail_claims = 1'000'000; // the database is down
  auto before = flaky->claims.load();
  auto theirs = reader->enqueue({new_job{"ECHO"}}); // due: claims try
  REQUIRE(theirs);
  for (int i = 0; i < 240; ++i) // a minute of polls every 250 ms
    advance(250);
  auto tries = flaky->claims.load() - before;
  // 0, 1, 3, 7, 15, 31 s, then every 30 s: about 7, not 240 polls plus a
  // retry a second.
  CHECK(tries >= 5);
  CHECK(tries <= 9);
  CHECK(log.count("database unreachable") == 1);
  CHECK(log.count("claim failed") == 0);
  CHECK(log.size() == 1);
  CHECK(rt.counters->database_outages == 1);
  CHECK(rt.counters->claims_failed == tries);
  // Back: within one backoff (at most 30 s) the job runs, and one line says
  // so.
  flaky->fail_claims = 0;
  for (int i = 0; i < 121 && get(theirs->front().id).status
                                != job_status::completed; ++i)
    advance(250);
  CHECK(get(theirs->front().id).status == job_status::completed);
  CHECK(log.count("database reachable again after") == 1);
  CHECK(log.size() == 2);
}

TEST_CASE_METHOD(runtime_fixture,
                 "a job's many progress reports are stored once, its last, "
                 "before its outcome",
                 "[actors][progress]") {
  handlers->add("REPORTER", std::make_shared<reporting_handler>(10'000));
  start();
  auto id = enqueue("REPORTER", "{}");
  auto j = get(id);
  CHECK(j.status == job_status::completed);
  CHECK(j.progress == Approx(1.0));
  CHECK(j.progress_message == "10000 of 10000");
  CHECK(j.progress_at != 0);
  // 10,000 reports, one write: the job finished before the progress timer
  // fired, so only its last report was stored, as it finished.
  CHECK(flaky->progress_writes == 1);
}

TEST_CASE_METHOD(runtime_fixture,
                 "a failed attempt keeps its last progress until the job is "
                 "claimed again; a job that reports nothing writes none",
                 "[actors][progress]") {
  rcfg.retry.base_ms = 1'000;
  handlers->add("FLAKY_REPORTER", std::make_shared<reporting_handler>(4, true));
  start();
  auto id = enqueue("FLAKY_REPORTER", "{}", 1);
  auto j = get(id);
  REQUIRE(j.status == job_status::pending); // a retry is due in 1 s
  CHECK(j.progress == Approx(1.0));
  CHECK(j.progress_message == "4 of 4 on attempt 1");
  auto echo = enqueue("ECHO", "{}");
  CHECK(get(echo).status == job_status::completed);
  CHECK(get(echo).progress_at == 0);
  CHECK(flaky->progress_writes == 1); // the ECHO job wrote none
  advance(1'000);
  j = get(id);
  CHECK(j.status == job_status::failed);
  CHECK(j.attempt == 2);
  CHECK(j.progress_message == "4 of 4 on attempt 2");
  CHECK(flaky->progress_writes == 2);
}
