#include "support/fake_openai.hpp"

#include <condition_variable>
#include <cstdlib>
#include <deque>
#include <functional>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <simdjson.h>

#include "storage/json_text.hpp"

namespace jobd::test {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

// Declaration order matters for shutdown: the script, the log and `answer`
// outlive the io_context (whose destruction frees pending sessions), which
// outlives the acceptor.
struct fake_openai::impl {
  mutable std::mutex mtx;
  mutable std::condition_variable arrived;
  std::deque<response> script;
  std::vector<request> seen;
  std::function<response(const request&)> responder; // guarded by mtx
  std::function<response(request)> answer = [this](request r) {
    return next(std::move(r));
  };

  net::io_context io;
  tcp::acceptor acceptor{io};
  uint16_t port = 0;
  std::thread thread;

  response next(request r) {
    std::unique_lock<std::mutex> guard{mtx};
    seen.push_back(r);
    arrived.notify_all();
    if (responder) {
      auto fn = responder;
      guard.unlock();
      return fn(r);
    }
    if (script.empty()) {
      response none;
      none.status = 500;
      none.body = error_body("fake_openai: no scripted response left");
      return none;
    }
    auto res = std::move(script.front());
    script.pop_front();
    return res;
  }

  void accept();
};

namespace {

// Records a request and picks its scripted response.
using answer_fn = std::function<fake_openai::response(fake_openai::request)>;

class session : public std::enable_shared_from_this<session> {
public:
  session(tcp::socket socket, const answer_fn& answer)
    : stream_(std::move(socket)), timer_(stream_.get_executor()),
      answer_(answer) {
  }

  void read() {
    req_ = {};
    http::async_read(stream_, buf_, req_,
                     [self = shared_from_this()](beast::error_code ec,
                                                 size_t) {
                       self->on_read(ec);
                     });
  }

private:
  void on_read(beast::error_code ec) {
    if (ec)
      return close();
    fake_openai::request seen;
    seen.method = std::string{req_.method_string()};
    seen.target = std::string{req_.target()};
    for (auto& field : req_) {
      std::string name{field.name_string()};
      for (auto& c : name)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      seen.headers[name] = std::string{field.value()};
    }
    seen.body = req_.body();
    auto scripted = answer_(std::move(seen));
    if (!scripted.pieces.empty())
      return stream(std::move(scripted));
    res_ = {};
    res_.version(req_.version());
    res_.result(scripted.status);
    res_.set(http::field::content_type, "application/json");
    for (auto& h : scripted.headers)
      res_.set(h.first, h.second);
    res_.body() = std::move(scripted.body);
    res_.keep_alive(req_.keep_alive());
    res_.prepare_payload();
    if (scripted.delay.count() > 0) {
      timer_.expires_after(scripted.delay);
      timer_.async_wait([self = shared_from_this()](beast::error_code) {
        self->write();
      });
    } else {
      write();
    }
  }

  // Writes the head, then each piece `gap` apart, then closes.
  void stream(fake_openai::response r) {
    std::string head = "HTTP/1.1 " + std::to_string(r.status) + " OK\r\n";
    bool typed = false;
    for (auto& h : r.headers) {
      head += h.first + ": " + h.second + "\r\n";
      typed = typed || h.first == "Content-Type";
    }
    if (!typed)
      head += "Content-Type: text/event-stream\r\n";
    head += "Cache-Control: no-cache\r\nConnection: close\r\n\r\n";
    pieces_.assign(r.pieces.begin(), r.pieces.end());
    pieces_.push_front(std::move(head));
    gap_ = r.gap;
    next_piece();
  }

  void next_piece() {
    if (pieces_.empty())
      return close();
    piece_ = std::move(pieces_.front());
    pieces_.pop_front();
    net::async_write(stream_.socket(), net::buffer(piece_),
                     [self = shared_from_this()](beast::error_code ec, size_t) {
                       if (ec)
                         return self->close();
                       if (self->gap_.count() == 0)
                         return self->next_piece();
                       self->timer_.expires_after(self->gap_);
                       self->timer_.async_wait(
                         [self](beast::error_code) { self->next_piece(); });
                     });
  }

  void write() {
    http::async_write(stream_, res_,
                      [self = shared_from_this()](beast::error_code ec,
                                                  size_t) {
                        if (ec || !self->res_.keep_alive())
                          return self->close();
                        self->read();
                      });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  beast::tcp_stream stream_;
  net::steady_timer timer_;
  beast::flat_buffer buf_;
  http::request<http::string_body> req_;
  http::response<http::string_body> res_;
  std::deque<std::string> pieces_; // a streamed response's, still to send
  std::string piece_;              // the one being sent
  std::chrono::milliseconds gap_{0};
  const answer_fn& answer_; // owned by fake_openai::impl, which outlives us
};

} // namespace

void fake_openai::impl::accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec)
      return; // closed: shutting down
    std::make_shared<session>(std::move(socket), answer)->read();
    accept();
  });
}

std::string fake_openai::request::header(const std::string& name) const {
  auto i = headers.find(name);
  return i == headers.end() ? std::string{} : i->second;
}

std::string fake_openai::request::prompt() const {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::dom::array messages;
  std::string_view s;
  if (parser.parse(body).get(doc) || doc["messages"].get_array().get(messages)
      || messages.size() == 0
      || messages.at(messages.size() - 1)["content"].get_string().get(s))
    return {};
  return std::string{s};
}

fake_openai::fake_openai() : impl_(std::make_unique<impl>()) {
  // The handler's libcurl honours proxy variables; a test server on the
  // loopback must be reached directly.
  ::setenv("NO_PROXY", "127.0.0.1,localhost", 1);
  ::setenv("no_proxy", "127.0.0.1,localhost", 1);
  tcp::endpoint ep{net::ip::make_address("127.0.0.1"), 0};
  beast::error_code ec;
  impl_->acceptor.open(ep.protocol(), ec);
  if (!ec)
    impl_->acceptor.bind(ep, ec);
  if (!ec)
    impl_->acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    throw std::runtime_error("fake_openai: cannot listen: " + ec.message());
  impl_->port = impl_->acceptor.local_endpoint().port();
  impl_->accept();
  impl_->thread = std::thread{[this] { impl_->io.run(); }};
}

fake_openai::~fake_openai() {
  impl_->io.stop();
  impl_->thread.join();
}

std::string fake_openai::base_url() const {
  return "http://127.0.0.1:" + std::to_string(impl_->port) + "/v1";
}

void fake_openai::respond_with(std::function<response(const request&)> fn) {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->responder = std::move(fn);
}

void fake_openai::push(response r) {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  impl_->script.push_back(std::move(r));
}

void fake_openai::push_json(
  unsigned status, std::string body,
  std::vector<std::pair<std::string, std::string>> headers) {
  response r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(headers);
  push(std::move(r));
}

std::vector<fake_openai::request> fake_openai::requests() const {
  std::lock_guard<std::mutex> guard{impl_->mtx};
  return impl_->seen;
}

bool fake_openai::wait_for_requests(size_t n,
                                    std::chrono::milliseconds timeout) const {
  std::unique_lock<std::mutex> guard{impl_->mtx};
  return impl_->arrived.wait_for(guard, timeout,
                                 [&] { return impl_->seen.size() >= n; });
}

std::string fake_openai::completion_body(const std::string& content,
                                         const std::string& model,
                                         int64_t prompt_tokens,
                                         int64_t completion_tokens) {
  std::string out = "{\"id\":\"chatcmpl-test\",\"object\":\"chat.completion\","
                    "\"created\":1700000000,\"model\":";
  append_json_string(out, model);
  out += ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
         "\"content\":";
  append_json_string(out, content);
  out += "},\"finish_reason\":\"stop\"}],\"usage\":{\"prompt_tokens\":"
         + std::to_string(prompt_tokens) + ",\"completion_tokens\":"
         + std::to_string(completion_tokens) + ",\"total_tokens\":"
         + std::to_string(prompt_tokens + completion_tokens) + "}}";
  return out;
}

std::string fake_openai::stream_event(const std::string& content,
                                      const std::string& model) {
  std::string out = "data: {\"id\":\"chatcmpl-test\",\"object\":"
                    "\"chat.completion.chunk\",\"created\":1700000000,"
                    "\"model\":";
  append_json_string(out, model);
  out += ",\"choices\":[{\"index\":0,\"delta\":{\"content\":";
  append_json_string(out, content);
  out += "},\"finish_reason\":null}]}\n\n";
  return out;
}

fake_openai::response
fake_openai::stream_response(const std::vector<std::string>& contents,
                             const std::string& model, int64_t prompt_tokens,
                             int64_t completion_tokens) {
  response r;
  r.gap = std::chrono::milliseconds(5);
  r.pieces.push_back("data: {\"id\":\"chatcmpl-test\",\"model\":\"" + model
                     + "\",\"choices\":[{\"index\":0,\"delta\":{\"role\":"
                       "\"assistant\",\"content\":\"\"},\"finish_reason\":"
                       "null}]}\n\n");
  for (auto& c : contents)
    r.pieces.push_back(stream_event(c, model));
  r.pieces.push_back("data: {\"id\":\"chatcmpl-test\",\"model\":\"" + model
                     + "\",\"choices\":[{\"index\":0,\"delta\":{},"
                       "\"finish_reason\":\"stop\"}]}\n\n");
  r.pieces.push_back("data: {\"id\":\"chatcmpl-test\",\"model\":\"" + model
                     + "\",\"choices\":[],\"usage\":{\"prompt_tokens\":"
                     + std::to_string(prompt_tokens)
                     + ",\"completion_tokens\":"
                     + std::to_string(completion_tokens) + ",\"total_tokens\":"
                     + std::to_string(prompt_tokens + completion_tokens)
                     + "}}\n\n");
  r.pieces.push_back("data: [DONE]\n\n");
  return r;
}

std::string fake_openai::error_body(std::optional<std::string> message,
                                    std::optional<std::string> type,
                                    std::optional<std::string> param,
                                    std::optional<std::string> code) {
  auto field = [](std::string& out, const std::optional<std::string>& v) {
    if (v)
      append_json_string(out, *v);
    else
      out += "null";
  };
  std::string out = "{\"error\":{\"message\":";
  field(out, message);
  out += ",\"type\":";
  field(out, type);
  out += ",\"param\":";
  field(out, param);
  out += ",\"code\":";
  field(out, code);
  out += "}}";
  return out;
}

std::string fake_openai::null_content_body(const std::string& finish_reason,
                                           const std::string& model) {
  std::string out = "{\"id\":\"chatcmpl-test\",\"object\":\"chat.completion\","
                    "\"model\":";
  append_json_string(out, model);
  out += ",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
         "\"content\":null},\"finish_reason\":";
  append_json_string(out, finish_reason);
  out += "}]}";
  return out;
}

std::optional<std::string> find_key_piece(std::string_view text,
                                          std::string_view key, size_t piece) {
  auto lower = [](std::string_view s) {
    std::string out{s};
    for (auto& c : out)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
  };
  auto ltext = lower(text);
  auto lkey = lower(key);
  if (lkey.size() < piece)
    piece = lkey.size();
  if (piece == 0)
    return std::nullopt;
  for (size_t i = 0; i + piece <= lkey.size(); ++i)
    if (ltext.find(lkey.substr(i, piece)) != std::string::npos)
      return std::string{key.substr(i, piece)};
  return std::nullopt;
}

std::string fake_openai::error_body(const std::string& message,
                                    const std::string& code) {
  std::string out = "{\"error\":{\"message\":";
  append_json_string(out, message);
  out += ",\"type\":\"invalid_request_error\",\"param\":null,\"code\":";
  if (code.empty())
    out += "null";
  else
    append_json_string(out, code);
  out += "}}";
  return out;
}

} // namespace jobd::test
