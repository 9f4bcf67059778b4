// Fuzz target: the HTTP front end as a client meets it. Each input is sent
// as raw bytes over a fresh loopback connection to a real http_server (the
// session's request reader, the router, auth, the API handlers) backed by a
// SQLite store in a temp dir and the built-in job types (no workers run);
// the client then half-closes and reads everything until the server closes.
// The server has small limits (body 1 KiB, batch 4 KiB, 5 jobs per batch,
// depth 8) so short inputs reach them, and an API token ("fuzz-token").
// Invariants: no crash, UB or hang (the server must close within seconds of
// the client's end of input); the server keeps accepting connections; what
// it sends is a sequence of well-formed HTTP responses with the documented
// status codes (never 500: bad input must not reach the database as an
// error); every error response is JSON {"error":{"code","message"}} with
// the documented headers (Allow on 405, WWW-Authenticate on 401); JSON
// responses are well-formed.
#include <arpa/inet.h>
#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <unistd.h>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <simdjson.h>

#include "actors/runtime.hpp"
#include "fuzz/fuzz_check.hpp"
#include "handlers/builtin.hpp"
#include "http/server.hpp"
#include "storage/errors.hpp"
#include "storage/json_text.hpp"
#include "support/temp_dir.hpp"

using namespace jobd;
using jobd::fuzz::require;
namespace http = boost::beast::http;

namespace {

struct env {
  test::temp_dir dir;
  caf::actor_system_config caf_cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<handler_registry> handlers
    = std::make_shared<handler_registry>();
  runtime rt;
  std::unique_ptr<http_server> server;

  env() {
    register_types(caf_cfg);
    caf_cfg.set("logger.verbosity", caf::atom("quiet"));
    caf_cfg.set("logger.console", caf::atom("none"));
    sys = std::make_unique<caf::actor_system>(caf_cfg);
    auto clock = std::make_shared<system_clock_source>();
    builtin_config bcfg;
    bcfg.fine_tune_export.directory = dir.file("exports");
    register_builtin_handlers(*handlers, bcfg, clock);
    store_options opts;
    opts.url = dir.file("jobs.db");
    opts.synchronous = "OFF"; // speed; durability is not under test
    auto st = open_store(opts, clock);
    require(static_cast<bool>(st), "cannot open the store",
            st ? "" : message_of(st.error()));
    runtime_config rcfg;
    rcfg.run_workers = false; // jobs stay PENDING: only the API is fuzzed
    rt = start_runtime(*sys, std::move(*st), handlers, rcfg, clock);
    http_config cfg;
    cfg.port = 0;
    cfg.api_token = "fuzz-token";
    cfg.body_limit = 1024;
    cfg.batch_body_limit = 4096;
    cfg.max_batch_jobs = 5;
    cfg.max_depth = 8;
    cfg.io_threads = 1;
    auto srv = http_server::start(*sys, cfg, rt.store, handlers);
    require(static_cast<bool>(srv), "cannot start the server",
            srv ? "" : message_of(srv.error()));
    server = std::move(*srv);
  }

  // Stops the server and the actors. The actor system itself is left
  // alone (never destroyed): this runs from exit(), after some of CAF's own
  // statics are gone, and ~actor_system would touch them.
  void stop() {
    server->stop();
    stop_runtime(*sys, rt, 0);
  }
};

env* the_env = nullptr; // reachable until the end, so not reported as leaked

void start_once() {
  if (the_env != nullptr)
    return;
  the_env = new env;
  std::atexit([] { the_env->stop(); });
}

// Sends `in`, half-closes, and returns everything the server sent until it
// closed. Aborts if it does not close in time.
std::string exchange(uint16_t port, std::string_view in) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  require(fd >= 0
            && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr))
                 == 0,
          "the server must keep accepting connections");
  size_t off = 0;
  while (off < in.size()) {
    auto n = ::send(fd, in.data() + off, in.size() - off, MSG_NOSIGNAL);
    if (n <= 0)
      break; // the server closed early (e.g. after refusing the header)
    off += static_cast<size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  std::string out;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds{5};
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                  deadline - std::chrono::steady_clock::now())
                  .count();
    require(left > 0, "the server must close soon after the request ends",
            "input:\n" + std::string{in} + "\n--- received so far:\n" + out);
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left)) <= 0)
      continue;
    char buf[16384];
    auto n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0)
      break;
    out.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return out;
}

// The requests in `in` as the server reads them: their methods in order
// (to know which responses answer a HEAD and so have no body), and whether
// reading stopped at a body that is malformed (not merely cut short).
struct request_list {
  std::vector<http::verb> methods;
  bool malformed_body = false;
};

request_list parse_requests(std::string_view in) {
  request_list out;
  while (!in.empty()) {
    http::request_parser<http::string_body> p;
    p.eager(true);
    p.header_limit(16 * 1024);
    p.body_limit(64 << 20);
    boost::beast::error_code ec;
    size_t used = 0;
    while (!p.is_done() && used < in.size()) {
      auto n = p.put(boost::asio::buffer(in.data() + used, in.size() - used),
                     ec);
      used += n;
      if (ec || n == 0)
        break;
    }
    if (p.is_header_done()) {
      out.methods.push_back(p.get().method());
      out.malformed_body = ec && ec != http::error::need_more;
    } else if (ec && ec != http::error::need_more) {
      // A header the server refuses: its answer to a request line that
      // says HEAD is still a header alone.
      out.methods.push_back(in.substr(0, 5) == "HEAD " ? http::verb::head
                                                       : http::verb::unknown);
    }
    if (!p.is_done())
      break;
    in.remove_prefix(used);
  }
  return out;
}

bool documented_status(unsigned s) {
  switch (s) {
    case 100: case 200: case 201: case 204: case 304: case 400: case 401:
    case 404: case 405: case 409: case 413: case 415: case 431: case 503:
      return true;
    default:
      return false;
  }
}

void check_error_body(const http::response<http::string_body>& res,
                      const std::string& ctx) {
  require(res[http::field::content_type].starts_with("application/json"),
          "an error response is JSON", ctx);
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  std::string_view code, message, field;
  require(!parser.parse(res.body()).get(doc)
            && !doc["error"]["code"].get_string().get(code) && !code.empty()
            && !doc["error"]["message"].get_string().get(message)
            && !message.empty(),
          "an error body is {\"error\":{\"code\",\"message\"}}", ctx);
  auto f = doc["error"]["field"];
  require(f.error() == simdjson::NO_SUCH_FIELD || !f.get_string().get(field),
          "error.field, when present, is a string", ctx);
}


void check_responses(std::string_view in, const std::string& got) {
  auto requests = parse_requests(in);
  auto& methods = requests.methods;
  auto ctx = "input:\n" + std::string{in} + "\n--- response:\n" + got;
  if (requests.malformed_body)
    require(!got.empty(), "a malformed body is answered (400), not dropped",
            ctx);
  size_t used = 0;
  size_t answered = 0; // final (non-1xx) responses so far
  while (used < got.size()) {
    http::response_parser<http::string_body> p;
    p.eager(true);
    p.body_limit(64 << 20);
    // A request the parser here could not read at all still has a request
    // line the server looked at.
    bool head = answered < methods.size()
                  ? methods[answered] == http::verb::head
                  : answered == 0 && in.substr(0, 5) == "HEAD ";
    p.skip(head);
    boost::beast::error_code ec;
    while (!p.is_done() && used < got.size()) {
      auto n = p.put(boost::asio::buffer(got.data() + used, got.size() - used),
                     ec);
      used += n;
      if (ec == http::error::need_more && n > 0)
        continue;
      if (ec || n == 0)
        break;
    }
    if (!p.is_done() && !ec && p.is_header_done())
      p.put_eof(ec); // a body that ends with the connection (event stream)
    require(p.is_done() && !ec, "the server sends well-formed responses", ctx);
    auto& res = p.get();
    auto status = res.result_int();
    require(documented_status(status), "only documented status codes", ctx);
    if (status >= 100 && status < 200)
      continue;
    ++answered;
    if (status >= 400) {
      if (!head) // a HEAD answer has the headers only
        check_error_body(res, ctx);
      if (status == 405)
        require(!res[http::field::allow].empty(), "405 lists what is allowed",
                ctx);
      if (status == 401)
        require(!res[http::field::www_authenticate].empty(),
                "401 says how to authenticate", ctx);
    } else if (!head && res[http::field::content_type].starts_with(
                                "application/json")) {
      std::string why;
      require(check_json(res.body(), why, 1024), "JSON responses are JSON",
              ctx + "\n" + why);
    }
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  start_once();
  auto in = fuzz::text_of(data, size);
  auto got = exchange(the_env->server->port(), in);
  check_responses(in, got);
  return 0;
}
