// Fuzz target: how PREVIEW/RECAP_GENERATION read the OpenAI API's answer.
// Each input is served, as an HTTP response, by a loopback server to a real
// chat_completion_handler::run (libcurl included), so the whole path from
// status, headers and body to the job's outcome is exercised as in
// production.
// Input: a status line ("429"), header lines ("Retry-After: 2"), an empty
// line, then the body. Malformed header lines are dropped; the server adds
// Content-Length and Connection: close itself.
// Invariants: no crash, UB or hang; success only on 2xx, with a result that
// is a JSON object; a failure says why; which failures are permanent and
// how long a retry waits follow the handler's contract (chat_completion.hpp).
// Also: the API key (and any 8+ character piece of it) never reaches an
// outcome, and a failure is one line of bounded length (the upstream-string
// sanitiser, handlers/upstream_text.hpp).
#include <arpa/inet.h>
#include <atomic>
#include <cctype>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <netinet/in.h>
#include <poll.h>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

#include "fuzz/fuzz_check.hpp"
#include "handlers/chat_completion.hpp"
#include "storage/clock.hpp"
#include "storage/json_text.hpp"

using namespace jobd;
using jobd::fuzz::require;

namespace {

const std::string api_key = "sk-fuzzKEY0123456789abcdefXYZ";

// Answers every connection with the current scripted response bytes.
class loopback_server {
public:
  loopback_server() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    require(fd_ >= 0
              && ::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr))
                   == 0
              && ::listen(fd_, 16) == 0,
            "cannot listen on the loopback");
    socklen_t len = sizeof(addr);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    std::thread{[this] { serve(); }}.detach(); // lives as long as the process
  }

  uint16_t port() const { return port_; }

  void script(std::string response) {
    std::lock_guard<std::mutex> guard{mtx_};
    response_ = std::move(response);
  }

private:
  void serve() {
    for (;;) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0)
        continue;
      read_request(c);
      std::string res;
      {
        std::lock_guard<std::mutex> guard{mtx_};
        res = response_;
      }
      size_t off = 0;
      while (off < res.size()) {
        auto n = ::send(c, res.data() + off, res.size() - off, MSG_NOSIGNAL);
        if (n <= 0)
          break;
        off += static_cast<size_t>(n);
      }
      ::shutdown(c, SHUT_WR);
      // Let the client read to the end before the socket goes away.
      char buf[512];
      pollfd p{c, POLLIN, 0};
      while (::poll(&p, 1, 2000) > 0 && ::recv(c, buf, sizeof(buf), 0) > 0) {
      }
      ::close(c);
    }
  }

  // Reads the request head and its Content-Length body.
  static void read_request(int c) {
    std::string got;
    char buf[4096];
    size_t need = std::string::npos;
    while (need == std::string::npos || got.size() < need) {
      pollfd p{c, POLLIN, 0};
      if (::poll(&p, 1, 5000) <= 0)
        return;
      auto n = ::recv(c, buf, sizeof(buf), 0);
      if (n <= 0)
        return;
      got.append(buf, static_cast<size_t>(n));
      auto end = got.find("\r\n\r\n");
      if (need == std::string::npos && end != std::string::npos) {
        size_t length = 0;
        auto cl = got.find("Content-Length: ");
        if (cl != std::string::npos && cl < end)
          length = std::strtoul(got.c_str() + cl + 16, nullptr, 10);
        need = end + 4 + length;
      }
    }
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::mutex mtx_;
  std::string response_;
};

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c))
         || std::string_view{"!#$%&'*+-.^_`|~"}.find(c)
              != std::string_view::npos;
}

struct scripted {
  long status = 0;
  std::string response; ///< the raw HTTP response
  std::string body;
};

// Turns an input into a response; false if its status line is unusable.
bool script_of(std::string_view in, scripted& out) {
  auto nl = in.find('\n');
  auto status_line = in.substr(0, nl);
  if (!status_line.empty() && status_line.back() == '\r')
    status_line.remove_suffix(1);
  if (status_line.size() != 3)
    return false;
  long status = 0;
  for (char c : status_line) {
    if (c < '0' || c > '9')
      return false;
    status = status * 10 + (c - '0');
  }
  // 1xx would be taken as an interim response; not a final answer.
  if (status < 200 || status > 599)
    return false;
  out.status = status;
  std::string head = "HTTP/1.1 " + std::to_string(status) + " Fuzz\r\n";
  in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
  while (!in.empty()) {
    nl = in.find('\n');
    auto line = in.substr(0, nl);
    in = nl == std::string_view::npos ? std::string_view{} : in.substr(nl + 1);
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    if (line.empty())
      break; // end of the headers
    auto colon = line.find(':');
    if (colon == 0 || colon == std::string_view::npos)
      continue;
    auto name = line.substr(0, colon);
    auto value = line.substr(colon + 1);
    bool ok = true;
    for (char c : name)
      ok = ok && is_token_char(c);
    for (char c : value)
      ok = ok && c != '\r' && c != '\0';
    std::string lname;
    for (char c : name)
      lname += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    // The framing is the server's; the fuzzer plays with everything else.
    if (!ok || lname == "content-length" || lname == "transfer-encoding"
        || lname == "connection")
      continue;
    head += std::string{name} + ":" + std::string{value} + "\r\n";
  }
  out.body = std::string{in};
  head += "Content-Length: " + std::to_string(out.body.size())
          + "\r\nConnection: close\r\n\r\n";
  out.response = head + out.body;
  return true;
}

struct env {
  loopback_server server;
  std::shared_ptr<manual_clock> clock = std::make_shared<manual_clock>();
  std::unique_ptr<chat_completion_handler> handler;
  bool check_sanitiser = true;

  env() {
    ::setenv("NO_PROXY", "127.0.0.1", 1);
    ::setenv("no_proxy", "127.0.0.1", 1);
    openai_config openai;
    openai.api_key = api_key;
    openai.base_url = "http://127.0.0.1:" + std::to_string(server.port())
                      + "/v1";
    openai.connect_timeout_ms = 2000;
    auto cfg = preview_config_defaults();
    cfg.timeout_ms = 5000;
    // A token budget, so the usage the API reports is settled against it.
    cfg.tokens_per_minute = 1'000'000;
    handler = std::make_unique<chat_completion_handler>(
      preview_generation_type, "preview", openai, cfg, clock,
      [this](ms_t ms) { clock->advance(ms); });
  }
};

env& the_env() {
  static env* e = new env; // never destroyed: the server thread lives on
  return *e;
}

// Whether any piece of 8+ characters of the key occurs in `text`.
bool has_key_piece(const std::string& text) {
  for (size_t i = 0; i + 8 <= api_key.size(); ++i)
    if (text.find(api_key.substr(i, 8)) != std::string::npos)
      return true;
  return false;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto input = fuzz::text_of(data, size);
  scripted s;
  if (!script_of(input, s))
    return 0;
  auto& e = the_env();
  e.server.script(s.response);
  job j;
  j.id = "01JFUZZ0000000000000000000";
  j.type = preview_generation_type;
  j.payload = R"({"prompt":"Say hi"})";
  std::atomic<bool> cancelled{false};
  run_context ctx;
  ctx.cancelled = &cancelled;
  auto started = std::chrono::steady_clock::now();
  auto o = e.handler->run(j, ctx);
  auto took = std::chrono::steady_clock::now() - started;
  std::string what = "status " + std::to_string(s.status) + ", outcome "
                     + (o.ok ? "ok " + o.result
                             : std::string{o.permanent ? "permanent " : ""}
                                 + "failure: " + o.error);
  require(took < std::chrono::seconds{4},
          "the handler must not wait on an answer it already has", what);
  auto st = s.status;
  if (o.ok) {
    require(st >= 200 && st <= 299, "success only on 2xx", what);
    require(is_json_object(o.result), "a result is a JSON object", what);
    require(o.error.empty() && !o.permanent && o.retry_after_ms == 0,
            "a success carries no failure fields", what);
  } else {
    require(!o.error.empty(), "a failure says why", what);
    require(o.result.empty(), "a failure has no result", what);
    require(o.retry_after_ms >= 0 && o.retry_after_ms <= 3'600'000,
            "Retry-After is honoured up to one hour", what);
    bool retryable = (st >= 200 && st <= 299) || st == 408 || st == 409
                     || (st >= 500 && st <= 599) || (st >= 300 && st <= 399);
    if (retryable)
      require(!o.permanent, "2xx (malformed), 3xx, 408, 409 and 5xx are "
                            "retried", what);
    else if (st != 429)
      require(o.permanent, "other 4xx fail the job at once", what);
    if (o.retry_after_ms > 0)
      require(st == 429 || st == 408 || st == 409 || st >= 500,
              "only 408, 409, 429 and 5xx carry a Retry-After", what);
  }
  if (e.check_sanitiser) {
    require(!has_key_piece(o.error) && !has_key_piece(o.result),
            "no piece of the API key reaches the job", what);
    require(o.error.find('\n') == std::string::npos
              && o.error.find('\r') == std::string::npos,
            "a failure is one line", what);
    require(o.error.size() <= 2000, "a failure message is bounded", what);
  }
  return 0;
}
