// Log lines on stderr, one per event, in one of two formats (log.format):
//   text: "2026-11-29T03:38:11.123Z jobd: job failed id=01J... attempt=2"
//         (levels other than info are named: "jobd: warn: ...")
//   json: {"time":"2026-11-29T03:38:11.123Z","level":"warn",
//          "msg":"job failed","id":"01J...","attempt":2}
// Field values are escaped for the format (quoted in text when they hold
// spaces, quotes, '=' or control characters; JSON strings otherwise), so
// a value from outside cannot forge a line or a field. Events below the
// level (log.level) are dropped before they are formatted.
// Thread-safe; lines from different threads never interleave.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace jobd {

enum class log_level : int { debug = 0, info = 1, warn = 2, error = 3 };
enum class log_format : int { text = 0, json = 1 };

/// One key=value of an event; `number`: written bare in JSON.
struct log_field {
  std::string key;
  std::string value;
  bool number = false;
};
/// A number field.
log_field log_num(std::string key, int64_t v);

/// Writes one event if `level` is enabled.
void log_event(log_level level, const std::string& msg,
               const std::vector<log_field>& fields = {});

/// Whether events of `level` are written (callers skip building fields).
bool log_enabled(log_level level);

/// Writes one info line without fields (the life-cycle messages).
void log_line(const std::string& text);

/// The line log_event writes, without the newline (for tests).
std::string format_log(log_format format, int64_t time_ms, log_level level,
                       const std::string& msg,
                       const std::vector<log_field>& fields);

/// log.format and log.level; parse_* return false for unknown names.
void set_log_format(log_format f);
void set_log_level(log_level l);
bool parse_log_format(const std::string& name, log_format& out);
bool parse_log_level(const std::string& name, log_level& out);

/// log.payloads: whether job lines (claimed, failed) carry the job's
/// payload (cut to max_logged_payload_bytes). Default false: payloads may
/// hold personal data.
void set_log_payloads(bool on);
bool log_payloads();

/// The most of a payload a line carries; a longer one is cut on a
/// character boundary and marked "... (N bytes)".
constexpr size_t max_logged_payload_bytes = 2048;

/// A "payload" field for a job line: the payload as stored, cut.
log_field log_payload(const std::string& payload);

/// Silences output (tests that provoke errors on purpose).
void set_log_quiet(bool quiet);

/// Tests: every event logged from now on (quiet or not, whatever the
/// level's setting) also goes to `fn`, as its text line; an empty
/// function stops it.
void set_log_capture(std::function<void(const std::string&)> fn);

} // namespace jobd
