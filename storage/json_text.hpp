// JSON text helpers every floor uses: writing a string literal (escaping)
// and checking a text with simdjson. Nothing here knows a job: the job as
// the API shows it is http/job_json.hpp.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace jobd {

/// The deepest nesting a payload may have; deeper JSON is refused.
constexpr size_t max_json_depth = 64;

/// Length of the valid UTF-8 sequence starting at s[i] (1 for ASCII), or 0
/// if the bytes there are not valid UTF-8 (overlong, surrogate, cut off).
size_t utf8_sequence_len(std::string_view s, size_t i);

/// Appends `s` as a JSON string literal (with quotes). Control characters
/// are escaped; invalid UTF-8 bytes are replaced by U+FFFD, so the output is
/// always valid JSON and valid UTF-8.
void append_json_string(std::string& out, std::string_view s);

/// `s` as a JSON string literal.
std::string json_string(std::string_view s);

/// Checks that `text` is one well-formed JSON value nested at most
/// `max_depth` deep. On failure returns false and sets `why` to a short
/// description ("unexpected end", "nested deeper than 64 levels", ...).
bool check_json(std::string_view text, std::string& why,
                size_t max_depth = max_json_depth);

/// True if `text` is a JSON object (and well-formed).
bool is_json_object(std::string_view text);

} // namespace jobd
