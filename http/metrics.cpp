#include "http/metrics.hpp"

#include <cstdio>

namespace jobd {

std::string prometheus_label(const std::string& value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

void http_metrics::observe(const std::string& method, const std::string& route,
                           unsigned status, double seconds) {
  std::lock_guard<std::mutex> guard{mtx_};
  ++requests_[std::make_tuple(method, route, status)];
  auto& h = durations_[route];
  for (size_t i = 0; i < duration_buckets.size(); ++i)
    if (seconds <= duration_buckets[i])
      ++h.buckets[i];
  ++h.count;
  h.sum += seconds;
}

std::string http_metrics::render() const {
  std::string out;
  auto gauge = [&](const char* name, const char* help, const char* type,
                   int64_t v) {
    out += std::string{"# HELP "} + name + " " + help + "\n# TYPE " + name
           + " " + type + "\n" + name + " " + std::to_string(v) + "\n";
  };
  gauge("jobd_http_connections_open", "Open HTTP connections.", "gauge",
        connections_open.load());
  gauge("jobd_http_connections_total", "HTTP connections accepted.",
        "counter", connections_total.load());
  gauge("jobd_http_connections_rejected_total",
        "Connections refused with 503 because http.max_connections were open.",
        "counter", connections_rejected.load());
  gauge("jobd_http_timeouts_total",
        "Connections closed because a read, write or idle timeout expired.",
        "counter", timeouts.load());
  gauge("jobd_http_event_streams_open", "Open /api/events streams.", "gauge",
        event_streams_open.load());
  gauge("jobd_http_events_sent_total", "Events written to event streams.",
        "counter", events_sent.load());
  gauge("jobd_http_event_streams_dropped_total",
        "Event streams closed because the client read too slowly.", "counter",
        event_streams_dropped.load());
  std::lock_guard<std::mutex> guard{mtx_};
  out += "# HELP jobd_http_requests_total HTTP requests by method, route "
         "and status.\n# TYPE jobd_http_requests_total counter\n";
  for (auto& [key, n] : requests_) {
    auto& [method, route, status] = key;
    out += "jobd_http_requests_total{method=\"" + prometheus_label(method)
           + "\",route=\"" + prometheus_label(route) + "\",status=\""
           + std::to_string(status) + "\"} " + std::to_string(n) + "\n";
  }
  out += "# HELP jobd_http_request_duration_seconds Time from a request's "
         "header to its response, by route.\n# TYPE "
         "jobd_http_request_duration_seconds histogram\n";
  char num[64];
  for (auto& [route, h] : durations_) {
    auto label = prometheus_label(route);
    for (size_t i = 0; i < duration_buckets.size(); ++i) {
      std::snprintf(num, sizeof(num), "%g", duration_buckets[i]);
      out += "jobd_http_request_duration_seconds_bucket{route=\"" + label
             + "\",le=\"" + num + "\"} " + std::to_string(h.buckets[i]) + "\n";
    }
    out += "jobd_http_request_duration_seconds_bucket{route=\"" + label
           + "\",le=\"+Inf\"} " + std::to_string(h.count) + "\n";
    std::snprintf(num, sizeof(num), "%.6f", h.sum);
    out += "jobd_http_request_duration_seconds_sum{route=\"" + label + "\"} "
           + num + "\n";
    out += "jobd_http_request_duration_seconds_count{route=\"" + label
           + "\"} " + std::to_string(h.count) + "\n";
  }
  return out;
}

} // namespace jobd
