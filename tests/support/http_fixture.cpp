#include "support/http_fixture.hpp"

#include <arpa/inet.h>
#include <cerrno>
#include <cstdio>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <cstdlib>
#include <thread>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <simdjson.h>

#include "handlers/echo.hpp"
#include <caf/scoped_actor.hpp>
#include "storage/clock.hpp"
#include "storage/errors.hpp"

namespace jobd::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

http_config test_http_config() {
  http_config cfg;
  cfg.port = 0;
  cfg.header_timeout_ms = 400;
  cfg.read_timeout_ms = 2000;
  cfg.write_timeout_ms = 2000;
  cfg.idle_timeout_ms = 5000;
  cfg.request_timeout_ms = 5000;
  cfg.sse_heartbeat_ms = 200;
  cfg.api_token.clear();
  return cfg;
}

http_env::http_env(http_config cfg, http_env_options hooks) {
  sys = std::make_unique<caf::actor_system>(caf_cfg);
  handlers = std::make_shared<handler_registry>();
  handlers->add("ECHO", std::make_shared<echo_handler>());
  if (hooks.add_handlers)
    hooks.add_handlers(*handlers);
  store_options opts;
  opts.url = dir.file("jobs.db");
  opts.synchronous = "NORMAL"; // tests need no power-loss safety
  auto st = open_store(opts, std::make_shared<system_clock_source>());
  if (!st)
    throw std::runtime_error("open_store: " + message_of(st.error()));
  runtime_config rcfg;
  rcfg.scheduler.poll_interval_ms = 50;
  // Jobs run on the runtime's own handler pool, with short retries.
  rcfg.pool.workers = 4;
  rcfg.retry.base_ms = 100;
  rcfg.retry.cap_ms = 1000;
  rcfg.retry.jitter = 0;
  if (hooks.tune)
    hooks.tune(rcfg);
  std::unique_ptr<job_store> store = std::move(*st);
  if (hooks.wrap_store)
    store = hooks.wrap_store(std::move(store));
  // As jobd serve does: external types are left to external workers.
  if (auto err = store->declare_types(handlers->external_types(),
                                      handlers->in_process_types()))
    throw std::runtime_error("declare_types: " + message_of(err));
  rt = start_runtime(*sys, std::move(store), handlers, rcfg);
  auto srv = http_server::start(*sys, cfg, rt.store, handlers);
  if (!srv)
    throw std::runtime_error("http_server::start: " + message_of(srv.error()));
  server = std::move(*srv);
}

http_env::~http_env() {
  server->stop();
  server.reset();
  stop_runtime(*sys, rt, 2000);
  rt = runtime{};
}

std::string http_env::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port());
}

// -- http_client --------------------------------------------------------------

struct http_client::state {
  net::io_context ioc;
  std::optional<tcp::socket> socket;
  beast::flat_buffer buffer;
};

http_client::http_client(uint16_t port, std::string token)
  : st_(std::make_unique<state>()), port_(port), token_(std::move(token)) {
}

http_client::~http_client() = default;

http_reply http_client::request(const std::string& method,
                                const std::string& target,
                                const std::string& body,
                                const std::string& content_type,
                                const std::map<std::string, std::string>& headers) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!st_->socket) {
      st_->socket.emplace(st_->ioc);
      st_->socket->connect(
        tcp::endpoint{net::ip::make_address("127.0.0.1"), port_});
      timeval tv{10, 0};
      setsockopt(st_->socket->native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv,
                 sizeof(tv));
      st_->buffer.clear();
      ++opened_;
    }
    http::request<http::string_body> req{http::string_to_verb(method), target,
                                         11};
    req.set(http::field::host, "127.0.0.1");
    if (!token_.empty())
      req.set(http::field::authorization, "Bearer " + token_);
    if (!body.empty()) {
      req.set(http::field::content_type, content_type);
      req.body() = body;
    }
    for (auto& [k, v] : headers)
      req.set(k, v);
    req.prepare_payload();
    beast::error_code ec;
    http::write(*st_->socket, req, ec);
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 << 20);
    // A response to HEAD has a Content-Length but no body.
    parser.skip(req.method() == http::verb::head);
    if (!ec)
      http::read(*st_->socket, st_->buffer, parser, ec);
    if (ec) {
      // The server may have closed an idle keep-alive connection: retry
      // once on a fresh one.
      st_->socket.reset();
      if (attempt == 0)
        continue;
      throw std::runtime_error(method + " " + target + ": " + ec.message());
    }
    auto res = parser.release();
    http_reply out;
    out.status = res.result_int();
    for (auto& f : res) {
      auto name = std::string{f.name_string()};
      for (auto& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      out.headers[name] = std::string{f.value()};
    }
    out.body = std::move(res.body());
    if (!res.keep_alive())
      st_->socket.reset();
    return out;
  }
  throw std::runtime_error("unreachable");
}

// -- raw_connection -----------------------------------------------------------

raw_connection::raw_connection(uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0)
    throw std::runtime_error("connect failed");
}

raw_connection::~raw_connection() {
  if (fd_ >= 0)
    ::close(fd_);
}

void raw_connection::send(const std::string& bytes) {
  size_t off = 0;
  while (off < bytes.size()) {
    auto n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0)
      throw std::runtime_error("send failed");
    off += static_cast<size_t>(n);
  }
}

std::string
raw_connection::read_until(const std::function<bool(const std::string&)>& pred,
                           std::chrono::milliseconds deadline) {
  std::string out;
  auto until = std::chrono::steady_clock::now() + deadline;
  while (!closed_ && !pred(out)) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  until - std::chrono::steady_clock::now())
                  .count();
    if (left <= 0)
      break;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0)
      continue;
    char buf[8192];
    auto n = ::recv(fd_, buf, sizeof(buf), 0);
    if (n <= 0) {
      closed_ = true;
      break;
    }
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

bool raw_connection::wait_closed(std::chrono::milliseconds deadline) {
  read_until([](const std::string&) { return false; }, deadline);
  return closed_;
}

// -- helpers ------------------------------------------------------------------

bool wait_until(const std::function<bool()>& pred,
                std::chrono::milliseconds deadline) {
  auto until = std::chrono::steady_clock::now() + deadline;
  while (std::chrono::steady_clock::now() < until) {
    if (pred())
      return true;
    std::this_thread::sleep_for(std::chrono::milliseconds{10});
  }
  return pred();
}

std::string field_of(const http_reply& r) {
  return json_at(r.body, "/error/field").value_or("<none>");
}

std::string message_of_body(const http_reply& r) {
  return json_at(r.body, "/error/message").value_or("<none>");
}

bool answers_healthz(uint16_t port) {
  try {
    return http_client{port}.get("/healthz").status == 200;
  } catch (...) {
    return false;
  }
}

std::string status_of(http_client& c, const std::string& id) {
  auto r = c.get("/api/jobs/" + id);
  if (r.status == 200)
    return json_at(r.body, "/status").value_or("?");
  return "<" + std::to_string(r.status) + ">";
}

http_env_options with_other() {
  http_env_options opts;
  opts.add_handlers = [](handler_registry& h) {
    h.add("OTHER", std::make_shared<echo_handler>());
  };
  return opts;
}

std::optional<std::string> json_at(const std::string& body,
                                   const std::string& pointer) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(body).get(doc))
    return std::nullopt;
  simdjson::dom::element v;
  if (doc.at_pointer(pointer).get(v))
    return std::nullopt;
  std::string_view s;
  if (!v.get_string().get(s))
    return std::string{s};
  return simdjson::to_string(v);
}

int json_count(const std::string& body, const std::string& pointer) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (parser.parse(body).get(doc))
    return -1;
  simdjson::dom::array a;
  if (doc.at_pointer(pointer).get(a))
    return -1;
  return static_cast<int>(a.size());
}

int run_command(const std::string& cmd, std::string& output) {
  output.clear();
  auto pipe = ::popen((cmd + " 2>&1").c_str(), "r");
  if (!pipe)
    return -1;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0)
    output.append(buf, n);
  auto status = ::pclose(pipe);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

} // namespace jobd::test
