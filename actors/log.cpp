#include "actors/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

#include "storage/job.hpp"
#include "storage/json_text.hpp"

namespace jobd {

namespace {

std::mutex log_mtx;
std::atomic<bool> quiet{false};
std::atomic<int> min_level{static_cast<int>(log_level::info)};
std::atomic<int> format{static_cast<int>(log_format::text)};
std::function<void(const std::string&)> capture; // guarded by log_mtx

const char* level_name(log_level l) {
  switch (l) {
    case log_level::debug:
      return "debug";
    case log_level::info:
      return "info";
    case log_level::warn:
      return "warn";
    case log_level::error:
      return "error";
  }
  return "info";
}

// A text value: bare if it is one plain word, else quoted with \", \\ and
// control characters escaped.
void append_text_value(std::string& out, const std::string& v) {
  bool plain = !v.empty();
  for (unsigned char c : v)
    if (c <= ' ' || c == '"' || c == '=' || c == '\\' || c == 0x7f)
      plain = false;
  if (plain) {
    out += v;
    return;
  }
  out += '"';
  for (unsigned char c : v) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c == 0x7f) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  out += '"';
}

} // namespace

log_field log_num(std::string key, int64_t v) {
  return log_field{std::move(key), std::to_string(v), true};
}

std::string format_log(log_format f, int64_t time_ms, log_level level,
                       const std::string& msg,
                       const std::vector<log_field>& fields) {
  std::string out;
  if (f == log_format::json) {
    out = "{\"time\":\"" + format_time(time_ms) + "\",\"level\":\""
          + level_name(level) + "\",\"msg\":";
    append_json_string(out, msg);
    for (auto& fld : fields) {
      out += ',';
      append_json_string(out, fld.key);
      out += ':';
      if (fld.number)
        out += fld.value;
      else
        append_json_string(out, fld.value);
    }
    out += '}';
    return out;
  }
  out = format_time(time_ms) + " jobd: ";
  if (level != log_level::info) {
    out += level_name(level);
    out += ": ";
  }
  // The message is ours, but may carry text from outside (an error):
  // one line, whatever it holds.
  for (char c : msg)
    out += c == '\n' || c == '\r' ? ' ' : c;
  for (auto& fld : fields) {
    out += ' ';
    out += fld.key;
    out += '=';
    append_text_value(out, fld.value);
  }
  return out;
}

bool log_enabled(log_level level) {
  return static_cast<int>(level) >= min_level.load(std::memory_order_relaxed);
}

void log_event(log_level level, const std::string& msg,
               const std::vector<log_field>& fields) {
  using namespace std::chrono;
  auto now = duration_cast<milliseconds>(system_clock::now().time_since_epoch())
               .count();
  std::lock_guard<std::mutex> guard{log_mtx};
  if (capture)
    capture(format_log(log_format::text, now, level, msg, fields));
  if (quiet || !log_enabled(level))
    return;
  auto line = format_log(static_cast<log_format>(format.load()), now, level,
                         msg, fields);
  line += '\n';
  std::fputs(line.c_str(), stderr);
}

void log_line(const std::string& text) {
  log_event(log_level::info, text);
}

void set_log_format(log_format f) {
  format = static_cast<int>(f);
}

namespace {
std::atomic<bool> payloads_on{false};
} // namespace

void set_log_payloads(bool on) { payloads_on = on; }

bool log_payloads() { return payloads_on.load(std::memory_order_relaxed); }

log_field log_payload(const std::string& payload) {
  if (payload.size() <= max_logged_payload_bytes)
    return {"payload", payload};
  size_t cut = max_logged_payload_bytes;
  // Back to a character boundary (continuation bytes are 10xxxxxx).
  while (cut > 0 && (static_cast<unsigned char>(payload[cut]) & 0xC0) == 0x80)
    --cut;
  return {"payload", payload.substr(0, cut) + "... ("
                       + std::to_string(payload.size()) + " bytes)"};
}

void set_log_level(log_level l) {
  min_level = static_cast<int>(l);
}

bool parse_log_format(const std::string& name, log_format& out) {
  if (name == "text")
    out = log_format::text;
  else if (name == "json")
    out = log_format::json;
  else
    return false;
  return true;
}

bool parse_log_level(const std::string& name, log_level& out) {
  static const std::pair<const char*, log_level> names[] = {
    {"debug", log_level::debug},
    {"info", log_level::info},
    {"warn", log_level::warn},
    {"error", log_level::error}};
  for (auto& [n, l] : names)
    if (name == n) {
      out = l;
      return true;
    }
  return false;
}

void set_log_quiet(bool q) {
  quiet = q;
}

void set_log_capture(std::function<void(const std::string&)> fn) {
  std::lock_guard<std::mutex> guard{log_mtx};
  capture = std::move(fn);
}

} // namespace jobd
