// Settings of the HTTP front end (section [http] of the config file; the
// program declares them, app/config.cpp). Each field says its default.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

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
  /// Bearer token of the worker protocol (/api/worker/*: external workers
  /// fetch and report jobs with it); it opens no other route, and the API
  /// token works there too. "" = the environment variable
  /// JOBD_WORKER_TOKEN if set, else the worker routes need the API token
  /// like every route. Default "".
  std::string worker_token;
  /// Threads running the sockets. Default 2.
  int32_t io_threads = 2;
  /// Serve the dashboard at /jobs and the client at /jobs-client.js.
  /// Default true.
  bool dashboard = true;
  /// Web pages of these origins may call the API and load the client from
  /// a browser (CORS): exact origins, comma-separated, each scheme://host
  /// or scheme://host:port ("https://app.example.com,http://localhost:3000"),
  /// or "*" for every origin (refused with an API token: any page could
  /// then spend a token it gets hold of). "" = none, as browsers default
  /// to. Default "".
  std::string cors_origins;
  /// Log one line per request (method, path without its query, status,
  /// duration) at level info. Default false.
  bool access_log = false;
};

/// Why `address` cannot be http.bind ("" if it can): it must be an IP
/// address such as 127.0.0.1 or ::1.
std::string bind_address_error(const std::string& address);

/// Why `list` cannot be http.cors_origins ("" if it can): see there.
std::string cors_origins_error(const std::string& list);

/// The entries of a valid http.cors_origins ("*" stays "*").
std::vector<std::string> parse_cors_origins(const std::string& list);

} // namespace jobd
