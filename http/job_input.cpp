#include "http/job_input.hpp"

#include <algorithm>
#include <cctype>
#include <limits>

#include <simdjson.h>

#include "http/router.hpp"
#include "storage/cron.hpp"
#include "storage/errors.hpp"
#include "storage/json_text.hpp"
#include "storage/rules.hpp"
#include "storage/store.hpp"

namespace jobd {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

input_error field_err(const std::string& field, const std::string& what) {
  input_error e;
  // An empty JSON key ({"": 1}) is still named, as "".
  e.field = field.empty() ? "\"\"" : field;
  e.message = e.field + " " + what;
  return e;
}

// The body as a whole is wrong: field "" (the root, as in a JSON pointer).
input_error body_err(const std::string& what) {
  input_error e;
  e.message = "the request body " + what;
  return e;
}

// The value as the client sent it, shortened for messages.
std::string shown(element v) {
  auto s = simdjson::to_string(v);
  if (s.size() > 40)
    s = s.substr(0, 37) + "...";
  return s;
}

std::string join(const std::string& prefix, const char* name) {
  return prefix.empty() ? std::string{name} : prefix + "." + name;
}

// Reads a whole number in [lo, hi] or explains what is accepted.
std::optional<input_error> read_int(element v, const std::string& field,
                                    int64_t lo, int64_t hi, int32_t& out) {
  int64_t n = 0;
  if (v.type() == element_type::INT64) {
    n = v.get_int64().value();
  } else if (v.type() == element_type::UINT64) {
    n = std::numeric_limits<int64_t>::max();
  } else {
    return field_err(field, "must be a whole number, got " + shown(v));
  }
  if (n < lo || n > hi)
    return field_err(field, "must be between " + std::to_string(lo) + " and "
                              + std::to_string(hi) + ", got " + shown(v));
  out = static_cast<int32_t>(n);
  return std::nullopt;
}

// Reads a whole number in [lo, hi] (64 bits) or explains what is accepted.
std::optional<input_error> read_int64(element v, const std::string& field,
                                      int64_t lo, int64_t hi, int64_t& out) {
  if (v.type() != element_type::INT64 && v.type() != element_type::UINT64)
    return field_err(field, "must be a whole number, got " + shown(v));
  auto n = v.type() == element_type::INT64
             ? v.get_int64().value()
             : std::numeric_limits<int64_t>::max();
  if (n < lo || n > hi)
    return field_err(field, "must be between " + std::to_string(lo) + " and "
                              + std::to_string(hi) + ", got " + shown(v));
  out = n;
  return std::nullopt;
}

// Reads a unique key: 1..255 bytes of text without control characters (it
// is shown in replies, the dashboard and logs).
std::optional<input_error> read_unique_key(element v, const std::string& field,
                                           std::string& out) {
  std::string_view k;
  if (v.get_string().get(k) || k.empty() || k.size() > max_unique_key_bytes)
    return field_err(field, "must be a string of 1 to "
                              + std::to_string(max_unique_key_bytes)
                              + " bytes, such as \"export-2026-12-03\", got "
                              + shown(v));
  if (has_control_chars(k))
    return field_err(field, "must not contain control characters, got "
                              + shown(v));
  out = std::string{k};
  return std::nullopt;
}

// Reads uniqueStates: status names, which must include PENDING and
// PROCESSING (see new_job::unique_states).
std::optional<input_error> read_unique_states(element v,
                                              const std::string& field,
                                              int32_t& out) {
  const std::string expected
    = "must be a list of statuses that includes PENDING and PROCESSING, such "
      "as [\"PENDING\",\"PROCESSING\",\"COMPLETED\"], got ";
  simdjson::dom::array arr;
  if (v.get_array().get(arr))
    return field_err(field, expected + shown(v));
  int32_t bits = 0;
  size_t i = 0;
  for (auto item : arr) {
    std::string_view name;
    job_status st;
    if (item.get_string().get(name) || !parse_status(name, st))
      return field_err(field + "[" + std::to_string(i) + "]",
                       "must be PENDING, PROCESSING, COMPLETED or FAILED, "
                       "got "
                         + shown(item));
    bits |= status_bit(st);
    ++i;
  }
  if ((bits & active_status_bits) != active_status_bits)
    return field_err(field, expected + shown(v)
                              + " (a waiting or running job always holds "
                                "its key)");
  out = bits;
  return std::nullopt;
}

// Reads an ISO-8601 time; null means "now" (0).
std::optional<input_error> read_time(element v, const std::string& field,
                                     ms_t& out) {
  if (v.is_null()) {
    out = 0;
    return std::nullopt;
  }
  std::string_view text;
  std::string why;
  if (v.get_string().get(text) || !parse_time(text, out, &why))
    return field_err(field, "must be an ISO-8601 time such as "
                            "\"2030-01-31T12:00:00Z\" (or null for now), got "
                              + shown(v) + (why.empty() ? "" : ": " + why));
  return std::nullopt;
}

// Parses `body` into `doc`, enforcing the depth limit.
std::optional<input_error> parse_doc(std::string_view body,
                                     const job_input_limits& limits,
                                     simdjson::dom::parser& parser,
                                     element& doc) {
  std::string why;
  if (body.empty()) {
    auto e = body_err("is empty; send a JSON object");
    e.code = "bad_json";
    return e;
  }
  if (!check_json(body, why, limits.max_depth)) {
    auto e = body_err("is not acceptable JSON: " + why);
    e.code = "bad_json";
    return e;
  }
  if (parser.parse(body.data(), body.size()).get(doc)) {
    auto e = body_err("is not valid JSON");
    e.code = "bad_json";
    return e;
  }
  return std::nullopt;
}

// One job object at `prefix` ("" for a single job, "jobs[2]" in a batch).
std::optional<input_error> parse_one_job(element v, const std::string& prefix,
                                         const handler_registry& handlers,
                                         new_job& out) {
  if (!v.is_object()) {
    auto what = "must be a JSON object such as "
                "{\"type\":\"ECHO\",\"payload\":{}}, got "
                + shown(v);
    return prefix.empty() ? body_err(what) : field_err(prefix, what);
  }
  bool has_type = false;
  simdjson::dom::object obj = v.get_object().value();
  for (auto kv : obj) {
    auto key = kv.key;
    auto val = kv.value;
    if (key == "type") {
      std::string_view t;
      if (val.get_string().get(t) || t.empty())
        return field_err(join(prefix, "type"),
                         "must be a job type name such as \"ECHO\", got "
                           + shown(val));
      out.type = std::string{t};
      has_type = true;
    } else if (key == "payload") {
      out.payload = simdjson::to_string(val);
    } else if (key == "priority") {
      if (auto e = read_int(val, join(prefix, "priority"),
                            std::numeric_limits<int32_t>::min(),
                            std::numeric_limits<int32_t>::max(), out.priority))
        return e;
    } else if (key == "scheduledFor") {
      if (auto e = read_time(val, join(prefix, "scheduledFor"),
                             out.scheduled_for))
        return e;
    } else if (key == "maxRetries") {
      if (auto e = read_int(val, join(prefix, "maxRetries"), 0,
                            max_max_retries, out.max_retries))
        return e;
    } else if (key == "uniqueKey") {
      if (val.is_null())
        continue;
      if (auto e = read_unique_key(val, join(prefix, "uniqueKey"),
                                   out.unique_key))
        return e;
    } else if (key == "uniqueStates") {
      if (val.is_null())
        continue;
      if (auto e = read_unique_states(val, join(prefix, "uniqueStates"),
                                      out.unique_states))
        return e;
    } else if (key == "timeoutMs") {
      if (val.is_null())
        continue;
      if (auto e = read_int64(val, join(prefix, "timeoutMs"), 1,
                              max_job_timeout_ms, out.timeout_ms))
        return e;
    } else if (key == "uniquePeriodMs") {
      if (val.is_null())
        continue;
      if (auto e = read_int64(val, join(prefix, "uniquePeriodMs"), 1,
                              max_unique_period_ms, out.unique_period_ms))
        return e;
    } else {
      return field_err(join(prefix, std::string{key}.c_str()),
                       "is not a job field; the fields are type, payload, "
                       "priority, scheduledFor, maxRetries, timeoutMs, "
                       "uniqueKey, uniqueStates and uniquePeriodMs");
    }
  }
  if (!has_type)
    return field_err(join(prefix, "type"),
                     "is required: the job type, such as \"ECHO\"");
  if (out.unique_key.empty() && (out.unique_states || out.unique_period_ms))
    return field_err(join(prefix, "uniqueKey"),
                     "is required with uniqueStates or uniquePeriodMs");
  if (auto fe = handlers.validate(out.type, out.payload)) {
    auto field = prefix.empty() ? fe->field : prefix + "." + fe->field;
    return field_err(field, fe->message);
  }
  return std::nullopt;
}

std::optional<input_error> parse_job_array(element arr, const std::string& name,
                                           const handler_registry& handlers,
                                           const job_input_limits& limits,
                                           std::vector<new_job>& out) {
  simdjson::dom::array a = arr.get_array().value();
  auto n = a.size();
  auto refuse = [&](const std::string& what) {
    return name.empty() ? body_err(what) : field_err(name, what);
  };
  if (n == 0)
    return refuse("must hold at least one job");
  if (n > limits.max_batch_jobs)
    return refuse("holds " + std::to_string(n) + " jobs; at most "
                  + std::to_string(limits.max_batch_jobs)
                  + " fit in one batch: split it");
  out.reserve(n);
  size_t i = 0;
  for (auto v : a) {
    new_job nj;
    if (auto e = parse_one_job(v, name + "[" + std::to_string(i) + "]",
                               handlers, nj))
      return e;
    out.push_back(std::move(nj));
    ++i;
  }
  return std::nullopt;
}

} // namespace

std::optional<input_error> parse_jobs_body(std::string_view body,
                                           bool batch_route,
                                           const handler_registry& handlers,
                                           const job_input_limits& limits,
                                           std::vector<new_job>& out,
                                           bool& many) {
  simdjson::dom::parser parser;
  element doc;
  if (auto e = parse_doc(body, limits, parser, doc))
    return e;
  if (batch_route) {
    many = true;
    if (!doc.is_object())
      return body_err("must be a JSON object {\"jobs\":[...]}, got "
                      + shown(doc));
    element jobs;
    bool found = false;
    simdjson::dom::object obj = doc.get_object().value();
    for (auto kv : obj) {
      if (kv.key == "jobs") {
        jobs = kv.value;
        found = true;
      } else {
        return field_err(std::string{kv.key},
                         "is not a batch field; send {\"jobs\":[...]}");
      }
    }
    if (!found)
      return field_err("jobs", "is required: an array of jobs");
    if (!jobs.is_array())
      return field_err("jobs", "must be an array of jobs, got " + shown(jobs));
    return parse_job_array(jobs, "jobs", handlers, limits, out);
  }
  if (doc.is_array()) {
    many = true;
    return parse_job_array(doc, "", handlers, limits, out);
  }
  many = false;
  new_job nj;
  if (auto e = parse_one_job(doc, "", handlers, nj))
    return e;
  out.push_back(std::move(nj));
  return std::nullopt;
}

namespace {

// A cancel's or a pause's body: empty, or {"reason": ..., "by": ...}.
std::optional<input_error> parse_reason_by(std::string_view body,
                                           const job_input_limits& limits,
                                           const char* what, std::string& by,
                                           std::string& reason) {
  if (!body.empty()) {
    simdjson::dom::parser parser;
    element doc;
    if (auto e = parse_doc(body, limits, parser, doc))
      return e;
    if (!doc.is_object())
      return body_err("must be a JSON object such as {\"reason\":\"not "
                      "needed\"} (or empty), got "
                      + shown(doc));
    simdjson::dom::object obj = doc.get_object().value();
    for (auto kv : obj) {
      std::string field{kv.key};
      size_t limit = 0;
      std::string* out = nullptr;
      if (kv.key == "reason") {
        limit = max_cancel_reason_bytes;
        out = &reason;
      } else if (kv.key == "by") {
        limit = max_cancel_by_bytes;
        out = &by;
      } else {
        return field_err(field, std::string{"is not a "} + what
                                  + " field; the fields are reason and by");
      }
      if (kv.value.is_null())
        continue;
      std::string_view text;
      if (kv.value.get_string().get(text) || text.size() > limit)
        return field_err(field, "must be a string of at most "
                                  + std::to_string(limit) + " bytes, got "
                                  + shown(kv.value));
      if (has_control_chars(text))
        return field_err(field, "must not contain control characters, got "
                                  + shown(kv.value));
      *out = std::string{text};
    }
  }
  return std::nullopt;
}

} // namespace

std::optional<input_error> parse_cancel_body(std::string_view body,
                                             const job_input_limits& limits,
                                             std::string& note) {
  std::string by, reason;
  if (auto e = parse_reason_by(body, limits, "cancel", by, reason))
    return e;
  note = cancel_note(by, reason);
  return std::nullopt;
}

std::optional<input_error> parse_pause_body(std::string_view body,
                                            const job_input_limits& limits,
                                            std::string& note) {
  std::string by, reason;
  if (auto e = parse_reason_by(body, limits, "pause", by, reason))
    return e;
  note = pause_note(by, reason);
  return std::nullopt;
}

std::optional<input_error> parse_bulk_body(std::string_view body,
                                           const job_input_limits& limits,
                                           bulk_request& out) {
  simdjson::dom::parser parser;
  element doc;
  if (auto e = parse_doc(body, limits, parser, doc))
    return e;
  if (!doc.is_object())
    return body_err("must be a JSON object such as {\"action\":\"retry\","
                    "\"type\":\"ECHO\"}, got "
                    + shown(doc));
  simdjson::dom::object obj = doc.get_object().value();
  bool has_action = false;
  std::string by, reason;
  bool has_note = false;
  for (auto kv : obj) {
    std::string field{kv.key};
    auto val = kv.value;
    if (kv.key == "action") {
      std::string_view a;
      if (val.get_string().get(a) || !parse_bulk_action(a, out.action))
        return field_err(field, "must be one of \"retry\", \"cancel\", "
                                "\"delete\", got "
                                  + shown(val));
      has_action = true;
    } else if (kv.key == "status" || kv.key == "type") {
      if (val.is_null())
        continue;
      std::string_view text;
      if (val.get_string().get(text) || text.size() > 100)
        return field_err(field, "must be a string of at most 100 bytes, got "
                                  + shown(val));
      if (has_control_chars(text))
        return field_err(field, "must not contain control characters");
      (kv.key == "status" ? out.status : out.type) = std::string{text};
    } else if (kv.key == "finishedBefore") {
      if (auto e = read_time(val, field, out.finished_before))
        return e;
    } else if (kv.key == "max") {
      if (auto e = read_int(val, field, 1, max_bulk_max, out.max))
        return e;
    } else if (kv.key == "reason" || kv.key == "by") {
      if (val.is_null())
        continue;
      auto limit = kv.key == "reason" ? max_cancel_reason_bytes
                                      : max_cancel_by_bytes;
      std::string_view text;
      if (val.get_string().get(text) || text.size() > limit)
        return field_err(field, "must be a string of at most "
                                  + std::to_string(limit) + " bytes, got "
                                  + shown(val));
      if (has_control_chars(text))
        return field_err(field, "must not contain control characters, got "
                                  + shown(val));
      (kv.key == "reason" ? reason : by) = std::string{text};
      has_note = true;
    } else {
      return field_err(field, "is not a bulk field; the fields are action, "
                              "status, type, finishedBefore, max, reason "
                              "and by");
    }
  }
  if (!has_action)
    return field_err("action", "is required: \"retry\", \"cancel\" or "
                               "\"delete\"");
  if (has_note && out.action != bulk_action::cancel)
    return field_err(reason.empty() ? "by" : "reason",
                     "is for cancel only");
  if (out.finished_before != 0 && out.action != bulk_action::remove)
    return field_err("finishedBefore", "is for delete only");
  if (out.action == bulk_action::cancel)
    out.note = cancel_note(by, reason);
  return std::nullopt;
}

std::optional<input_error> parse_schedule_body(std::string_view body,
                                               const handler_registry& handlers,
                                               const job_input_limits& limits,
                                               schedule& out) {
  simdjson::dom::parser parser;
  element doc;
  if (auto e = parse_doc(body, limits, parser, doc))
    return e;
  if (!doc.is_object())
    return body_err("must be a JSON object such as {\"cron\":\"0 6 * * *\","
                    "\"type\":\"ECHO\"}, got " + shown(doc));
  auto text = [&](element v, const char* field, std::string& to,
                  bool may_be_empty) -> std::optional<input_error> {
    std::string_view t;
    if (v.get_string().get(t) || (!may_be_empty && t.empty()))
      return field_err(field, "must be a non-empty string, got " + shown(v));
    if (t.size() > 200 || has_control_chars(t))
      return field_err(field, "must be at most 200 bytes without control "
                              "characters");
    to = std::string{t};
    return std::nullopt;
  };
  bool has_cron = false, has_type = false;
  simdjson::dom::object obj = doc.get_object().value();
  for (auto kv : obj) {
    auto key = kv.key;
    auto val = kv.value;
    std::optional<input_error> e;
    if (key == "cron") {
      e = text(val, "cron", out.cron, false);
      has_cron = true;
    } else if (key == "type") {
      e = text(val, "type", out.type, false);
      has_type = true;
    } else if (key == "timeZone") {
      e = text(val, "timeZone", out.time_zone, false);
    } else if (key == "payload") {
      if (!val.is_object())
        return field_err("payload", "must be a JSON object, got " + shown(val));
      out.payload = simdjson::to_string(val);
    } else if (key == "priority") {
      e = read_int(val, "priority", std::numeric_limits<int32_t>::min(),
                   std::numeric_limits<int32_t>::max(), out.priority);
    } else if (key == "maxRetries") {
      e = read_int(val, "maxRetries", 0, max_max_retries, out.max_retries);
    } else if (key == "missed") {
      e = text(val, "missed", out.missed, false);
      if (!e && out.missed != "skip" && out.missed != "catch_up")
        e = field_err("missed", "must be \"skip\" or \"catch_up\", got "
                                  + shown(val));
    } else if (key == "catchUpMs") {
      e = read_int64(val, "catchUpMs", 60'000, max_catch_up_ms,
                     out.catch_up_ms);
    } else {
      return field_err(std::string{key}, "is not a schedule field; the fields "
                                         "are cron, type, payload, timeZone, "
                                         "priority, maxRetries, missed and "
                                         "catchUpMs");
    }
    if (e)
      return e;
  }
  if (!has_cron)
    return field_err("cron", "is required: five fields such as \"0 6 * * *\" "
                             "or an alias such as \"@daily\"");
  if (!has_type)
    return field_err("type", "is required: the job type each run creates");
  if (auto c = cron_expr::parse(out.cron); !c) {
    auto msg = message_of(c.error());
    if (msg.rfind("cron: ", 0) == 0)
      msg = msg.substr(6);
    return field_err("cron", msg);
  }
  if (auto z = time_zone::load(out.time_zone); !z)
    return field_err("timeZone", message_of(z.error()));
  auto types = handlers.types();
  if (std::find(types.begin(), types.end(), out.type) == types.end()) {
    std::string list;
    for (auto& t : types)
      list += (list.empty() ? "" : ", ") + t;
    return field_err("type", "must be a job type this server runs (" + list
                               + "), got " + json_string(out.type));
  }
  if (auto fe = handlers.validate(out.type, out.payload))
    return field_err(fe->field, fe->message);
  return std::nullopt;
}

std::optional<input_error> parse_patch_body(std::string_view body,
                                            const job_input_limits& limits,
                                            job_patch& out) {
  simdjson::dom::parser parser;
  element doc;
  if (auto e = parse_doc(body, limits, parser, doc))
    return e;
  if (!doc.is_object())
    return body_err("must be a JSON object such as {\"priority\":5}, got "
                    + shown(doc));
  simdjson::dom::object obj = doc.get_object().value();
  for (auto kv : obj) {
    auto key = kv.key;
    auto val = kv.value;
    std::string field{key};
    if (key == "status") {
      std::string_view s;
      if (val.get_string().get(s) || !parse_status(s, out.status))
        return field_err(field, "must be one of \"PENDING\", \"PROCESSING\", "
                                "\"COMPLETED\", \"FAILED\", \"CANCELLED\", "
                                "got "
                                  + shown(val));
      out.has_status = true;
    } else if (key == "priority") {
      if (auto e = read_int(val, field, std::numeric_limits<int32_t>::min(),
                            std::numeric_limits<int32_t>::max(), out.priority))
        return e;
      out.has_priority = true;
    } else if (key == "scheduledFor") {
      if (auto e = read_time(val, field, out.scheduled_for))
        return e;
      out.has_scheduled_for = true;
    } else if (key == "maxRetries") {
      if (auto e = read_int(val, field, 0, max_max_retries, out.max_retries))
        return e;
      out.has_max_retries = true;
    } else if (key == "result") {
      // null clears the result; anything else is stored as JSON.
      out.result = val.is_null() ? std::string{} : simdjson::to_string(val);
      out.has_result = true;
    } else if (key == "error") {
      std::string_view s;
      if (val.is_null()) {
        out.error.clear();
      } else if (val.get_string().get(s)) {
        return field_err(field, "must be a string or null, got " + shown(val));
      } else {
        out.error = std::string{s};
      }
      out.has_error = true;
    } else {
      return field_err(field, "cannot be changed; the fields are status, "
                              "priority, scheduledFor, maxRetries, result "
                              "and error");
    }
  }
  if (!out.has_status && !out.has_priority && !out.has_scheduled_for
      && !out.has_max_retries && !out.has_result && !out.has_error)
    return body_err("must change at least one of status, priority, "
                    "scheduledFor, maxRetries, result, error");
  return std::nullopt;
}

std::optional<input_error>
parse_query(std::string_view query,
            std::vector<std::pair<std::string, std::string>>& out) {
  while (!query.empty()) {
    auto amp = query.find('&');
    auto part = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{}
                                          : query.substr(amp + 1);
    if (part.empty())
      continue;
    auto eq = part.find('=');
    std::string name, value;
    if (!percent_decode(part.substr(0, eq), name, true))
      return field_err(std::string{part.substr(0, eq)},
                       "is not a well-formed query parameter name");
    if (name.empty()) // "?=x": there is no name to refer to
      return field_err("the query string",
                       "has a parameter without a name: '"
                         + std::string{part} + "'");
    if (eq != std::string_view::npos
        && !percent_decode(part.substr(eq + 1), value, true))
      return field_err(name, "has a malformed %-escape in its value");
    out.emplace_back(std::move(name), std::move(value));
  }
  return std::nullopt;
}

namespace {

// The object of a worker request body, or why not.
std::optional<input_error> worker_object(std::string_view body,
                                         const job_input_limits& limits,
                                         simdjson::dom::parser& parser,
                                         simdjson::dom::object& obj,
                                         const char* example) {
  element doc;
  if (auto e = parse_doc(body, limits, parser, doc))
    return e;
  if (!doc.is_object())
    return body_err(std::string{"must be a JSON object such as "} + example
                    + ", got " + shown(doc));
  obj = doc.get_object().value();
  return std::nullopt;
}

std::optional<input_error> read_worker_id(element v, std::string& out) {
  std::string_view text;
  if (v.get_string().get(text) || text.empty()
      || text.size() > max_worker_id_bytes)
    return field_err("worker", "must be a string of 1.."
                                 + std::to_string(max_worker_id_bytes)
                                 + " bytes naming the worker, got "
                                 + shown(v));
  if (has_control_chars(text))
    return field_err("worker", "must not contain control characters");
  out = std::string{text};
  return std::nullopt;
}

std::optional<input_error> read_lease_ms(element v, int64_t& out) {
  return read_int64(v, "leaseMs", min_worker_lease_ms, max_worker_lease_ms,
                    out);
}

std::optional<input_error> read_ref(element v, const std::string& field,
                                    lease_ref& out, bool& has_id,
                                    bool& has_attempt, std::string_view key) {
  if (key == "id") {
    std::string_view id;
    if (v.get_string().get(id) || !is_job_id(std::string{id}))
      return field_err(field, "must be a job id (26 characters, as fetch "
                              "returned it), got "
                                + shown(v));
    out.id = std::string{id};
    has_id = true;
  } else {
    if (auto e = read_int(v, field, 1, std::numeric_limits<int32_t>::max(),
                          out.attempt))
      return e;
    has_attempt = true;
  }
  return std::nullopt;
}

std::optional<input_error> unknown_field(const std::string& field,
                                         const char* fields) {
  return field_err(field, std::string{"is not a field of this request; the "
                                      "fields are "}
                            + fields);
}

// A list of attempts, [{"id", "attempt"}] (and "result" when
// `with_result`), of min..1000 items.
std::optional<input_error> read_attempt_list(element v, const std::string& field,
                                             size_t min, bool with_result,
                                             std::vector<completion>& out) {
  const char* shape = with_result ? "{\"id\", \"attempt\", \"result\"?}"
                                  : "{\"id\", \"attempt\"}";
  simdjson::dom::array arr;
  if (v.get_array().get(arr) || arr.size() < min || arr.size() > 1000)
    return field_err(field, "must be an array of " + std::to_string(min)
                              + "..1000 " + shape + ", got " + shown(v));
  size_t i = 0;
  for (auto item : arr) {
    auto f = field + "[" + std::to_string(i++) + "]";
    simdjson::dom::object obj;
    if (item.get_object().get(obj))
      return field_err(f, std::string{"must be "} + shape + ", got "
                            + shown(item));
    completion c;
    c.result = "null";
    bool has_id = false, has_attempt = false;
    for (auto r : obj) {
      auto rf = f + "." + std::string{r.key};
      if (with_result && r.key == "result") {
        c.result = simdjson::to_string(r.value);
        continue;
      }
      if (r.key != "id" && r.key != "attempt")
        return unknown_field(rf, with_result ? "id, attempt and result"
                                             : "id and attempt");
      if (auto e = read_ref(r.value, rf, c.ref, has_id, has_attempt, r.key))
        return e;
    }
    if (!has_id || !has_attempt)
      return field_err(f, "needs both id and attempt");
    out.push_back(std::move(c));
  }
  return std::nullopt;
}

input_error missing_worker() {
  return field_err("worker", "is required: the worker's id");
}

} // namespace

std::optional<input_error> parse_worker_fetch(std::string_view body,
                                              const job_input_limits& limits,
                                              worker_fetch& out) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (auto e = worker_object(body, limits, parser, obj,
                             R"({"worker":"mailer-1","types":["SEND_EMAIL"]})"))
    return e;
  bool has_worker = false, has_types = false;
  for (auto kv : obj) {
    std::string field{kv.key};
    auto v = kv.value;
    if (kv.key == "worker") {
      if (auto e = read_worker_id(v, out.worker))
        return e;
      has_worker = true;
    } else if (kv.key == "types") {
      simdjson::dom::array arr;
      if (v.get_array().get(arr) || arr.size() == 0 || arr.size() > 50)
        return field_err(field, "must be an array of 1..50 job types, got "
                                  + shown(v));
      out.types.clear();
      size_t i = 0;
      for (auto t : arr) {
        std::string_view name;
        auto f = field + "[" + std::to_string(i++) + "]";
        if (t.get_string().get(name) || name.empty() || name.size() > 100
            || has_control_chars(name))
          return field_err(f, "must be a job type name, got " + shown(t));
        out.types.emplace_back(name);
      }
      has_types = true;
    } else if (kv.key == "max") {
      if (auto e = read_int(v, field, 1, max_worker_fetch, out.max))
        return e;
    } else if (kv.key == "waitMs") {
      if (auto e = read_int64(v, field, 0, max_worker_wait_ms, out.wait_ms))
        return e;
    } else if (kv.key == "leaseMs") {
      if (auto e = read_lease_ms(v, out.lease_ms))
        return e;
    } else if (kv.key == "host") {
      std::string_view host;
      if (v.get_string().get(host) || host.empty()
          || host.size() > max_worker_host_bytes || has_control_chars(host))
        return field_err(field, "must be a host name of 1.."
                                  + std::to_string(max_worker_host_bytes)
                                  + " bytes without control characters, got "
                                  + shown(v));
      out.host = std::string{host};
    } else {
      return unknown_field(field,
                           "worker, types, max, waitMs, leaseMs and host");
    }
  }
  if (!has_worker)
    return missing_worker();
  if (!has_types)
    return field_err("types", "is required: the job types this worker runs");
  return std::nullopt;
}

std::optional<input_error> parse_worker_report(std::string_view body,
                                               const job_input_limits& limits,
                                               bool fail, worker_report& out) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (auto e = worker_object(
        body, limits, parser, obj,
        fail ? R"({"worker":"mailer-1","id":"...","attempt":1,"error":"..."})"
             : R"({"worker":"mailer-1","id":"...","attempt":1,"result":{}})"))
    return e;
  bool has_worker = false, has_id = false, has_attempt = false,
       has_error = false;
  for (auto kv : obj) {
    std::string field{kv.key};
    auto v = kv.value;
    if (kv.key == "worker") {
      if (auto e = read_worker_id(v, out.worker))
        return e;
      has_worker = true;
    } else if (kv.key == "id" || kv.key == "attempt") {
      if (auto e = read_ref(v, field, out.ref, has_id, has_attempt, kv.key))
        return e;
    } else if (!fail && kv.key == "result") {
      out.result = simdjson::to_string(v);
    } else if (fail && kv.key == "error") {
      std::string_view text;
      if (v.get_string().get(text) || text.empty())
        return field_err(field, "must be a non-empty string saying what "
                                "went wrong, got "
                                  + shown(v));
      out.error = clean_text(text, max_worker_error_bytes);
      has_error = true;
    } else if (fail && kv.key == "retryable") {
      if (v.get_bool().get(out.retryable))
        return field_err(field, "must be true or false, got " + shown(v));
    } else if (fail && kv.key == "retryAfterMs") {
      if (auto e = read_int64(v, field, 0, 86'400'000, out.retry_after_ms))
        return e;
    } else {
      return unknown_field(field, fail ? "worker, id, attempt, error, "
                                         "retryable and retryAfterMs"
                                       : "worker, id, attempt and result");
    }
  }
  if (!has_worker)
    return missing_worker();
  if (!has_id)
    return field_err("id", "is required: the job's id");
  if (!has_attempt)
    return field_err("attempt", "is required: the attempt fetch returned");
  if (fail && !has_error)
    return field_err("error", "is required: what went wrong");
  return std::nullopt;
}

std::optional<input_error>
parse_worker_completions(std::string_view body,
                         const job_input_limits& limits,
                         worker_completions& out) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (auto e = worker_object(
        body, limits, parser, obj,
        R"({"worker":"mailer-1","jobs":[{"id":"...","attempt":1,"result":{}}]})"))
    return e;
  bool has_worker = false, has_jobs = false;
  for (auto kv : obj) {
    std::string field{kv.key};
    auto v = kv.value;
    if (kv.key == "worker") {
      if (auto e = read_worker_id(v, out.worker))
        return e;
      has_worker = true;
    } else if (kv.key == "jobs") {
      if (auto e = read_attempt_list(v, field, 1, true, out.jobs))
        return e;
      has_jobs = true;
    } else {
      return unknown_field(field, "worker and jobs");
    }
  }
  if (!has_worker)
    return missing_worker();
  if (!has_jobs)
    return field_err("jobs", "is required: the attempts to complete");
  return std::nullopt;
}

std::optional<input_error> parse_worker_beat(std::string_view body,
                                             const job_input_limits& limits,
                                             worker_beat& out) {
  simdjson::dom::parser parser;
  simdjson::dom::object obj;
  if (auto e = worker_object(
        body, limits, parser, obj,
        R"({"worker":"mailer-1","jobs":[{"id":"...","attempt":1}]})"))
    return e;
  bool has_worker = false, has_jobs = false;
  for (auto kv : obj) {
    std::string field{kv.key};
    auto v = kv.value;
    if (kv.key == "worker") {
      if (auto e = read_worker_id(v, out.worker))
        return e;
      has_worker = true;
    } else if (kv.key == "jobs") {
      std::vector<completion> refs;
      if (auto e = read_attempt_list(v, field, 0, false, refs))
        return e;
      for (auto& c : refs)
        out.jobs.push_back(std::move(c.ref));
      has_jobs = true;
    } else if (kv.key == "leaseMs") {
      if (auto e = read_lease_ms(v, out.lease_ms))
        return e;
    } else {
      return unknown_field(field, "worker, jobs and leaseMs");
    }
  }
  if (!has_worker)
    return missing_worker();
  if (!has_jobs)
    return field_err("jobs", "is required: the attempts this worker holds");
  return std::nullopt;
}

std::optional<input_error> parse_list_query(std::string_view query,
                                            job_filter& out) {
  std::vector<std::pair<std::string, std::string>> params;
  if (auto e = parse_query(query, params))
    return e;
  for (auto& [name, value] : params) {
    if (name == "status") {
      if (value.empty())
        continue;
      // Exactly the spelling of the spec's enum (and of the job's status
      // field): "pending" is refused, not guessed at.
      job_status st;
      if (!parse_status(value, st))
        return field_err("status", "must be one of PENDING, PROCESSING, "
                                   "COMPLETED, FAILED, CANCELLED (upper "
                                   "case), got \""
                                     + value + "\"");
      out.status = value;
    } else if (name == "type") {
      out.type = value;
    } else if (name == "limit") {
      if (value.empty())
        continue;
      bool digits = value.size() <= 6
                    && std::all_of(value.begin(), value.end(), [](char c) {
                         return c >= '0' && c <= '9';
                       });
      auto n = digits ? std::stoi(value) : -1;
      if (n < 1 || n > max_list_limit)
        return field_err("limit", "must be a whole number from 1 to "
                                    + std::to_string(max_list_limit)
                                    + ", got \"" + value + "\"");
      out.limit = n;
    } else if (name == "cursor") {
      if (!value.empty() && !is_job_id(value))
        return field_err("cursor", "must be the nextCursor of a previous "
                                   "page, got \"" + value + "\"");
      out.cursor = value;
    } else if (name == "q") {
      if (value.size() > max_search_bytes)
        return field_err("q", "must be at most "
                                + std::to_string(max_search_bytes)
                                + " bytes, got "
                                + std::to_string(value.size()));
      if (has_control_chars(value))
        return field_err("q", "must not contain control characters");
      out.q = value;
    } else {
      return field_err(name, "is not a filter; use status, type, q, limit "
                             "or cursor");
    }
  }
  return std::nullopt;
}

} // namespace jobd
