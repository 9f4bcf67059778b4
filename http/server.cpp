#include "http/server.hpp"

#include "http/worker_api.hpp"

#include <cstdlib>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <caf/send.hpp>

#include "http/acceptor.hpp"
#include "http/context.hpp"
#include "storage/errors.hpp"

namespace jobd {

namespace net = boost::asio;

struct http_server::impl {
  std::shared_ptr<server_context> ctx;
  /// One io_context per io thread (concurrency hint 1: run by one thread).
  std::vector<std::unique_ptr<net::io_context>> iocs;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> work;
  std::shared_ptr<http_acceptor> acceptor;
  std::vector<std::thread> threads;
  uint16_t port = 0;
  bool stopped = false;

  explicit impl(int threads) {
    for (int i = 0; i < threads; ++i) {
      iocs.push_back(std::make_unique<net::io_context>(1));
      work.push_back(net::make_work_guard(*iocs.back()));
    }
  }
};

http_server::http_server(std::unique_ptr<impl> p) : impl_(std::move(p)) {
}

http_server::~http_server() {
  stop();
}

uint16_t http_server::port() const {
  return impl_->port;
}

caf::expected<std::unique_ptr<http_server>>
http_server::start(caf::actor_system& sys, const http_config& cfg,
                   store_actor store,
                   std::shared_ptr<const handler_registry> handlers,
                   read_pool readers,
                   std::shared_ptr<const worker_counters> counters) {
  if (cfg.port < 0 || cfg.port > 65535)
    return make_error(errc::invalid, "http.port: must be 0..65535, got "
                                       + std::to_string(cfg.port));
  if (cfg.io_threads < 1)
    return make_error(errc::invalid, "http.io_threads: must be at least 1");
  if (cfg.max_connections < 1)
    return make_error(errc::invalid,
                      "http.max_connections: must be at least 1");
  if (cfg.body_limit < 1 || cfg.batch_body_limit < 1 || cfg.max_depth < 1
      || cfg.max_batch_jobs < 1)
    return make_error(errc::invalid,
                      "http.body_limit, http.batch_body_limit, "
                      "http.max_depth and http.max_batch_jobs must be "
                      "positive");
  if (!store || !handlers)
    return make_error(errc::invalid,
                      "http_server::start needs a store actor and handlers");
  boost::system::error_code ec;
  auto address = net::ip::make_address(cfg.bind, ec);
  if (ec)
    return make_error(errc::invalid, "http.bind: '" + cfg.bind
                                       + "' is not an IP address such as "
                                         "127.0.0.1 or ::1");
  std::string token = cfg.api_token;
  if (token.empty())
    if (auto env = std::getenv("JOBD_API_TOKEN"))
      token = env;
  std::string worker_token = cfg.worker_token;
  if (worker_token.empty())
    if (auto env = std::getenv("JOBD_WORKER_TOKEN"))
      worker_token = env;
  if (!worker_token.empty() && worker_token == token)
    return make_error(errc::invalid,
                      "http.worker_token: must differ from the API token (it "
                      "opens the worker routes only)");
  if (auto why = cors_origins_error(cfg.cors_origins); !why.empty())
    return make_error(errc::invalid, "http.cors_origins: " + why);
  auto origins = parse_cors_origins(cfg.cors_origins);
  bool any = origins.size() == 1 && origins.front() == "*";
  if (any && !token.empty())
    return make_error(errc::invalid,
                      "http.cors_origins: '*' is refused while an API token "
                      "is set (any web page could spend a token it gets "
                      "hold of): list the origins of your own pages");
  auto p = std::make_unique<impl>(cfg.io_threads);
  auto ctx = std::make_shared<server_context>();
  ctx->cfg = cfg;
  ctx->token = std::move(token);
  ctx->worker_token = std::move(worker_token);
  ctx->self = ctx;
  ctx->cors_any = any;
  if (!any)
    ctx->cors_origins = std::move(origins);
  ctx->sys = &sys;
  ctx->store = store;
  ctx->readers = std::move(readers);
  ctx->handlers = std::move(handlers);
  ctx->counters = std::move(counters);
  p->ctx = ctx;
  std::vector<net::io_context*> session_iocs;
  for (auto& ioc : p->iocs)
    session_iocs.push_back(ioc.get());
  auto l = http_acceptor::open(
    *p->iocs.front(), std::move(session_iocs),
    net::ip::tcp::endpoint{address, static_cast<uint16_t>(cfg.port)}, ctx);
  if (!l)
    return l.error();
  p->acceptor = std::move(*l);
  p->port = p->acceptor->port();
  subscribe_events(store, ctx->hub);
  ctx->waiters = start_worker_waiters(*ctx);
  // One gateway per io thread: a gateway only forwards, so more would add
  // scheduling, not throughput.
  ctx->gateways = spawn_gateways(sys, cfg.io_threads);
  p->acceptor->run();
  for (auto& ioc : p->iocs)
    p->threads.emplace_back([ioc = ioc.get()] { ioc->run(); });
  return std::unique_ptr<http_server>{new http_server(std::move(p))};
}

void http_server::stop() {
  if (!impl_ || impl_->stopped)
    return;
  auto& p = *impl_;
  p.stopped = true;
  auto& ctx = *p.ctx;
  p.acceptor->stop();
  std::vector<std::shared_ptr<closable>> open;
  {
    std::lock_guard<std::mutex> guard{ctx.mtx};
    ctx.stopping = true;
    for (auto& kv : ctx.connections)
      if (auto c = kv.second.lock())
        open.push_back(std::move(c));
  }
  for (auto& c : open)
    c->close_soon();
  open.clear();
  {
    // Requests waiting on the store get their answer (or time out) first.
    std::unique_lock<std::mutex> guard{ctx.mtx};
    ctx.all_closed.wait_for(guard,
                            std::chrono::milliseconds{
                              ctx.cfg.request_timeout_ms + 2000},
                            [&] { return ctx.connections.empty(); });
  }
  for (auto& w : p.work)
    w.reset();
  for (auto& ioc : p.iocs)
    ioc->stop();
  for (auto& t : p.threads)
    t.join();
  p.threads.clear();
  for (auto& g : ctx.gateways)
    caf::anon_send_exit(g, caf::exit_reason::user_shutdown);
}

} // namespace jobd
