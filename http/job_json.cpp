#include "http/job_json.hpp"

#include "storage/job_table.hpp"
#include "storage/json_text.hpp"
#include "storage/rules.hpp"

namespace jobd {

namespace {

// An ISO-8601 time, or null for 0 (not set).
void time_or_null(std::string& out, ms_t t) {
  if (t > 0)
    append_json_string(out, format_time(t));
  else
    out += "null";
}

// A JSON string, or null for "" (none).
void text_or_null(std::string& out, const std::string& v) {
  if (v.empty())
    out += "null";
  else
    append_json_string(out, v);
}

// A fraction as JSON: the stored millionths in decimal, trailing zeros
// dropped ("0.42", "1", "0.000001").
void append_fraction(std::string& out, double fraction) {
  auto ppm = ppm_of_progress(fraction);
  if (ppm >= 1'000'000) {
    out += '1';
    return;
  }
  auto digits = std::to_string(1'000'000 + ppm).substr(1); // six digits
  while (!digits.empty() && digits.back() == '0')
    digits.pop_back();
  out += digits.empty() ? "0" : "0." + digits;
}

} // namespace

std::string job_to_json(const job& j, bool with_duplicate) {
  std::string out;
  out.reserve(256 + j.payload.size() + j.result.size() + j.error.size());
  auto key = [&](const char* k) {
    if (out.size() > 1)
      out += ',';
    out += '"';
    out += k;
    out += "\":";
  };
  auto str = [&](const char* k, std::string_view v) {
    key(k);
    append_json_string(out, v);
  };
  auto time = [&](const char* k, ms_t t) {
    key(k);
    time_or_null(out, t);
  };
  auto num = [&](const char* k, int64_t v) {
    key(k);
    out += std::to_string(v);
  };
  out += '{';
  str("id", j.id);
  str("type", j.type);
  str("status", to_string(j.status));
  key("payload");
  out += j.payload.empty() ? "null" : j.payload;
  key("result");
  out += j.result.empty() ? "null" : j.result;
  key("error");
  text_or_null(out, j.error);
  num("retryCount", j.retry_count);
  num("maxRetries", j.max_retries);
  num("priority", j.priority);
  time("scheduledFor", j.scheduled_for);
  time("startedAt", j.started_at);
  time("completedAt", j.completed_at);
  time("createdAt", j.created_at);
  time("updatedAt", j.updated_at);
  num("attempt", j.attempt);
  key("lockedBy");
  text_or_null(out, j.locked_by);
  time("leaseExpiresAt", j.lease_expires_at);
  key("uniqueKey");
  if (j.unique_key.empty()) {
    out += "null";
  } else {
    append_json_string(out, j.unique_key);
  }
  key("uniqueStates");
  if (j.unique_key.empty()) {
    out += "null";
  } else {
    out += '[';
    bool first = true;
    for (auto st : {job_status::pending, job_status::processing,
                    job_status::completed, job_status::failed})
      if (j.unique_states & status_bit(st)) {
        out += first ? "\"" : ",\"";
        out += to_string(st);
        out += '"';
        first = false;
      }
    out += ']';
  }
  time("uniqueUntil", j.unique_until);
  key("timeoutMs");
  if (j.timeout_ms == 0)
    out += "null";
  else
    out += std::to_string(j.timeout_ms);
  key("progress");
  if (j.progress_at == 0) {
    out += "null";
  } else {
    out += "{\"fraction\":";
    if (j.progress < 0)
      out += "null";
    else
      append_fraction(out, j.progress);
    out += ",\"message\":";
    if (j.progress_message.empty())
      out += "null";
    else
      append_json_string(out, j.progress_message);
    out += ",\"updatedAt\":";
    append_json_string(out, format_time(j.progress_at));
    out += '}';
  }
  if (with_duplicate) {
    key("duplicate");
    out += j.duplicate ? "true" : "false";
  }
  out += '}';
  return out;
}

std::string attempts_json(const std::string& job_id,
                          const attempt_history& h) {
  std::string out = "{\"jobId\":";
  append_json_string(out, job_id);
  out += ",\"attempts\":[";
  bool first = true;
  for (auto& a : h.attempts) {
    if (!first)
      out += ',';
    first = false;
    out += "{\"attempt\":" + std::to_string(a.attempt) + ",\"worker\":";
    text_or_null(out, a.worker);
    out += ",\"startedAt\":";
    time_or_null(out, a.started_at);
    out += ",\"endedAt\":";
    time_or_null(out, a.ended_at);
    out += ",\"outcome\":";
    append_json_string(out, to_string(a.outcome));
    out += ",\"error\":";
    text_or_null(out, a.error);
    out += '}';
  }
  out += "],\"truncated\":";
  out += h.truncated ? "true" : "false";
  out += '}';
  return out;
}

std::string workers_json(const worker_list& w) {
  auto list = [](std::string& out, const std::vector<std::string>& v) {
    out += '[';
    for (size_t i = 0; i < v.size(); ++i) {
      if (i > 0)
        out += ',';
      append_json_string(out, v[i]);
    }
    out += ']';
  };
  std::string out = "{\"workers\":[";
  for (size_t i = 0; i < w.workers.size(); ++i) {
    auto& x = w.workers[i];
    if (i > 0)
      out += ',';
    out += "{\"id\":";
    append_json_string(out, x.id);
    out += ",\"host\":";
    text_or_null(out, x.host);
    out += ",\"types\":";
    list(out, x.types);
    out += ",\"firstSeenAt\":";
    time_or_null(out, x.first_seen_at);
    out += ",\"lastSeenAt\":";
    time_or_null(out, x.last_seen_at);
    out += ",\"online\":";
    out += x.online ? "true" : "false";
    out += ",\"jobs\":";
    list(out, x.jobs);
    out += '}';
  }
  out += "],\"asOf\":";
  time_or_null(out, w.as_of);
  out += ",\"truncated\":";
  out += w.truncated ? "true" : "false";
  out += '}';
  return out;
}

std::string schedule_json(const schedule& s, ms_t now) {
  std::string out = "{\"name\":";
  append_json_string(out, s.name);
  out += ",\"cron\":";
  append_json_string(out, s.cron);
  out += ",\"timeZone\":";
  append_json_string(out, s.time_zone);
  out += ",\"type\":";
  append_json_string(out, s.type);
  out += ",\"payload\":" + s.payload;
  out += ",\"priority\":" + std::to_string(s.priority);
  out += ",\"maxRetries\":" + std::to_string(s.max_retries);
  out += ",\"missed\":";
  append_json_string(out, s.missed);
  out += ",\"catchUpMs\":" + std::to_string(s.catch_up_ms);
  out += ",\"paused\":";
  out += s.paused ? "true" : "false";
  out += ",\"source\":";
  append_json_string(out, s.source);
  out += ",\"createdAt\":";
  append_json_string(out, format_time(s.created_at));
  out += ",\"updatedAt\":";
  append_json_string(out, format_time(s.updated_at));
  out += ",\"lastRunAt\":";
  time_or_null(out, s.last_run_at);
  out += ",\"lastJobId\":";
  text_or_null(out, s.last_job_id);
  out += ",\"nextRunAt\":";
  time_or_null(out, s.paused ? 0 : next_run(s, now));
  out += '}';
  return out;
}

} // namespace jobd
