// jobd's HTTP front end: the REST API (/api/...), live updates (Server-Sent
// Events at /api/events), the dashboard (/jobs), the browser client module
// (/jobs-client.js), health (/healthz) and Prometheus metrics (/metrics).
// The API is documented in http/openapi.yaml (served at /openapi.yaml).
//
// Threading: Boost.Beast runs the sockets on `io_threads` threads, one strand
// per connection. A request that needs the database never blocks an io
// thread: the session spawns a short-lived CAF actor that sends one request to
// the store actor and, when the reply (or an error, or the request timeout)
// arrives, posts the finished response back to the connection's strand.
// Live updates come from one "events" actor subscribed to the store actor,
// which fans each change out to the open event streams.
//
// Auth: when an API token is configured (http.api_token, or the environment
// variable JOBD_API_TOKEN when the setting is empty), every API request needs
// `Authorization: Bearer <token>`; /api/events also accepts `?token=<token>`
// because browsers' EventSource cannot send headers. /healthz, the dashboard
// page and its static files stay public: they carry no job data.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "actors/settings.hpp"
#include "actors/store_actor.hpp"
#include "handlers/handler.hpp"

namespace jobd {

/// Settings of the HTTP server (section [http]). Durations are milliseconds.
struct http_config {
  /// TCP port; 0 picks a free port (see http_server::port()). Default 8080.
  int32_t port = 8080;
  /// Address to listen on. Default "127.0.0.1" (this machine only); use
  /// "0.0.0.0" to serve other machines, ideally with an api_token.
  std::string bind = "127.0.0.1";
  /// Largest request body for one job or a PATCH, in bytes. Larger bodies
  /// are refused with 413 before they are read. Default 1 MiB.
  int32_t body_limit = 1 << 20;
  /// Largest body of a batch enqueue (POST /api/jobs/batch, or an array to
  /// POST /api/jobs), in bytes. Default 16 MiB.
  int32_t batch_body_limit = 16 << 20;
  /// Most jobs one batch may hold. Default 10000.
  int32_t max_batch_jobs = 10'000;
  /// Deepest JSON nesting a request body may have. Default 64.
  int32_t max_depth = 64;
  /// Time a client has to send a request's header once it started it
  /// (guards against slowloris clients). Default 10 s.
  int64_t header_timeout_ms = 10'000;
  /// Time a client has to send a request's body. Default 30 s.
  int64_t read_timeout_ms = 30'000;
  /// Time a response write may take (slow readers are dropped). Default 30 s.
  int64_t write_timeout_ms = 30'000;
  /// How long a keep-alive connection may sit idle between requests.
  /// Default 60 s.
  int64_t idle_timeout_ms = 60'000;
  /// How long a request waits for the store actor before 503. Default 30 s.
  int64_t request_timeout_ms = 30'000;
  /// Interval of the heartbeat comment on event streams (keeps proxies and
  /// browsers from closing an idle stream). Default 15 s.
  int64_t sse_heartbeat_ms = 15'000;
  /// Most open connections (event streams included); further ones get 503
  /// and are closed. Default 512.
  int32_t max_connections = 512;
  /// Bearer token every API request must carry; "" = no auth (then the
  /// environment variable JOBD_API_TOKEN is used if set). Default "".
  std::string api_token;
  /// Threads running the sockets. Default 2.
  int32_t io_threads = 2;
  /// Serve the dashboard at /jobs and the client at /jobs-client.js.
  /// Default true.
  bool dashboard = true;
};

/// Declares the [http] settings (http.port, http.bind, ...), bound to `cfg`.
void add_http_settings(settings& s, http_config& cfg);

/// One route the server answers: method, path pattern ("{id}" stands for a
/// path segment) and whether it needs the API token. For docs and tests.
struct http_route_info {
  std::string method;
  std::string path;
  bool needs_auth = true;
  bool dashboard = false; ///< a dashboard file (off with http.dashboard)
};

/// The route table the server serves (the same table it dispatches on).
std::vector<http_route_info> http_routes();

class http_server {
public:
  /// Binds, listens and starts the io threads and the events actor.
  /// `store` and `handlers` must outlive the server (the handler registry
  /// is read by the io threads to validate payloads).
  /// Errors: errc::invalid (bad config; names the setting), errc::io (the
  /// address cannot be bound, e.g. port in use; says which).
  static caf::expected<std::unique_ptr<http_server>>
  start(caf::actor_system& sys, const http_config& cfg, store_actor store,
        std::shared_ptr<const handler_registry> handlers);

  /// The port actually bound (useful with port 0).
  uint16_t port() const;

  /// Stops accepting, closes every connection (event streams included),
  /// waits for requests still waiting on the store (at most
  /// request_timeout), then joins the io threads. Idempotent.
  /// REQUIRES: the actor system is still running.
  void stop();

  /// Calls stop().
  ~http_server();

  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  struct impl;

private:
  explicit http_server(std::unique_ptr<impl> p);
  std::unique_ptr<impl> impl_;
};

} // namespace jobd
