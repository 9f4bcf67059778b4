#include "bench/bench_workloads.hpp"

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <regex>
#include <string>
#include <thread>

#include <caf/scoped_actor.hpp>

#include "actors/runtime.hpp"
#include "bench/fault_proxy.hpp"
#include "actors/store_state.hpp"

namespace jobd::bench {

namespace {

using steady = std::chrono::steady_clock;

double seconds_since(steady::time_point t0) {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

new_job echo_job() {
  new_job nj;
  nj.type = "ECHO";
  nj.payload = "{}";
  return nj;
}

// Waits until no job of `db` is PENDING or PROCESSING, looking every
// `poll`; an error if a look fails, or if jobs are still unfinished long
// after t0 (generous: only a bug, a job that never finishes, gets near).
caf::error wait_drained(bench_db& db, steady::time_point t0, int64_t jobs,
                        const std::string& workload,
                        std::chrono::milliseconds poll) {
  auto deadline = t0 + std::chrono::seconds(600 + jobs / 10);
  for (;;) {
    auto any = db.any_unfinished();
    if (!any)
      return any.error();
    if (!*any)
      return {};
    if (steady::now() > deadline)
      return make_error(errc::io, workload + ": jobs still unfinished after "
                                    + std::to_string(seconds_since(t0))
                                    + " s");
    std::this_thread::sleep_for(poll);
  }
}

// W2 and W4: `env.jobs` pending jobs on top of `finished` finished ones.
caf::expected<measurement> drain(bench_env& env, int64_t finished,
                                 const char* workload) {
  auto db = make_fresh(env);
  if (!db)
    return db.error();
  if (finished > 0)
    if (auto err = db->raw->insert_finished(finished))
      return err;
  if (auto err = db->raw->insert_pending(env.jobs))
    return err;
  if (auto err = db->raw->settle())
    return err;
  auto clock = std::make_shared<system_clock_source>();
  auto store = open_store(db->opts, clock);
  if (!store)
    return store.error();
  // The worker as `jobd worker` runs it: the configured runtime, real
  // clock, detached store and handler actors.
  auto rcfg = env.cfg.runtime;
  rcfg.pool.workers = env.workers;
  if (env.storage.is_pg())
    rcfg.notify_url = db->opts.url;
  auto t0 = steady::now();
  auto rt = start_runtime(env.sys, std::move(*store), env.handlers, rcfg,
                          clock);
  auto err = wait_drained(*db->raw, t0, env.jobs, workload,
                          std::chrono::milliseconds(2));
  measurement m{env.jobs, seconds_since(t0)};
  auto stopped = stop_runtime(env.sys, rt, rcfg.shutdown_deadline_ms);
  if (err)
    return err;
  if (!stopped)
    return stopped.error();
  if (auto e = expect_count(*db->raw, "COMPLETED", env.jobs + finished,
                            workload))
    return e;
  return m;
}

} // namespace

int64_t peak_rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0)
      return std::atoll(line.c_str() + 6);
  return 0;
}

bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

caf::expected<fresh_db> make_fresh(bench_env& env) {
  auto opts = env.storage.fresh();
  if (!opts)
    return opts.error();
  auto raw = bench_db::open(*opts);
  if (!raw)
    return raw.error();
  return fresh_db{std::move(*opts), std::move(*raw)};
}

// Checks that the store holds exactly `n` jobs with `status`.
caf::error expect_count(bench_db& raw, const char* status, int64_t n,
                        const char* workload) {
  auto c = raw.count(status);
  if (!c)
    return c.error();
  if (*c != n)
    return make_error(errc::io, std::string{workload} + ": expected "
                                  + std::to_string(n) + " " + status
                                  + " jobs in the store, found "
                                  + std::to_string(*c));
  return {};
}

caf::expected<measurement> baseline_bulk_insert(bench_env& env) {
  auto db = make_fresh(env);
  if (!db)
    return db.error();
  auto t0 = steady::now();
  if (auto err = db->raw->insert_pending(env.jobs))
    return err;
  measurement m{env.jobs, seconds_since(t0)};
  if (auto err = expect_count(*db->raw, "PENDING", env.jobs, "bulk insert"))
    return err;
  return m;
}

caf::expected<measurement> baseline_row_commit(bench_env& env) {
  auto db = make_fresh(env);
  if (!db)
    return db.error();
  auto cpu0 = cpu_time_us(CLOCK_PROCESS_CPUTIME_ID);
  auto t0 = steady::now();
  if (auto err = db->raw->insert_pending_one_per_commit(env.jobs))
    return err;
  measurement m{env.jobs, seconds_since(t0)};
  m.cpu_us = (cpu_time_us(CLOCK_PROCESS_CPUTIME_ID) - cpu0)
             / static_cast<double>(env.jobs);
  if (auto err = expect_count(*db->raw, "PENDING", env.jobs,
                              "row-commit insert"))
    return err;
  return m;
}

namespace {

// Claims and completes every job, `batch` per transaction pair.
caf::expected<measurement> claim_complete(bench_env& env, int32_t batch) {
  auto db = make_fresh(env);
  if (!db)
    return db.error();
  if (auto err = db->raw->insert_pending(env.jobs))
    return err;
  if (auto err = db->raw->settle()) // as drain() does
    return err;
  auto t0 = steady::now();
  auto done = db->raw->claim_and_complete_all(batch, default_worker_id());
  if (!done)
    return done.error();
  measurement m{*done, seconds_since(t0)};
  if (auto err = expect_count(*db->raw, "COMPLETED", env.jobs,
                              "claim+complete"))
    return err;
  return m;
}

} // namespace

caf::expected<measurement> baseline_claim_complete(bench_env& env) {
  return claim_complete(env, env.workers);
}

caf::expected<measurement> baseline_claim_complete_100(bench_env& env) {
  return claim_complete(env, 100);
}

caf::expected<measurement> w1_store_actor(bench_env& env) {
  auto db = make_fresh(env);
  if (!db)
    return db.error();
  auto clock = std::make_shared<system_clock_source>();
  auto store = open_store(db->opts, clock);
  if (!store)
    return store.error();
  // The store actor alone, as an API-only node runs it.
  auto rcfg = env.cfg.runtime;
  rcfg.run_workers = false;
  auto rt = start_runtime(env.sys, std::move(*store), env.handlers, rcfg,
                          clock);
  caf::error err;
  auto one = std::vector<new_job>{echo_job()};
  auto t0 = steady::now();
  {
    caf::scoped_actor self{env.sys};
    for (int64_t i = 0; i < env.jobs && !err; ++i)
      self->request(rt.store, caf::infinite, enqueue_atom::value, one)
        .receive([](std::vector<job>&) {},
                 [&](caf::error& e) { err = std::move(e); });
  }
  measurement m{env.jobs, seconds_since(t0)};
  auto stopped = stop_runtime(env.sys, rt, rcfg.shutdown_deadline_ms);
  if (err)
    return err;
  if (!stopped)
    return stopped.error();
  if (auto e = expect_count(*db->raw, "PENDING", env.jobs, "W1 store actor"))
    return e;
  return m;
}

caf::expected<measurement> w1_job_store(bench_env& env) {
  auto db = make_fresh(env);
  if (!db)
    return db.error();
  auto store = open_store(db->opts, std::make_shared<system_clock_source>());
  if (!store)
    return store.error();
  auto one = std::vector<new_job>{echo_job()};
  auto t0 = steady::now();
  for (int64_t i = 0; i < env.jobs; ++i)
    if (auto res = (*store)->enqueue(one); !res)
      return res.error();
  measurement m{env.jobs, seconds_since(t0)};
  store->reset();
  if (auto e = expect_count(*db->raw, "PENDING", env.jobs, "W1 job_store"))
    return e;
  return m;
}

namespace {

// W5: `network_workers` worker runtimes, each with its own connection to
// PostgreSQL through a fault proxy that adds `one_way_ms` each way, drain
// env.jobs: workers on other machines than the database (issue 16 #9).
caf::expected<measurement> network_drain(bench_env& env, int one_way_ms) {
  auto db = make_fresh(env);
  if (!db)
    return db.error();
  // postgresql://[user@]host[:port]/... : the proxy takes host:port.
  static const std::regex url_re{
    R"(^(postgres(?:ql)?://(?:[^@/]*@)?)([^:/?@]+)(?::(\d+))?(/.*)?$)"};
  std::smatch m;
  if (!std::regex_match(db->opts.url, m, url_re))
    return make_error(errc::invalid,
                      "W5 needs a postgresql://host:port/... storage URL");
  auto port = m[3].matched ? std::stoi(m[3].str()) : 5432;
  std::unique_ptr<fault_proxy> proxy;
  try {
    proxy = std::make_unique<fault_proxy>(m[2].str(),
                                          static_cast<uint16_t>(port));
  } catch (const std::exception& e) {
    return make_error(errc::io, e.what());
  }
  proxy->set_latency_ms(one_way_ms);
  auto url = m[1].str() + "127.0.0.1:" + std::to_string(proxy->port())
             + m[4].str();
  if (auto err = db->raw->insert_pending(env.jobs))
    return err;
  if (auto err = db->raw->settle())
    return err;
  auto clock = std::make_shared<system_clock_source>();
  auto rcfg = env.cfg.runtime;
  rcfg.pool.workers = network_handlers;
  rcfg.notify_url = url;
  auto opts = db->opts;
  opts.url = url;
  std::vector<runtime> rts;
  auto t0 = steady::now();
  caf::error err;
  for (int i = 0; i < network_workers && !err; ++i) {
    auto store = open_store(opts, clock);
    if (!store) {
      err = store.error();
      break;
    }
    auto w = rcfg;
    w.store.worker_id = "bench-w5-" + std::to_string(i);
    rts.push_back(start_runtime(env.sys, std::move(*store), env.handlers, w,
                                clock));
  }
  // Each look is a query on the server the workers use: a 2 ms poll took
  // a tenth of its CPU. 20 ms is 0.3 % of a 6 s drain.
  if (!err)
    err = wait_drained(*db->raw, t0, env.jobs, "W5",
                       std::chrono::milliseconds(20));
  measurement meas{env.jobs, seconds_since(t0)};
  for (auto& rt : rts) {
    auto stopped = stop_runtime(env.sys, rt, rcfg.shutdown_deadline_ms);
    if (!stopped && !err)
      err = stopped.error();
  }
  {
    // Each LISTEN actor ends at its next wake (within a second); gone
    // before the proxy is, it does not log the wake-ups as lost.
    caf::scoped_actor self{env.sys};
    for (auto& rt : rts)
      if (rt.pg_notify)
        self->wait_for(rt.pg_notify);
  }
  if (err)
    return err;
  if (auto e = expect_count(*db->raw, "COMPLETED", env.jobs, "W5 drain"))
    return e;
  return meas;
}

} // namespace

caf::expected<measurement> w5_network_near(bench_env& env) {
  return network_drain(env, 0);
}

caf::expected<measurement> w5_network_far(bench_env& env) {
  return network_drain(env, network_one_way_ms);
}

caf::expected<measurement> w2_drain(bench_env& env) {
  return drain(env, 0, "W2 drain");
}

caf::expected<measurement> w4_scale(bench_env& env) {
  return drain(env, env.scale_rows, "W4 drain");
}

} // namespace jobd::bench
