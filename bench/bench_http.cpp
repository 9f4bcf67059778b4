#include "bench/bench_http.hpp"

#include <malloc.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <sys/wait.h>
#include <unistd.h>

#include "storage/sqlite/wake_dir.hpp"
#include "http/server.hpp"
#include "storage/json_text.hpp"

namespace jobd::bench {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;

double seconds_since(steady::time_point t0) {
  return std::chrono::duration<double>(steady::now() - t0).count();
}

double wall_ms() {
  using namespace std::chrono;
  return duration<double, std::milli>(system_clock::now().time_since_epoch())
    .count();
}

const std::string echo_body = R"({"type":"ECHO","payload":{}})";

// A blocking HTTP/1.1 client on one keep-alive connection.
class client {
public:
  explicit client(uint16_t port) : stream_(ioc_) {
    stream_.connect(tcp::endpoint(net::ip::address_v4::loopback(), port));
  }

  /// POSTs a job; returns its id, or an error naming the status.
  caf::expected<std::string> post_job() {
    auto body = post("/api/jobs", echo_body, 201);
    if (!body)
      return body.error();
    // {"id":"<26 chars>",...}
    auto pos = body->find("\"id\":\"");
    if (pos == std::string::npos)
      return make_error(errc::io, "no id in " + *body);
    return body->substr(pos + 6, 26);
  }

  /// POSTs a JSON body; returns the response body if the status is
  /// `expect`, else an error naming it.
  caf::expected<std::string> post(const std::string& target,
                                  const std::string& body, unsigned expect) {
    http::request<http::string_body> req{http::verb::post, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.set(http::field::content_type, "application/json");
    req.keep_alive(true);
    req.body() = body;
    req.prepare_payload();
    beast::error_code ec;
    http::write(stream_, req, ec);
    http::response<http::string_body> res;
    if (!ec)
      http::read(stream_, buf_, res, ec);
    if (ec)
      return make_error(errc::io, "HTTP: " + ec.message());
    if (res.result_int() != expect)
      return make_error(errc::io, "POST " + target + " answered "
                                    + std::to_string(res.result_int()) + ": "
                                    + res.body());
    return std::move(res.body());
  }

  /// GETs `target`; returns the status, or an error.
  caf::expected<unsigned> get(const std::string& target) {
    http::request<http::string_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    req.keep_alive(true);
    beast::error_code ec;
    http::write(stream_, req, ec);
    http::response<http::string_body> res;
    if (!ec)
      http::read(stream_, buf_, res, ec);
    if (ec)
      return make_error(errc::io, "HTTP: " + ec.message());
    return res.result_int();
  }

private:
  net::io_context ioc_;
  beast::tcp_stream stream_;
  beast::flat_buffer buf_;
};

// A runtime (with or without workers) and an HTTP server on a free port.
struct server_env {
  runtime rt;
  std::unique_ptr<http_server> http;
  read_pool readers;
  caf::actor_system* sys = nullptr;

  ~server_env() {
    if (http)
      http->stop();
    if (sys)
      stop_read_pool(*sys, readers);
    if (sys && rt.store)
      stop_runtime(*sys, rt, 1'000);
  }
};

// `with_readers`: the read pool `jobd serve` gives its API reads.
caf::expected<std::unique_ptr<server_env>>
start_server(bench_env& env, const store_options& opts, bool workers,
             bool with_readers = false) {
  auto clock = std::make_shared<system_clock_source>();
  auto store = open_store(opts, clock);
  if (!store)
    return store.error();
  auto srv = std::make_unique<server_env>();
  srv->sys = &env.sys;
  auto rcfg = env.cfg.runtime;
  rcfg.run_workers = workers;
  rcfg.pool.workers = env.workers;
  if (workers && env.storage.is_pg())
    rcfg.notify_url = opts.url;
  if (!env.storage.is_pg() && rcfg.wake_sockets)
    rcfg.wake_dir = wake_dir_of(opts.url);
  srv->rt = start_runtime(env.sys, std::move(*store), env.handlers, rcfg,
                          clock);
  if (with_readers && supports_read_pool(opts.url)) {
    auto pool = start_read_pool(env.sys, opts,
                                env.cfg.storage.read_connections, clock);
    if (!pool)
      return pool.error();
    srv->readers = std::move(*pool);
  }
  http_config hc;
  hc.port = 0;
  auto http = http_server::start(env.sys, hc, srv->rt.store, env.handlers,
                                 srv->readers);
  if (!http)
    return http.error();
  srv->http = std::move(*http);
  return srv;
}

caf::expected<measurement> w1_http(bench_env& env, int clients) {
  auto db = make_fresh(env);
  if (!db)
    return db.error();
  auto srv = start_server(env, db->opts, false);
  if (!srv)
    return srv.error();
  auto port = (*srv)->http->port();
  std::atomic<int64_t> next{0};
  std::vector<caf::error> errors(clients);
  // The clients' own CPU time, so the rest of the process's is the server's.
  std::vector<double> client_cpu(clients, 0);
  auto cpu0 = cpu_time_us(CLOCK_PROCESS_CPUTIME_ID);
  auto t0 = steady::now();
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      auto mine0 = cpu_time_us(CLOCK_THREAD_CPUTIME_ID);
      try {
        client cl{port};
        while (next.fetch_add(1) < env.jobs)
          if (auto id = cl.post_job(); !id) {
            errors[c] = id.error();
            break;
          }
      } catch (const std::exception& e) {
        errors[c] = make_error(errc::io, e.what());
      }
      client_cpu[c] = cpu_time_us(CLOCK_THREAD_CPUTIME_ID) - mine0;
    });
  for (auto& t : threads)
    t.join();
  measurement m{env.jobs, seconds_since(t0)};
  auto server = cpu_time_us(CLOCK_PROCESS_CPUTIME_ID) - cpu0;
  for (auto c : client_cpu)
    server -= c;
  m.cpu_us = std::max(server, 0.0) / static_cast<double>(env.jobs);
  for (auto& e : errors)
    if (e)
      return e;
  srv->reset();
  if (auto e = expect_count(*db->raw, "PENDING", env.jobs, "W1 HTTP"))
    return e;
  return m;
}

// POSTs w3_jobs jobs one every w3_gap_ms through `port`, then waits for all
// to complete and measures enqueue-to-start latencies from startedAt.
caf::expected<measurement> w3_run(const store_options& opts, uint16_t port) {
  std::vector<std::pair<std::string, double>> sent;
  client cl{port};
  auto t0 = steady::now();
  for (int64_t i = 0; i < w3_jobs; ++i) {
    auto tick = t0 + std::chrono::milliseconds(i * w3_gap_ms);
    std::this_thread::sleep_until(tick);
    auto at = wall_ms();
    auto id = cl.post_job();
    if (!id)
      return id.error();
    sent.emplace_back(*id, at);
  }
  // Wait (generously) for the jobs sent to have run (only those: the
  // scale run's table holds live jobs due tomorrow).
  auto reader = open_store(opts, std::make_shared<system_clock_source>());
  if (!reader)
    return reader.error();
  auto deadline = steady::now() + std::chrono::seconds(60);
  measurement m{w3_jobs, 0};
  for (auto& [id, at] : sent) {
    for (;;) {
      auto j = (*reader)->get(id);
      if (!j)
        return j.error();
      if (j->status == job_status::completed) {
        // startedAt has millisecond resolution: latencies under 1 ms read
        // as 0..1.
        m.latencies_ms.push_back(std::max(0.0, j->started_at - at));
        break;
      }
      if (j->status != job_status::pending
          && j->status != job_status::processing)
        return make_error(errc::io, "W3: job " + id + " is "
                                      + to_string(j->status));
      if (steady::now() > deadline)
        return make_error(errc::io, "W3: jobs still unfinished after 60 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  m.seconds = seconds_since(t0);
  return m;
}

// -- the scale run (issue 15 part 5) ------------------------------------------

// A dashboard: on its own connection, 10 times a second, GET /api/stats
// and a list page (in turn: all jobs, FAILED, PENDING, COMPLETED), timing
// each; runs until stopped.
class dashboard {
public:
  explicit dashboard(uint16_t port)
    : thread_([this, port] { run(port); }) {}
  ~dashboard() { stop(); }

  /// Stops polling; returns the first error met, if any.
  caf::error stop() {
    done_ = true;
    if (thread_.joinable())
      thread_.join();
    return err_;
  }

  std::vector<double> stats_ms, list_ms;

private:
  void run(uint16_t port) {
    static const char* const lists[]
      = {"/api/jobs?limit=50", "/api/jobs?status=FAILED&limit=50",
         "/api/jobs?status=PENDING&limit=50",
         "/api/jobs?status=COMPLETED&limit=50"};
    try {
      client cl{port};
      auto next = steady::now();
      for (int tick = 0; !done_; ++tick) {
        std::this_thread::sleep_until(next);
        next += std::chrono::milliseconds(100);
        for (auto [target, into] :
             {std::pair{"/api/stats", &stats_ms},
              std::pair{lists[tick % 4], &list_ms}}) {
          auto t0 = steady::now();
          auto status = cl.get(target);
          if (!status) {
            err_ = status.error();
            return;
          }
          if (*status != 200) {
            err_ = make_error(errc::io, std::string{"GET "} + target
                                          + " answered "
                                          + std::to_string(*status));
            return;
          }
          into->push_back(
            std::chrono::duration<double, std::milli>(steady::now() - t0)
              .count());
        }
      }
    } catch (const std::exception& e) {
      err_ = make_error(errc::io, std::string{"dashboard: "} + e.what());
    }
  }

  std::atomic<bool> done_{false};
  caf::error err_;
  std::thread thread_;
};

// One phase on `opts`'s database with a dashboard polling: W1 (one client
// POSTs env.jobs jobs to a server without workers) or W2 (a server with
// workers drains what is due). Adds the dashboard's timings to `dash`.
// W2 ends when only the `live` jobs (due tomorrow) are left unfinished; the
// store's counts tell in O(1) however big the table is.
caf::expected<double> scale_phase(bench_env& env, const store_options& opts,
                                  bool drain, int64_t live,
                                  scale_report::reads& dash) {
  auto counter = open_store(opts, std::make_shared<system_clock_source>());
  if (!counter)
    return counter.error();
  auto unfinished = [&]() -> caf::expected<int64_t> {
    auto c = (*counter)->counts();
    if (!c)
      return c.error();
    int64_t n = 0;
    for (size_t i = 0; i < c->count.size(); ++i)
      if (c->status[i] == "PENDING" || c->status[i] == "PROCESSING")
        n += c->count[i];
    return n;
  };
  auto srv = start_server(env, opts, drain, true);
  if (!srv)
    return srv.error();
  auto port = (*srv)->http->port();
  dashboard board{port};
  auto t0 = steady::now();
  if (!drain) {
    client cl{port};
    for (int64_t i = 0; i < env.jobs; ++i)
      if (auto id = cl.post_job(); !id)
        return id.error();
  } else {
    auto deadline = t0 + std::chrono::seconds(600 + env.jobs / 10);
    for (;;) {
      auto n = unfinished();
      if (!n)
        return n.error();
      if (*n <= live)
        break;
      if (steady::now() > deadline)
        return make_error(errc::io, "scale: W2 still unfinished");
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  }
  auto rate = static_cast<double>(env.jobs) / seconds_since(t0);
  if (auto err = board.stop())
    return err;
  dash.stats_ms.insert(dash.stats_ms.end(), board.stats_ms.begin(),
                       board.stats_ms.end());
  dash.list_ms.insert(dash.list_ms.end(), board.list_ms.begin(),
                      board.list_ms.end());
  return rate;
}

} // namespace

caf::expected<scale_report> scale_run(bench_env& env, int rounds,
                                      int64_t live_rows) {
  scale_report out;
  out.finished_rows = env.scale_rows;
  out.live_rows = live_rows;
  // The big table, filled once: finished jobs an hour old, and live ones
  // (PENDING, due tomorrow: on the claim index, never run here).
  auto big = make_fresh(env);
  if (!big)
    return big.error();
  auto t0 = steady::now();
  if (auto err = big->raw->insert_finished(env.scale_rows))
    return err;
  if (auto err = big->raw->insert_scheduled(
        live_rows, system_clock_source{}.now_ms() + 86'400'000))
    return err;
  if (auto err = big->raw->recount())
    return err;
  if (auto err = big->raw->settle())
    return err;
  out.fill_seconds = seconds_since(t0);
  out.disk_bytes = big->raw->disk_bytes();
  // The big database stays; make_fresh would replace it, so the empty
  // table gets its own storage.
  auto empty_storage = bench_storage::create(env.cfg.storage);
  if (!empty_storage)
    return empty_storage.error();
  for (int r = 0; r < rounds; ++r) {
    auto empty_opts = (*empty_storage)->fresh();
    if (!empty_opts)
      return empty_opts.error();
    scale_report::reads ignored;
    // W1, then W2 draining what W1 stored: empty table, then big table.
    for (bool drain : {false, true}) {
      auto empty = scale_phase(env, *empty_opts, drain, 0, ignored);
      if (!empty)
        return empty.error();
      // The earlier phases' servers are gone, but glibc keeps the heap
      // they freed: hand it back first, so the peak is what the big
      // table's phase itself holds, not what the rounds before it left.
      ::malloc_trim(0);
      reset_peak_rss();
      auto full = scale_phase(env, big->opts, drain, live_rows, out.big);
      if (!full)
        return full.error();
      out.peak_rss_kb = std::max(out.peak_rss_kb, peak_rss_kb());
      (drain ? out.w2_empty : out.w1_empty).push_back(*empty);
      (drain ? out.w2_big : out.w1_big).push_back(*full);
    }
    // W3: single jobs 10 ms apart, enqueue to start, with the workers
    // idle between them: each claim finds fewer due jobs than it asks for,
    // beside the big table's live jobs due tomorrow.
    for (bool on_big : {false, true}) {
      auto& opts = on_big ? big->opts : *empty_opts;
      auto srv = start_server(env, opts, true);
      if (!srv)
        return srv.error();
      std::this_thread::sleep_for(std::chrono::milliseconds(300));
      auto m = w3_run(opts, (*srv)->http->port());
      if (!m)
        return m.error();
      auto& into = on_big ? out.w3_big : out.w3_empty;
      into.insert(into.end(), m->latencies_ms.begin(), m->latencies_ms.end());
    }
  }
  if (auto e = expect_count(*big->raw, "COMPLETED",
                            env.scale_rows + rounds * (env.jobs + w3_jobs),
                            "scale"))
    return e;
  return out;
}

caf::expected<measurement> w1_http_one(bench_env& env) {
  return w1_http(env, 1);
}

caf::expected<measurement> w1_http_concurrent(bench_env& env) {
  return w1_http(env, 32);
}

caf::expected<measurement> w2_external(bench_env& env) {
  auto db = make_fresh(env);
  if (!db)
    return db.error();
  {
    // The jobs, of the external type, and the type's mark (untimed).
    auto clock = std::make_shared<system_clock_source>();
    auto st = open_store(db->opts, clock);
    if (!st)
      return st.error();
    if (auto err = (*st)->declare_types({bench_external_type}, {}))
      return err;
    for (int64_t done = 0; done < env.jobs;) {
      auto n = std::min<int64_t>(1000, env.jobs - done);
      std::vector<new_job> batch(static_cast<size_t>(n));
      for (auto& nj : batch)
        nj.type = bench_external_type;
      if (auto res = (*st)->enqueue(batch); !res)
        return res.error();
      done += n;
    }
  }
  // The API only (no pool of its own); the workers are these threads.
  auto srv = start_server(env, db->opts, false);
  if (!srv)
    return srv.error();
  auto port = (*srv)->http->port();
  const int fetchers = 10;
  std::atomic<int64_t> completed{0};
  std::vector<caf::error> errors(fetchers);
  auto t0 = steady::now();
  std::vector<std::thread> threads;
  for (int f = 0; f < fetchers; ++f)
    threads.emplace_back([&, f] {
      try {
        client cl{port};
        auto me = "bench-ext-" + std::to_string(f);
        auto fetch = R"({"worker":")" + me + R"(","types":[")"
                     + std::string{bench_external_type}
                     + R"("],"max":)" + std::to_string(env.workers) + "}";
        while (completed.load() < env.jobs) {
          auto got = cl.post("/api/worker/fetch", fetch, 200);
          if (!got) {
            errors[f] = got.error();
            return;
          }
          // Each job: {"id":"<26>",...,"attempt":N,...}; all completed in
          // one request (POST /api/worker/complete-all).
          size_t at = 0;
          int n = 0;
          std::string done_body = R"({"worker":")" + me + R"(","jobs":[)";
          while ((at = got->find("{\"id\":\"", at)) != std::string::npos) {
            auto id = got->substr(at + 7, 26);
            auto a = got->find("\"attempt\":", at);
            auto attempt = std::atoll(got->c_str() + a + 10);
            at = a;
            done_body += std::string{n > 0 ? "," : ""} + R"({"id":")" + id
                         + R"(","attempt":)" + std::to_string(attempt) + "}";
            ++n;
          }
          done_body += "]}";
          if (n > 0) {
            auto done = cl.post("/api/worker/complete-all", done_body, 200);
            if (!done) {
              errors[f] = done.error();
              return;
            }
            if (done->find("\"lost\":[]") == std::string::npos) {
              errors[f] = make_error(errc::io, "complete-all lost jobs: "
                                                 + *done);
              return;
            }
          }
          completed += n;
          if (n == 0)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
      } catch (const std::exception& e) {
        errors[f] = make_error(errc::io, e.what());
      }
    });
  for (auto& t : threads)
    t.join();
  measurement m{env.jobs, seconds_since(t0)};
  for (auto& e : errors)
    if (e)
      return e;
  if (auto e = expect_count(*db->raw, "COMPLETED", env.jobs,
                            "W2 via external workers"))
    return e;
  return m;
}

caf::expected<measurement> baseline_latency(bench_env& env) {
  auto db = make_fresh(env);
  if (!db)
    return db.error();
  measurement m{w3_jobs, 0};
  auto t0 = steady::now();
  for (int64_t i = 0; i < w3_jobs; ++i) {
    std::this_thread::sleep_until(t0 + std::chrono::milliseconds(i * w3_gap_ms));
    auto start = steady::now();
    if (auto err = db->raw->insert_pending_one_per_commit(1))
      return err;
    auto n = db->raw->claim_and_complete_all(1, "bench-baseline");
    if (!n)
      return n.error();
    m.latencies_ms.push_back(
      std::chrono::duration<double, std::milli>(steady::now() - start).count());
  }
  m.seconds = seconds_since(t0);
  return m;
}

caf::expected<measurement> w3_latency_inproc(bench_env& env) {
  auto db = make_fresh(env);
  if (!db)
    return db.error();
  auto srv = start_server(env, db->opts, true);
  if (!srv)
    return srv.error();
  // Let the worker go idle (its first poll) before measuring.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  return w3_run(db->opts, (*srv)->http->port());
}

caf::expected<measurement> w3_latency_cross(bench_env& env) {
  auto db = make_fresh(env);
  if (!db)
    return db.error();
  auto srv = start_server(env, db->opts, false);
  if (!srv)
    return srv.error();
  // The other process: `jobd worker` on the same database, same settings.
  auto worker = worker_process::start(env, db->opts.url);
  if (!worker)
    return worker.error();
  // Wait until the worker runs jobs: a probe job completes (untimed).
  {
    client cl{(*srv)->http->port()};
    if (auto id = cl.post_job(); !id)
      return id.error();
    auto deadline = steady::now() + std::chrono::seconds(30);
    for (;;) {
      auto any = db->raw->any_unfinished();
      if (any && !*any)
        break;
      if (steady::now() > deadline)
        return make_error(errc::io, "W3 cross: the worker process did not "
                                    "start within 30 s");
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  return w3_run(db->opts, (*srv)->http->port());
}

std::string self_exe() {
  char buf[4096];
  auto len = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (len <= 0)
    return {};
  buf[len] = '\0';
  return buf;
}

caf::expected<std::unique_ptr<worker_process>>
worker_process::start(const bench_env& env, const std::string& db_url) {
  auto exe = self_exe();
  if (exe.empty())
    return make_error(errc::io, "cannot find the jobd binary");
  auto workers = std::to_string(env.workers);
  auto sync = "storage.synchronous=" + env.cfg.storage.synchronous;
  auto wake_set = std::string{"storage.wake_sockets="}
                  + (env.cfg.runtime.wake_sockets ? "true" : "false");
  auto poll = "worker.poll_interval="
              + std::to_string(env.cfg.runtime.scheduler.poll_interval_ms)
              + "ms";
  pid_t pid = fork();
  if (pid < 0)
    return make_error(errc::io, "fork failed");
  if (pid == 0) {
    freopen("/dev/null", "w", stderr);
    execl(exe.c_str(), exe.c_str(), "worker", "--db", db_url.c_str(),
          "--workers", workers.c_str(), "--set", sync.c_str(), "--set",
          poll.c_str(), "--set", wake_set.c_str(),
          static_cast<char*>(nullptr));
    _exit(127);
  }
  return std::unique_ptr<worker_process>{new worker_process(pid)};
}

worker_process::~worker_process() {
  kill(pid_, SIGTERM);
  int status = 0;
  waitpid(pid_, &status, 0);
}

} // namespace jobd::bench
