#include "http/router.hpp"

#include "http/server.hpp"

namespace jobd {

namespace http = boost::beast::http;

const std::vector<route>& route_table() {
  using v = http::verb;
  static const std::vector<route> table{
    {v::get, "/healthz", route_id::healthz, body_kind::none, false, true},
    {v::get, "/metrics", route_id::metrics, body_kind::none, true, true},
    {v::get, "/api/stats", route_id::stats, body_kind::none, true, true},
    {v::get, "/api/events", route_id::events, body_kind::none, true, true},
    {v::get, "/api/jobs", route_id::list_jobs, body_kind::none, true, true},
    {v::post, "/api/jobs", route_id::create_job, body_kind::json, true, true},
    {v::post, "/api/jobs/batch", route_id::create_batch, body_kind::batch, true,
     true},
    {v::get, "/api/jobs/{id}", route_id::get_job, body_kind::none, true, true},
    {v::patch, "/api/jobs/{id}", route_id::patch_job, body_kind::json, true,
     true},
    {v::delete_, "/api/jobs/{id}", route_id::delete_job, body_kind::none, true,
     true},
    {v::post, "/api/jobs/{id}/retry", route_id::retry_job, body_kind::none,
     true, true},
    // The dashboard and its files are public: they hold no job data, and a
    // browser cannot send a bearer token when it navigates to a page.
    {v::get, "/jobs", route_id::dashboard, body_kind::none, false, false},
    {v::get, "/jobs/{file}", route_id::dashboard_asset, body_kind::none, false,
     false},
    {v::get, "/jobs-client.js", route_id::client_js, body_kind::none, false,
     false},
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
  // A trailing slash means the same resource ("/jobs/" is the dashboard).
  if (path.size() > 1 && path.back() == '/')
    path.remove_suffix(1);
  std::string param;
  for (auto& r : route_table()) {
    if (!match_pattern(r.pattern, path, param))
      continue;
    if (r.method == method) {
      m.result = route_match::found;
      m.r = &r;
      m.param = std::move(param);
      return m;
    }
    auto name = std::string{http::to_string(r.method)};
    if (m.allow.find(name) == std::string::npos)
      m.allow += (m.allow.empty() ? "" : ", ") + name;
    m.result = route_match::method_not_allowed;
  }
  return m;
}

std::vector<http_route_info> http_routes() {
  std::vector<http_route_info> out;
  for (auto& r : route_table())
    out.push_back(http_route_info{std::string{http::to_string(r.method)},
                                  r.pattern, r.needs_auth, r.documented});
  return out;
}

} // namespace jobd
