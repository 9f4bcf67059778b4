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

#include "actors/pool_actor.hpp"
#include "actors/reader_actor.hpp"
#include "actors/store_actor.hpp"
#include "handlers/handler.hpp"
#include "http/config.hpp"

namespace jobd {

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
  /// is read by the io threads to validate payloads). `readers`: where
  /// GET /api/jobs/{id}, the list, /api/stats and /metrics read, so they
  /// never wait behind writes (actors/reader_actor.hpp); empty = they go
  /// to the store actor. Writes and /healthz always go to the store actor.
  /// `counters`: this process's workers' lease counts, shown in /metrics
  /// (null: an API-only node, none shown).
  /// Errors: errc::invalid (bad config; names the setting), errc::io (the
  /// address cannot be bound, e.g. port in use; says which).
  static caf::expected<std::unique_ptr<http_server>>
  start(caf::actor_system& sys, const http_config& cfg, store_actor store,
        std::shared_ptr<const handler_registry> handlers,
        read_pool readers = {},
        std::shared_ptr<const worker_counters> counters = nullptr);

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
