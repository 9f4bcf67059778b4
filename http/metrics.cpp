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

void append_metric(std::string& out, const char* name, const char* help,
                   const char* type, int64_t value) {
  out += std::string{"# HELP "} + name + " " + help + "\n# TYPE " + name
         + " " + type + "\n" + name + " " + std::to_string(value) + "\n";
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
                   int64_t v) { append_metric(out, name, help, type, v); };
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
  gauge("jobd_http_requests_in_flight",
        "Requests handed to the store or a reader and not yet answered "
        "(this scrape included).",
        "gauge", requests_in_flight.load());
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

void job_timings::hist::add(double seconds) {
  for (size_t i = 0; i < buckets.size(); ++i)
    if (seconds <= buckets[i])
      ++counts[i];
  ++count;
  sum += seconds;
}

void job_timings::observe(const job& j) {
  if (j.started_at == 0)
    return;
  std::lock_guard<std::mutex> guard{mtx_};
  // A claim: PROCESSING without progress (a claim clears it; a progress
  // change of a running job is not another claim).
  if (j.status == job_status::processing && j.progress_at == 0)
    claim_latency_[j.type].add(
      std::max<ms_t>(0, j.started_at - j.scheduled_for) / 1000.0);
  else if ((j.status == job_status::completed
            || j.status == job_status::failed)
           && j.completed_at >= j.started_at)
    run_[j.type].add((j.completed_at - j.started_at) / 1000.0);
}

std::string job_timings::render() const {
  std::string out;
  auto one = [&](const char* name, const char* help,
                 const std::map<std::string, hist>& by_type) {
    out += std::string{"# HELP "} + name + " " + help + "\n# TYPE " + name
           + " histogram\n";
    char num[64];
    for (auto& [type, h] : by_type) {
      auto label = prometheus_label(type);
      for (size_t i = 0; i < buckets.size(); ++i) {
        std::snprintf(num, sizeof(num), "%g", buckets[i]);
        out += std::string{name} + "_bucket{type=\"" + label + "\",le=\""
               + num + "\"} " + std::to_string(h.counts[i]) + "\n";
      }
      out += std::string{name} + "_bucket{type=\"" + label
             + "\",le=\"+Inf\"} " + std::to_string(h.count) + "\n";
      std::snprintf(num, sizeof(num), "%.6f", h.sum);
      out += std::string{name} + "_sum{type=\"" + label + "\"} " + num + "\n";
      out += std::string{name} + "_count{type=\"" + label + "\"} "
             + std::to_string(h.count) + "\n";
    }
  };
  std::lock_guard<std::mutex> guard{mtx_};
  one("jobd_job_claim_latency_seconds",
      "Time from when a job was due to its claim, by type (jobs claimed "
      "by this process).",
      claim_latency_);
  one("jobd_job_run_seconds",
      "Time from claim to COMPLETED or FAILED, by type (the handler's "
      "duration; jobs this process saw finish).",
      run_);
  return out;
}

} // namespace jobd
