// Text that came from an upstream server (an OpenAI-compatible API), and the
// one way it may leave: sanitised.
//
// An upstream server can echo anything it received, the API key included,
// in any field of any reply (error.message, error.code, finish_reason,
// model, the completion itself, a plain-text error page). So every string a
// handler takes from a reply is held as an `upstream_text`, whose only way
// out is sanitised(): nothing read from a reply can reach a job's error or
// result, a log line or a metric label without passing it. The reply body
// itself is an upstream_text too; `upstream_json` reads fields out of it as
// more upstream_text (numbers come out as numbers).
//
// sanitise(), in this order (each step must come before the next):
// 1. Characters are normalised: control characters (C0, DEL, C1) become a
//    space (in multi-line mode \n, \r and \t are kept), invalid UTF-8
//    bytes become U+FFFD. Characters are replaced, never dropped, so no
//    two pieces of the key can be joined into a longer one.
// 2. The key is removed: every piece of it 8 or more characters long
//    (compared without case), the whole key if it is shorter than 8, and
//    OpenAI's masked rendering of a key ("sk-abc***xyz") become
//    "[redacted]". This runs on the whole text, before any cut, so a key
//    straddling the cut cannot survive in part.
// 3. Only then the text is cut to max_len bytes (at a character boundary,
//    not inside a "[redacted]", ending in "..." when cut).
// An empty key removes nothing (steps 1 and 3 still apply).
//
// Cost: O(n log k) for n bytes of text and a key of k bytes, so a
// multi-megabyte completion is sanitised in milliseconds.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace jobd {

/// The marker that replaces a removed piece of the key.
constexpr std::string_view redacted_marker = "[redacted]";

/// Shortest piece of the key that is removed wherever it appears; shorter
/// pieces are kept (they also occur by chance in ordinary text).
constexpr size_t min_key_piece = 8;

/// No length limit for sanitise(): the text is only normalised and redacted.
constexpr size_t no_length_limit = static_cast<size_t>(-1);

/// Whether line breaks survive sanitising.
enum class line_mode {
  one_line,   ///< every control character becomes a space (errors, logs)
  multi_line, ///< \n, \r and \t are kept (a completion's content)
};

/// The three steps above on `raw`. The result holds no piece of `key` of
/// min_key_piece or more bytes (in any letter case), no control character
/// but those `mode` keeps, only valid UTF-8, and at most max_len bytes
/// (REQUIRES: max_len >= 3 or no_length_limit).
std::string sanitise(std::string_view raw, std::string_view key,
                     size_t max_len, line_mode mode = line_mode::one_line);

/// A string received from an upstream server. Its content can only be read
/// through sanitised(); it can be compared with a known constant.
class upstream_text {
public:
  upstream_text() = default;
  explicit upstream_text(std::string raw) : raw_(std::move(raw)) {}

  bool empty() const { return raw_.empty(); }
  size_t size() const { return raw_.size(); }

  /// True if the text is exactly `known` (a constant of ours, such as the
  /// error code "insufficient_quota"); reveals nothing else.
  bool is(std::string_view known) const { return raw_ == known; }

  /// Appends more text from the same server (a streamed reply's pieces:
  /// sanitised as a whole, so a key split across pieces is still found).
  void append(const upstream_text& more) { raw_ += more.raw_; }

  /// The text, safe to put anywhere: see sanitise().
  std::string sanitised(std::string_view key, size_t max_len,
                        line_mode mode = line_mode::one_line) const {
    return sanitise(raw_, key, max_len, mode);
  }

private:
  friend class upstream_json; // parses the raw body
  std::string raw_;
};

/// An upstream body read as JSON. Paths are JSON pointers
/// ("/choices/0/message/content"); "" is the whole document.
/// Not thread-safe; holds the parsed document (and a reference to nothing:
/// `body` may go away after construction).
class upstream_json {
public:
  explicit upstream_json(const upstream_text& body);
  ~upstream_json();
  upstream_json(const upstream_json&) = delete;
  upstream_json& operator=(const upstream_json&) = delete;

  /// Whether the body was JSON; if not, parse_error() says why in the
  /// parser's words (which quote nothing of the body).
  bool ok() const;
  std::string parse_error() const;

  /// The string at `path`, or nullopt if absent or not a string.
  std::optional<upstream_text> string_at(std::string_view path) const;
  /// The whole number at `path`, or nullopt if absent or not one.
  std::optional<int64_t> int_at(std::string_view path) const;
  /// Whether `path` is an object.
  bool is_object(std::string_view path) const;
  /// The length of the array at `path`, or nullopt if it is not an array.
  std::optional<size_t> array_size(std::string_view path) const;

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// A job's result made of text from outside (a webhook's reply body, a
/// command's stdout): the text with surrounding blanks removed, sanitised
/// (multi-line mode, `key` redacted, no length limit: cap it before), and
/// checked to be one JSON value. Blank text is the result `null`. Returns
/// nullopt and sets `why` (the parser's words, quoting nothing) if the
/// text is not JSON, before or after sanitising.
std::optional<std::string> result_json_of(const upstream_text& text,
                                          std::string_view key,
                                          std::string& why);

} // namespace jobd
