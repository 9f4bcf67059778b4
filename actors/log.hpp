// One-line log messages on stderr: "2026-11-29T03:38:11.123Z jobd: ...".
// Thread-safe; lines from different threads never interleave.
#pragma once

#include <functional>
#include <string>

namespace jobd {

/// Writes one line (a newline is added).
void log_line(const std::string& text);

/// Silences log_line (tests that provoke errors on purpose).
void set_log_quiet(bool quiet);

/// Tests: every line logged from now on (quiet or not) also goes to `fn`;
/// an empty function stops it.
void set_log_capture(std::function<void(const std::string&)> fn);

} // namespace jobd
