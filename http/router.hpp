// The route table: every (method, path) the server answers, in one place.
// Sessions match a request against it before reading the body, so the body
// limit, the auth rule and the content type are known per route.
// http/openapi.yaml documents exactly these routes (tests/http/contract
// checks both ways against a live server).
#pragma once

#include "storage/percent_decode.hpp" // percent_decode

#include <string>
#include <string_view>
#include <vector>

#include <boost/beast/http/verb.hpp>

namespace jobd {

enum class route_id {
  healthz,
  metrics,
  stats,
  events,
  list_jobs,
  create_job,
  create_batch,
  get_job,
  job_attempts,
  patch_job,
  delete_job,
  retry_job,
  cancel_job,
  bulk_jobs,
  pause_type,
  resume_type,
  list_schedules,
  get_schedule,
  put_schedule,
  delete_schedule,
  pause_schedule,
  resume_schedule,
  run_schedule,
  worker_fetch,
  worker_heartbeat,
  worker_complete,
  worker_complete_all,
  worker_fail,
  list_workers,
  dashboard,
  dashboard_asset,
  client_js,
  client_types,
  openapi,
};

/// What a route accepts as a request body.
enum class body_kind {
  none,   ///< ignored if sent (read up to a small limit)
  json,   ///< application/json up to http.body_limit
  batch,  ///< application/json up to http.batch_body_limit
};

struct route {
  boost::beast::http::verb method;
  std::string pattern; ///< "/api/jobs/{id}": {x} matches one path segment
  route_id id;
  body_kind body;
  bool needs_auth;  ///< when a token is configured
  bool dashboard;   ///< a dashboard file: 404 when http.dashboard is off
};

/// The table, in match order.
const std::vector<route>& route_table();

struct route_match {
  enum result_kind { found, method_not_allowed, not_found };
  result_kind result = not_found;
  const route* r = nullptr;
  std::string param; ///< the {x} segment, percent-decoded
  /// For method_not_allowed: the methods the path does accept ("GET, POST").
  std::string allow;
};

/// Matches a path (no query string) and method against the table.
/// - A path matches a pattern exactly: "/api/jobs/" is not "/api/jobs"
///   (no trailing-slash aliases: 404).
/// - Literal patterns win over {x} patterns: "/api/jobs/batch" is never
///   taken for the job id "batch" (GET on it is 405, Allow: POST).
/// - HEAD is answered by the GET route (the session sends no body), so
///   `allow` lists HEAD wherever it lists GET.
route_match match_route(boost::beast::http::verb method, std::string_view path);

} // namespace jobd
