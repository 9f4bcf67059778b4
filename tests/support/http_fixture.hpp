// An in-process jobd for HTTP tests: a CAF actor system, the worker runtime
// on a SQLite store in a temp dir with the ECHO handler, and http_server on
// a free loopback port. Plus small blocking clients to talk to it.
#pragma once

#include <atomic>
#include <chrono>
#include <thread>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/runtime.hpp"
#include "http/server.hpp"
#include "support/temp_dir.hpp"

namespace jobd::test {

/// Settings for tests: short timeouts so abuse tests finish fast.
http_config test_http_config();

/// Hooks for tests that need a different store or runtime.
struct http_env_options {
  /// Wraps the SQLite store (e.g. in a flaky_store); null = as is.
  std::function<std::unique_ptr<job_store>(std::unique_ptr<job_store>)>
    wrap_store;
  /// Changes the runtime settings before it starts; null = as is.
  std::function<void(runtime_config&)> tune;
  /// Registers handlers beside ECHO before the server starts; null = none.
  std::function<void(handler_registry&)> add_handlers;
};

class http_env {
public:
  /// Starts everything; throws on failure.
  explicit http_env(http_config cfg = test_http_config())
    : http_env(std::move(cfg), http_env_options{}) {}
  http_env(http_config cfg, http_env_options opts);
  /// Stops the server, then the runtime.
  ~http_env();

  uint16_t port() const { return server->port(); }
  /// "http://127.0.0.1:<port>"
  std::string base_url() const;

  temp_dir dir;
  caf::actor_system_config caf_cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<handler_registry> handlers;
  runtime rt;
  std::unique_ptr<http_server> server;

private:
  /// Claims and runs jobs through the store actor (see the .cpp for why).
};

/// A response as a test sees it. Header names are lower case.
struct http_reply {
  unsigned status = 0;
  std::map<std::string, std::string> headers;
  std::string body;

  std::string header(const std::string& lower_name) const {
    auto i = headers.find(lower_name);
    return i == headers.end() ? std::string{} : i->second;
  }
};

/// A keep-alive HTTP/1.1 client over one connection (reconnects if the
/// server closed it). Every read times out after 10 s, so a bug cannot
/// hang the test run.
class http_client {
public:
  explicit http_client(uint16_t port, std::string token = {});
  ~http_client();

  http_reply request(const std::string& method, const std::string& target,
                     const std::string& body = {},
                     const std::string& content_type = "application/json",
                     const std::map<std::string, std::string>& headers = {});

  http_reply get(const std::string& target) { return request("GET", target); }
  http_reply post(const std::string& target, const std::string& body) {
    return request("POST", target, body);
  }

  /// How many TCP connections this client opened so far.
  int connections_opened() const { return opened_; }

private:
  struct state;
  std::unique_ptr<state> st_;
  uint16_t port_;
  std::string token_;
  int opened_ = 0;
};

/// A raw TCP connection for abuse tests (half headers, huge lengths).
class raw_connection {
public:
  explicit raw_connection(uint16_t port);
  ~raw_connection();
  void send(const std::string& bytes);
  /// Reads what arrives until `pred(all bytes so far)` holds, the peer
  /// closes, or the deadline passes. Returns everything read.
  std::string read_until(const std::function<bool(const std::string&)>& pred,
                         std::chrono::milliseconds deadline);
  /// True if the server closed the connection (EOF or reset) before the
  /// deadline. Discards data.
  bool wait_closed(std::chrono::milliseconds deadline);
  bool closed() const { return closed_; }

private:
  int fd_ = -1;
  bool closed_ = false;
};

/// Polls `pred` every few ms until it holds or `deadline` passes.
bool wait_until(const std::function<bool()>& pred,
                std::chrono::milliseconds deadline = std::chrono::seconds{10});

/// The JSON value at a JSON pointer ("/error/code"), minified; nullopt if
/// the body is not JSON or has no such value. Strings come back without
/// quotes.
std::optional<std::string> json_at(const std::string& body,
                                   const std::string& pointer);

/// The status of job `id` as GET /api/jobs/{id} shows it, or "<404>" (the
/// HTTP status in brackets) when the GET fails.
std::string status_of(http_client& c, const std::string& id);

/// Options for an env whose server also runs OTHER (an ECHO by another
/// name), for tests that need a second job type.
http_env_options with_other();

/// Number of elements of the array at `pointer`, or -1.
int json_count(const std::string& body, const std::string& pointer);

/// error.field of an error reply; "<none>" if it has none.
std::string field_of(const http_reply& r);

/// error.message of an error reply; "<none>" if it has none.
std::string message_of_body(const http_reply& r);

/// Whether a jobd on 127.0.0.1:port answers GET /healthz with 200 (false,
/// not an exception, while nothing listens there yet).
bool answers_healthz(uint16_t port);

/// Runs a shell command, returning its exit code and (merged) output.
int run_command(const std::string& cmd, std::string& output);

} // namespace jobd::test
