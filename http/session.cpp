#include "http/session.hpp"

#include "http/worker_api.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <caf/sec.hpp>

#include "actors/log.hpp"
#include "http/job_input.hpp"

namespace jobd {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

/// Header bytes a request may have (request line and fields).
constexpr uint32_t header_limit = 16 * 1024;
/// Body bytes a route that takes no body reads (and ignores).
constexpr uint64_t no_body_limit = 64 * 1024;
/// After refusing a request whose body was not read: how long and how much
/// to read and discard before closing, so the client sees the response
/// instead of a connection reset.
constexpr auto linger_time = std::chrono::milliseconds{500};
constexpr size_t linger_bytes = 256 * 1024;

std::chrono::milliseconds ms(int64_t n) { return std::chrono::milliseconds{n}; }

bool is_json_type(beast::string_view ct) {
  auto semi = ct.find(';');
  auto base = std::string{ct.substr(0, semi)};
  base.erase(std::remove_if(base.begin(), base.end(),
                            [](unsigned char c) { return std::isspace(c); }),
             base.end());
  std::transform(base.begin(), base.end(), base.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return base == "application/json";
}

} // namespace

session::session(tcp::socket&& socket, std::shared_ptr<server_context> ctx)
  : stream_(std::move(socket)),
    ctx_(std::move(ctx)),
    heartbeat_(stream_.get_executor()),
    request_timer_(stream_.get_executor()) {
}

session::~session() {
  end_in_flight();
  if (is_event_stream_)
    --ctx_->metrics.event_streams_open;
  if (admitted_)
    ctx_->release(this);
}

void session::start() {
  net::dispatch(stream_.get_executor(), [self = shared_from_this()] {
    self->admitted_ = self->ctx_->admit(self.get(), self->weak_from_this());
    if (!self->admitted_) {
      ++self->ctx_->metrics.connections_rejected;
      self->method_ = "-";
      self->send(error_response(503, "too_many_connections",
                                "the server has http.max_connections open "
                                "connections (or is stopping); try again "
                                "later"),
                 true);
      return;
    }
    self->wait_for_request();
  });
}

void session::close_soon() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    switch (self->phase_) {
      case phase::handling:
      case phase::writing:
        // Let the request in flight finish; close after its response.
        self->close_after_reply_ = true;
        break;
      case phase::closing:
      case phase::closed:
        break;
      default:
        self->close_now();
    }
  });
}

void session::note_timeout(const beast::error_code& ec) {
  if (ec == beast::error::timeout)
    ++ctx_->metrics.timeouts;
}

// -- requests -----------------------------------------------------------------

void session::wait_for_request() {
  phase_ = phase::reading;
  if (close_after_reply_)
    return close_now();
  if (buffer_.size() > 0)
    return read_header(); // a pipelined request is already here
  // Idle keep-alive time: wait for the first bytes of the next request.
  stream_.expires_after(ms(ctx_->cfg.idle_timeout_ms));
  stream_.async_read_some(
    buffer_.prepare(4096),
    [self = shared_from_this()](beast::error_code ec, size_t n) {
      if (ec) {
        self->note_timeout(ec);
        return self->close_now();
      }
      self->buffer_.commit(n);
      self->read_header();
    });
}

void session::read_header() {
  parser_.emplace();
  parser_->header_limit(header_limit);
  // No limit until the route is known (a Content-Length over a limit
  // would fail the header read itself); set per route in on_header.
  parser_->body_limit(std::numeric_limits<uint64_t>::max());
  route_ = nullptr;
  route_label_ = "unmatched";
  head_request_ = false;
  header_scanned_ = 0;
  // The whole header must arrive within header_timeout, however slowly
  // it trickles in.
  stream_.expires_after(ms(ctx_->cfg.header_timeout_ms));
  scan_header();
}

void session::scan_header() {
  // The raw header is looked at before the parser sees it: Beast accepts
  // obsolete line folding and hides it (it joins the lines), but RFC 9112
  // 5.2 lets a server only refuse it or replace it, and a server that
  // accepts it reads the header differently from a proxy that does not.
  auto data = buffer_.data();
  std::string_view bytes{static_cast<const char*>(data.data()), data.size()};
  // Known from the request line on, so that even a header refused before
  // it is parsed (folded, malformed, too large) gets a HEAD's answer: the
  // header alone (found by fuzzing). on_header() sets it again from the
  // parsed method.
  head_request_ = bytes.substr(0, 5) == "HEAD ";
  auto from = header_scanned_ > 3 ? header_scanned_ - 3 : 0;
  auto end = bytes.find("\r\n\r\n", from);
  if (end != std::string_view::npos) {
    if (end + 4 > header_limit)
      return on_header(http::error::header_limit);
    return parse_header(bytes.substr(0, end + 4));
  }
  if (bytes.size() >= header_limit)
    return on_header(http::error::header_limit);
  header_scanned_ = bytes.size();
  stream_.async_read_some(
    buffer_.prepare(4096),
    [self = shared_from_this()](beast::error_code ec, size_t n) {
      if (ec)
        return self->on_header(ec);
      self->buffer_.commit(n);
      self->scan_header();
    });
}

void session::parse_header(std::string_view header) {
  // A line that starts with a space or tab continues the previous one
  // (obs-fold; also whitespace before the first field, RFC 9112 2.2).
  // (`header` ends with the blank line, so the last line looked at is the
  // last field's.)
  for (auto crlf = header.find("\r\n");
       crlf != std::string_view::npos && crlf + 4 < header.size();
       crlf = header.find("\r\n", crlf + 2)) {
    auto next = header[crlf + 2];
    if (next == ' ' || next == '\t') {
      method_ = "-";
      started_ = std::chrono::steady_clock::now();
      return send(error_response(400, "bad_request",
                                 "malformed HTTP request: a header line "
                                 "starts with whitespace (obsolete line "
                                 "folding is not accepted; send each field "
                                 "on one line)"),
                  true);
    }
  }
  beast::error_code ec;
  auto used = parser_->put(net::buffer(header.data(), header.size()), ec);
  buffer_.consume(used);
  if (!ec && !parser_->is_header_done())
    ec = http::error::partial_message; // cannot happen: the header is whole
  on_header(ec);
}

void session::on_header(beast::error_code ec) {
  started_ = std::chrono::steady_clock::now();
  cors_origin_.clear();
  path_.clear();
  if (ec == http::error::end_of_stream || ec == net::error::eof)
    return close_now();
  if (ec == http::error::header_limit) {
    method_ = "-";
    return send(error_response(431, "header_too_large",
                               "the request header is over 16 KiB"),
                true);
  }
  if (ec) {
    note_timeout(ec);
    if (ec == beast::error::timeout || ec == net::error::operation_aborted
        || ec == net::error::connection_reset)
      return close_now();
    method_ = "-";
    return send(error_response(400, "bad_request",
                               "malformed HTTP request: " + ec.message()),
                true);
  }
  auto& req = parser_->get();
  version_ = req.version();
  keep_alive_ = req.keep_alive();
  method_ = std::string{http::to_string(req.method())};
  if (req.method() == http::verb::unknown)
    method_ = "-";
  head_request_ = req.method() == http::verb::head;
  bool body_pending = !parser_->is_done();
  // RFC 9112 3.2: exactly one Host (none is allowed in HTTP/1.0 only).
  auto hosts = req.count(http::field::host);
  if (hosts > 1 || (hosts == 0 && version_ >= 11))
    return send(error_response(400, "bad_request",
                               hosts > 1 ? "malformed HTTP request: more "
                                           "than one Host header"
                                         : "malformed HTTP request: an "
                                           "HTTP/1.1 request needs a Host "
                                           "header"),
                true);
  auto target = req.target();
  auto qpos = target.find('?');
  auto path = target.substr(0, qpos);
  path_.assign(path.data(), std::min<size_t>(path.size(), 256));
  auto origin = req[http::field::origin];
  cors_origin_ = ctx_->cors_allow(std::string_view{origin.data(), origin.size()});
  // A browser's CORS preflight: may a page of this origin send that
  // method to this path? Answered without the API token (browsers send
  // none with it), before the route's own method check.
  if (req.method() == http::verb::options && !origin.empty()
      && req.count(http::field::access_control_request_method) > 0) {
    if (cors_origin_.empty())
      return send(error_response(403, "origin_not_allowed",
                                 "this page's origin may not use the API "
                                 "from a browser: add it to "
                                 "http.cors_origins"),
                  body_pending);
    auto wanted = http::string_to_verb(
      req[http::field::access_control_request_method]);
    auto pm = match_route(wanted, std::string_view{path.data(), path.size()});
    if (wanted == http::verb::unknown
        || pm.result != route_match::found) {
      auto res = error_response(
        pm.result == route_match::method_not_allowed ? 405 : 404,
        pm.result == route_match::method_not_allowed ? "method_not_allowed"
                                                     : "not_found",
        pm.result == route_match::method_not_allowed
          ? std::string{"this path accepts "} + pm.allow
          : "no such route; see /openapi.yaml for the API");
      if (pm.result == route_match::method_not_allowed)
        res.set(http::field::allow, pm.allow);
      return send(std::move(res), body_pending);
    }
    http_response res{http::status::no_content, version_};
    res.set(http::field::access_control_allow_methods,
            "GET, HEAD, POST, PATCH, DELETE");
    res.set(http::field::access_control_allow_headers,
            "Authorization, Content-Type, Prefer, Last-Event-ID");
    res.set(http::field::access_control_max_age, "600");
    return send(std::move(res), body_pending);
  }
  auto m = match_route(req.method(), std::string_view{path.data(), path.size()});
  if (m.result == route_match::method_not_allowed) {
    auto res = error_response(405, "method_not_allowed",
                              std::string{"this path accepts "} + m.allow);
    res.set(http::field::allow, m.allow);
    return send(std::move(res), body_pending);
  }
  if (m.result == route_match::not_found
      || (!ctx_->cfg.dashboard && m.r->dashboard)) {
    return send(error_response(404, "not_found",
                               "no route " + method_ + " "
                                 + std::string{path}
                                 + "; see /openapi.yaml for the API"),
                body_pending);
  }
  route_ = m.r;
  route_label_ = route_->pattern;
  param_ = std::move(m.param);

  // Auth, before anything else is looked at. The worker routes take the
  // worker token when one is set (or the API token); no other route does.
  bool worker_route = is_worker_route(route_->id);
  bool worker_auth = worker_route && !ctx_->worker_token.empty();
  if ((!ctx_->token.empty() || worker_auth) && route_->needs_auth) {
    bool ok = false;
    auto auth = req[http::field::authorization];
    if (auth.size() > 7 && beast::iequals(auth.substr(0, 7), "Bearer ")) {
      std::string presented{auth.substr(7)};
      ok = token_matches(presented, ctx_->token)
           || (worker_auth && token_matches(presented, ctx_->worker_token));
    }
    if (!ok && route_->id == route_id::events && qpos != beast::string_view::npos) {
      // EventSource cannot send headers: the token may come as ?token=.
      std::vector<std::pair<std::string, std::string>> params;
      auto q = target.substr(qpos + 1);
      if (!parse_query(std::string_view{q.data(), q.size()}, params))
        for (auto& [k, v] : params)
          if (k == "token")
            ok = ok || token_matches(v, ctx_->token);
    }
    if (!ok) {
      auto res = error_response(
        401, "unauthorized",
        auth.empty()
          ? std::string{"this server needs "}
              + (worker_auth ? "the worker token" : "an API token")
              + ": send the header 'Authorization: Bearer <token>'"
          : worker_auth ? std::string{"the worker token is wrong"}
          : ctx_->worker_token.empty()
            ? std::string{"the API token is wrong"}
            : std::string{"the API token is wrong (a worker token opens "
                          "/api/worker/* only)"});
      res.set(http::field::www_authenticate, "Bearer realm=\"jobd\"");
      return send(std::move(res), body_pending);
    }
  }

  // The body: limit per route, refused before reading when announced too big.
  uint64_t limit = no_body_limit;
  if (route_->body == body_kind::json)
    limit = static_cast<uint64_t>(ctx_->cfg.body_limit);
  else if (route_->body == body_kind::batch)
    limit = static_cast<uint64_t>(ctx_->cfg.batch_body_limit);
  body_limit_ = limit;
  auto length = parser_->content_length();
  if (length && *length > limit)
    return send(error_response(413, "body_too_large",
                               "the request body has " + std::to_string(*length)
                                 + " bytes; this route takes at most "
                                 + std::to_string(limit)),
                body_pending);
  if (route_->body != body_kind::none && body_pending
      && !is_json_type(req[http::field::content_type]))
    return send(error_response(415, "unsupported_media_type",
                               "send the body as JSON with the header "
                               "'Content-Type: application/json'"),
                body_pending);
  parser_->body_limit(limit);

  if (route_->id == route_id::events) {
    if (!head_request_)
      return start_events(req["Last-Event-ID"]);
    // HEAD: the stream's header; no length, since the stream has none.
    http_response res{http::status::ok, version_};
    res.set(http::field::content_type, "text/event-stream");
    res.set(http::field::cache_control, "no-store");
    return send(std::move(res), true);
  }
  if (!body_pending)
    return dispatch();
  if (beast::iequals(req[http::field::expect], "100-continue")) {
    // The client waits for this before sending a large body.
    static const std::string cont = "HTTP/1.1 100 Continue\r\n\r\n";
    stream_.expires_after(ms(ctx_->cfg.write_timeout_ms));
    return net::async_write(stream_, net::buffer(cont),
                            [self = shared_from_this()](beast::error_code ec,
                                                        size_t) {
                              if (ec)
                                return self->close_now();
                              self->read_body();
                            });
  }
  read_body();
}

void session::read_body() {
  stream_.expires_after(ms(ctx_->cfg.read_timeout_ms));
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, size_t) {
                     self->on_body(ec);
                   });
}

void session::on_body(beast::error_code ec) {
  if (ec == http::error::body_limit)
    return send(error_response(413, "body_too_large",
                               "the request body is over this route's limit "
                               "of "
                                 + std::to_string(body_limit_) + " bytes"),
                true);
  if (ec == http::error::partial_message || ec == http::error::end_of_stream) {
    return close_now(); // the client went away mid-body
  }
  if (ec.category() == http::make_error_code(http::error::bad_chunk).category()) {
    // A body the parser cannot read (a chunk size such as "zz", a bad
    // chunk extension): say so, then close, since where the next request
    // would start is unknown.
    return send(error_response(400, "bad_request",
                               "malformed request body: " + ec.message()),
                true);
  }
  if (ec) {
    note_timeout(ec);
    return close_now();
  }
  dispatch();
}

void session::dispatch() {
  phase_ = phase::handling;
  in_flight_ = true;
  ++ctx_->metrics.requests_in_flight;
  auto& req = parser_->get();
  api_request ar;
  ar.method = req.method();
  auto target = req.target();
  auto qpos = target.find('?');
  ar.path = std::string{target.substr(0, qpos)};
  if (qpos != beast::string_view::npos)
    ar.query = std::string{target.substr(qpos + 1)};
  ar.param = std::move(param_);
  if (route_->body != body_kind::none)
    ar.body = std::move(req.body());
  ar.if_none_match = std::string{req[http::field::if_none_match]};
  // Where a worker calls from: its host on the dashboard when it names
  // none (GET /api/workers).
  if (route_->id == route_id::worker_fetch) {
    beast::error_code ec;
    auto ep = stream_.socket().remote_endpoint(ec);
    if (!ec)
      ar.peer = ep.address().to_string();
  }
  for (auto& f : req)
    if (f.name() == http::field::prefer
        && prefers_minimal({f.value().data(), f.value().size()}))
      ar.prefer_minimal = true;
  // The answer is due within http.request_timeout: a store that does not
  // answer in time gets the client a 503, whichever path the request took.
  // A worker's fetch may first wait for work (waitMs, up to
  // max_worker_wait_ms): its answer is due that much later.
  auto seq = ++request_seq_;
  auto due = ctx_->cfg.request_timeout_ms;
  if (route_->id == route_id::worker_fetch)
    due += max_worker_wait_ms;
  request_timer_.expires_after(ms(due));
  request_timer_.async_wait([self = shared_from_this(),
                             seq](beast::error_code ec) {
    if (ec || !self->answering(seq))
      return;
    self->send(store_error_response(caf::sec::request_timeout), false);
  });
  // The reply may come from a CAF thread: hop back onto this strand.
  handle_request(ctx_, *route_, std::move(ar),
                 [self = shared_from_this(), seq](http_response res) {
                   net::post(self->stream_.get_executor(),
                             [self, seq, res = std::move(res)]() mutable {
                               if (!self->answering(seq))
                                 return; // timed out, answered already
                               self->request_timer_.cancel();
                               self->send(std::move(res), false);
                             });
                 });
}

bool session::answering(uint64_t seq) const {
  return phase_ == phase::handling && request_seq_ == seq;
}

void session::end_in_flight() {
  if (in_flight_) {
    in_flight_ = false;
    --ctx_->metrics.requests_in_flight;
  }
}

void session::send(http_response res, bool close) {
  end_in_flight();
  if (phase_ == phase::closed)
    return;
  phase_ = phase::writing;
  close = close || !keep_alive_ || close_after_reply_;
  res.version(version_);
  res.keep_alive(!close);
  res.set(http::field::server, "jobd");
  if (!cors_origin_.empty()) {
    res.set(http::field::access_control_allow_origin, cors_origin_);
    res.set(http::field::access_control_expose_headers,
            "Location, Preference-Applied, Retry-After, ETag");
  }
  // Answers differ by Origin once CORS is on: caches must keep them apart.
  if (!ctx_->cors_origins.empty())
    res.set(http::field::vary, "Origin");
  // An event stream's header (HEAD /api/events) has no length; every
  // other response has its body's.
  if (!(head_request_ && route_ && route_->id == route_id::events))
    res.prepare_payload();
  auto secs = std::chrono::duration<double>(std::chrono::steady_clock::now()
                                            - started_)
                .count();
  ctx_->metrics.observe(method_, route_label_, res.result_int(), secs);
  if (ctx_->cfg.access_log)
    log_event(log_level::info, "http request",
              {{"method", method_},
               {"path", path_.empty() ? std::string{"-"} : path_},
               log_num("status", res.result_int()),
               log_num("duration_us", static_cast<int64_t>(secs * 1e6))});
  response_ = std::make_shared<http_response>(std::move(res));
  stream_.expires_after(ms(ctx_->cfg.write_timeout_ms));
  if (head_request_) {
    // HEAD: the header GET would get (Content-Length included), no body
    // (RFC 9110 9.3.2).
    serializer_.emplace(*response_);
    return http::async_write_header(
      stream_, *serializer_,
      [self = shared_from_this(), close](beast::error_code ec, size_t) {
        self->on_written(close, ec);
      });
  }
  http::async_write(stream_, *response_,
                    [self = shared_from_this(), close](beast::error_code ec,
                                                       size_t) {
                      self->on_written(close, ec);
                    });
}

void session::on_written(bool close, beast::error_code ec) {
  serializer_.reset();
  response_.reset();
  if (ec) {
    note_timeout(ec);
    return close_now();
  }
  if (close)
    return linger_close();
  wait_for_request();
}

void session::linger_close() {
  phase_ = phase::closing;
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
  if (ec)
    return close_now();
  // Read and drop whatever the client still sends, briefly.
  buffer_.clear();
  lingered_ = 0;
  stream_.expires_after(linger_time);
  linger_read();
}

// One read of the linger loop. Each pending read holds only `self`: a
// handler destroyed unrun (io_context stopped) frees the session, so the
// server context and the store actor it references are released too.
void session::linger_read() {
  stream_.async_read_some(
    buffer_.prepare(16 * 1024),
    [self = shared_from_this()](beast::error_code ec, size_t n) {
      self->lingered_ += n;
      self->buffer_.clear();
      if (ec || self->lingered_ >= linger_bytes)
        return self->close_now();
      self->linger_read();
    });
}

void session::close_now() {
  if (phase_ == phase::closed)
    return;
  phase_ = phase::closed;
  heartbeat_.cancel();
  request_timer_.cancel();
  beast::error_code ec;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
  stream_.close();
}

// -- event streams ------------------------------------------------------------

namespace {

// A Last-Event-ID this server sent: a feed position, 1 to 18 digits.
int64_t feed_position_of(beast::string_view text) {
  if (text.empty() || text.size() > 18)
    return -1;
  int64_t out = 0;
  for (char ch : text) {
    if (ch < '0' || ch > '9')
      return -1;
    out = out * 10 + (ch - '0');
  }
  return out;
}

} // namespace

void session::start_events(beast::string_view last_event_id) {
  phase_ = phase::streaming;
  is_event_stream_ = true;
  ++ctx_->metrics.event_streams_open;
  ctx_->metrics.observe(method_, route_label_, 200, 0);
  // No Content-Length and no chunking: the stream ends when the connection
  // does, which is what EventSource expects.
  // The allowed origin is the configured string, never the request's.
  auto cors = cors_origin_.empty()
                ? std::string{}
                : "Access-Control-Allow-Origin: " + cors_origin_ + "\r\n";
  if (!ctx_->cors_origins.empty())
    cors += "Vary: Origin\r\n";
  auto head = std::make_shared<std::string>(
    "HTTP/1.1 200 OK\r\n"
    "Server: jobd\r\n"
    "Content-Type: text/event-stream\r\n"
    "Cache-Control: no-store\r\n"
    "X-Accel-Buffering: no\r\n"
    + cors
    + "Connection: close\r\n"
    "\r\n"
    "retry: 2000\n\n");
  // Joins through the store actor, between two pages of the change feed;
  // a stream that resumes gets what it missed first. ": connected" follows
  // once it has joined: every change committed after that reaches it.
  std::weak_ptr<session> weak = shared_from_this();
  join_feed(ctx_->store, ctx_->hub,
            std::static_pointer_cast<event_sink>(shared_from_this()),
            feed_position_of(last_event_id), [weak](int64_t through) {
              if (auto s = weak.lock())
                s->skip_through_ = through;
            });
  enqueue_frame(std::move(head));
  arm_heartbeat();
  watch_peer();
}

void session::push(std::shared_ptr<const std::string> frame, int64_t seq) {
  if (seq >= 0 && seq <= skip_through_)
    return; // the replay gave it
  net::post(stream_.get_executor(),
            [self = shared_from_this(), frame = std::move(frame)]() mutable {
              self->enqueue_frame(std::move(frame));
            });
}

void session::enqueue_frame(std::shared_ptr<const std::string> frame) {
  if (phase_ != phase::streaming)
    return;
  if (frames_.size() >= max_queued_events) {
    // The client reads slower than jobs change; it reconnects and reloads.
    ++ctx_->metrics.event_streams_dropped;
    return close_now();
  }
  frames_.push_back(std::move(frame));
  if (!writing_frame_)
    write_next_frame();
}

void session::write_next_frame() {
  writing_frame_ = true;
  stream_.expires_after(ms(ctx_->cfg.write_timeout_ms));
  net::async_write(stream_, net::buffer(*frames_.front()),
                   [self = shared_from_this()](beast::error_code ec, size_t) {
                     self->writing_frame_ = false;
                     if (ec) {
                       self->note_timeout(ec);
                       self->frames_.clear();
                       return self->close_now();
                     }
                     self->frames_.pop_front();
                     ++self->ctx_->metrics.events_sent;
                     if (!self->frames_.empty() && self->phase_ == phase::streaming)
                       self->write_next_frame();
                   });
}

void session::arm_heartbeat() {
  heartbeat_.expires_after(ms(ctx_->cfg.sse_heartbeat_ms));
  heartbeat_.async_wait([self = shared_from_this()](beast::error_code ec) {
    if (ec || self->phase_ != phase::streaming)
      return;
    static const auto ping = std::make_shared<const std::string>(": ping\n\n");
    self->enqueue_frame(ping);
    self->arm_heartbeat();
  });
}

void session::watch_peer() {
  // A client that goes away shows as the socket becoming readable with
  // EOF (or an error); anything it sends on an event stream is dropped.
  stream_.socket().async_wait(
    tcp::socket::wait_read, [self = shared_from_this()](beast::error_code ec) {
      if (ec || self->phase_ != phase::streaming)
        return self->close_now();
      char scratch[1024];
      beast::error_code rec;
      auto n = self->stream_.socket().read_some(net::buffer(scratch), rec);
      if (rec || n == 0)
        return self->close_now();
      self->watch_peer();
    });
}

} // namespace jobd
