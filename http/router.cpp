#include "http/router.hpp"

#include "http/server.hpp"

namespace jobd {

namespace http = boost::beast::http;

const std::vector<route>& route_table() {
  using v = http::verb;
  static const std::vector<route> table{
    {v::get, "/healthz", route_id::healthz, body_kind::none, false, false},
    {v::get, "/metrics", route_id::metrics, body_kind::none, true, false},
    {v::get, "/api/stats", route_id::stats, body_kind::none, true, false},
    {v::get, "/api/events", route_id::events, body_kind::none, true, false},
    {v::get, "/api/jobs", route_id::list_jobs, body_kind::none, true, false},
    {v::post, "/api/jobs", route_id::create_job, body_kind::json, true, false},
    {v::post, "/api/jobs/batch", route_id::create_batch, body_kind::batch, true,
     false},
    {v::post, "/api/jobs/bulk", route_id::bulk_jobs, body_kind::json, true,
     false},
    {v::get, "/api/jobs/{id}", route_id::get_job, body_kind::none, true, false},
    {v::patch, "/api/jobs/{id}", route_id::patch_job, body_kind::json, true,
     false},
    {v::delete_, "/api/jobs/{id}", route_id::delete_job, body_kind::none, true,
     false},
    {v::get, "/api/jobs/{id}/attempts", route_id::job_attempts,
     body_kind::none, true, false},
    {v::post, "/api/jobs/{id}/retry", route_id::retry_job, body_kind::none,
     true, false},
    {v::post, "/api/jobs/{id}/cancel", route_id::cancel_job, body_kind::json,
     true, false},
    {v::post, "/api/types/{type}/pause", route_id::pause_type, body_kind::json,
     true, false},
    {v::post, "/api/types/{type}/resume", route_id::resume_type,
     body_kind::none, true, false},
    {v::get, "/api/schedules", route_id::list_schedules, body_kind::none, true,
     false},
    {v::get, "/api/schedules/{name}", route_id::get_schedule, body_kind::none,
     true, false},
    {v::put, "/api/schedules/{name}", route_id::put_schedule, body_kind::json,
     true, false},
    {v::delete_, "/api/schedules/{name}", route_id::delete_schedule,
     body_kind::none, true, false},
    {v::post, "/api/schedules/{name}/pause", route_id::pause_schedule,
     body_kind::none, true, false},
    {v::post, "/api/schedules/{name}/resume", route_id::resume_schedule,
     body_kind::none, true, false},
    {v::post, "/api/schedules/{name}/run", route_id::run_schedule,
     body_kind::none, true, false},
    // The worker protocol (http/worker_api.hpp): the worker token's routes.
    {v::post, "/api/worker/fetch", route_id::worker_fetch, body_kind::json,
     true, false},
    {v::post, "/api/worker/heartbeat", route_id::worker_heartbeat,
     body_kind::json, true, false},
    {v::post, "/api/worker/complete", route_id::worker_complete,
     body_kind::json, true, false},
    {v::post, "/api/worker/complete-all", route_id::worker_complete_all,
     body_kind::batch, true, false},
    {v::post, "/api/worker/fail", route_id::worker_fail, body_kind::json,
     true, false},
    // The external workers seen lately: an admin read (not the worker
    // token's).
    {v::get, "/api/workers", route_id::list_workers, body_kind::none, true,
     false},
    // The dashboard and its files are public: they hold no job data, and a
    // browser cannot send a bearer token when it navigates to a page.
    {v::get, "/jobs", route_id::dashboard, body_kind::none, false, true},
    {v::get, "/jobs/{file}", route_id::dashboard_asset, body_kind::none, false,
     true},
    {v::get, "/jobs-client.js", route_id::client_js, body_kind::none, false,
     true},
    {v::get, "/jobs-client.d.ts", route_id::client_types, body_kind::none,
     false, true},
    // The API's own description is served even without the dashboard.
    {v::get, "/openapi.yaml", route_id::openapi, body_kind::none, false, false},
  };
  return table;
}


namespace {

// Matches one pattern; fills `param` with the {x} segment.
bool match_pattern(std::string_view pattern, std::string_view path,
                   std::string& param) {
  while (!pattern.empty() && !path.empty()) {
    if (pattern.front() == '{') {
      auto close = pattern.find('}');
      auto slash = path.find('/');
      auto seg = path.substr(0, slash);
      if (seg.empty())
        return false;
      if (!percent_decode(seg, param, false))
        return false;
      pattern.remove_prefix(close + 1);
      path.remove_prefix(seg.size());
      continue;
    }
    if (pattern.front() != path.front())
      return false;
    pattern.remove_prefix(1);
    path.remove_prefix(1);
  }
  return pattern.empty() && path.empty();
}

} // namespace

route_match match_route(http::verb method, std::string_view path) {
  route_match m;
  // HEAD is GET without the body (RFC 9110 9.3.2).
  auto wanted = method == http::verb::head ? http::verb::get : method;
  // Literal patterns first: a path one of them matches is theirs alone.
  for (bool literal : {true, false}) {
    std::string param;
    for (auto& r : route_table()) {
      if ((r.pattern.find('{') == std::string::npos) != literal)
        continue;
      if (!match_pattern(r.pattern, path, param))
        continue;
      if (r.method == wanted) {
        m.result = route_match::found;
        m.r = &r;
        m.param = std::move(param);
        return m;
      }
      auto name = std::string{http::to_string(r.method)};
      if (r.method == http::verb::get)
        name += ", HEAD";
      m.allow += (m.allow.empty() ? "" : ", ") + name;
      m.result = route_match::method_not_allowed;
    }
    if (m.result == route_match::method_not_allowed)
      return m;
  }
  return m;
}

std::vector<http_route_info> http_routes() {
  std::vector<http_route_info> out;
  for (auto& r : route_table())
    out.push_back(http_route_info{std::string{http::to_string(r.method)},
                                  r.pattern, r.needs_auth, r.dashboard});
  return out;
}

} // namespace jobd
