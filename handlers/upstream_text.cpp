#include "handlers/upstream_text.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include <simdjson.h>

#include "storage/json_text.hpp"

namespace jobd {

namespace {

constexpr std::string_view replacement_char = "\xEF\xBF\xBD"; // U+FFFD

char lower_ascii(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Length of the valid UTF-8 sequence at s[i] (a lead byte >= 0x80), or 0 if
// it is not one (stray continuation, overlong, surrogate, beyond U+10FFFF,
// cut short).
size_t utf8_sequence_len(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  auto cont = [&](size_t k) { return i + k < s.size() && (b(k) & 0xC0) == 0x80; };
  auto c = b(0);
  if (c >= 0xC2 && c <= 0xDF)
    return cont(1) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    if (!cont(1) || !cont(2))
      return 0;
    if ((c == 0xE0 && b(1) < 0xA0) || (c == 0xED && b(1) > 0x9F))
      return 0; // overlong, surrogate
    return 3;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3))
      return 0;
    if ((c == 0xF0 && b(1) < 0x90) || (c == 0xF4 && b(1) > 0x8F))
      return 0; // overlong, beyond U+10FFFF
    return 4;
  }
  return 0;
}

// Step 1: control characters to spaces, invalid UTF-8 to U+FFFD. Every
// character is replaced by something, never dropped.
std::string normalise(std::string_view raw, line_mode mode) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size();) {
    // Printable ASCII, the bulk of any reply, is copied a run at a time.
    size_t run = i;
    while (run < raw.size() && static_cast<unsigned char>(raw[run]) >= 0x20
           && static_cast<unsigned char>(raw[run]) < 0x7f)
      ++run;
    if (run > i) {
      out.append(raw, i, run - i);
      i = run;
      continue;
    }
    auto c = static_cast<unsigned char>(raw[i]);
    if (c < 0x80) {
      bool control = c < 0x20 || c == 0x7f;
      bool kept = mode == line_mode::multi_line
                  && (c == '\n' || c == '\r' || c == '\t');
      out += control && !kept ? ' ' : static_cast<char>(c);
      ++i;
      continue;
    }
    auto n = utf8_sequence_len(raw, i);
    if (n == 0) {
      out += replacement_char;
      ++i;
    } else if (n == 2 && c == 0xC2
               && static_cast<unsigned char>(raw[i + 1]) <= 0x9F) {
      out += ' '; // C1 control, U+0080..U+009F
      i += 2;
    } else {
      out.append(raw.data() + i, n);
      i += n;
    }
  }
  return out;
}

uint64_t window_at(const std::string& lowered, size_t i) {
  uint64_t w;
  std::memcpy(&w, lowered.data() + i, sizeof(w));
  return w;
}

// Byte ranges [first, second) to redact, sorted, none touching another.
using span_list = std::vector<std::pair<size_t, size_t>>;

// Adds [begin, end); spans must come in order of `begin`. Overlapping or
// adjacent spans merge, so a run of pieces becomes one marker.
void add_span(span_list& spans, size_t begin, size_t end) {
  if (!spans.empty() && begin <= spans.back().second)
    spans.back().second = std::max(spans.back().second, end);
  else
    spans.emplace_back(begin, end);
}

// Step 2, part 1: every piece of the key. Any piece of min_key_piece or
// more bytes is a chain of overlapping min_key_piece windows of the key, so
// finding every occurrence of every window finds exactly the pieces
// (overlapping and adjacent occurrences included).
span_list key_pieces(const std::string& text, std::string_view key) {
  span_list spans;
  if (key.empty() || text.size() < std::min(key.size(), min_key_piece))
    return spans;
  std::string lowered(text.size(), '\0');
  std::transform(text.begin(), text.end(), lowered.begin(), lower_ascii);
  std::string lkey(key.size(), '\0');
  std::transform(key.begin(), key.end(), lkey.begin(), lower_ascii);
  if (lkey.size() < min_key_piece) {
    // Too short to have pieces: the whole key only.
    for (auto pos = lowered.find(lkey); pos != std::string::npos;
         pos = lowered.find(lkey, pos + 1))
      add_span(spans, pos, pos + lkey.size());
    return spans;
  }
  static_assert(min_key_piece == sizeof(uint64_t),
                "a key window is compared as one 64-bit word");
  std::vector<uint64_t> windows;
  // The first two bytes of each window, as a 65536-bit set: most positions
  // of ordinary text fail this test and skip the search.
  std::vector<uint64_t> heads(65536 / 64, 0);
  auto head_of = [](const std::string& s, size_t i) {
    return static_cast<unsigned char>(s[i])
           | static_cast<unsigned>(static_cast<unsigned char>(s[i + 1])) << 8;
  };
  for (size_t i = 0; i + min_key_piece <= lkey.size(); ++i) {
    windows.push_back(window_at(lkey, i));
    auto h = head_of(lkey, i);
    heads[h / 64] |= uint64_t{1} << (h % 64);
  }
  std::sort(windows.begin(), windows.end());
  windows.erase(std::unique(windows.begin(), windows.end()), windows.end());
  for (size_t i = 0; i + min_key_piece <= lowered.size(); ++i) {
    auto h = head_of(lowered, i);
    if ((heads[h / 64] >> (h % 64) & 1) == 0)
      continue;
    if (std::binary_search(windows.begin(), windows.end(),
                           window_at(lowered, i)))
      add_span(spans, i, i + min_key_piece);
  }
  return spans;
}

// Step 2, part 2: OpenAI's masked rendering of a key, "sk-abc***xyz" (its
// 401 message shows one): a word starting "sk-" with a '*' in it.
span_list masked_keys(const std::string& text) {
  span_list spans;
  auto word_end = [&](size_t pos) {
    while (pos < text.size() && text[pos] != ' ' && text[pos] != '\n'
           && text[pos] != '\r' && text[pos] != '\t' && text[pos] != '.'
           && text[pos] != ',' && text[pos] != '"' && text[pos] != '\'')
      ++pos;
    return pos;
  };
  for (auto pos = text.find("sk-"); pos != std::string::npos;
       pos = text.find("sk-", pos + 1)) {
    auto end = word_end(pos);
    if (std::find(text.begin() + pos, text.begin() + end, '*')
        != text.begin() + end)
      add_span(spans, pos, end);
  }
  return spans;
}

bool is_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

} // namespace

std::string sanitise(std::string_view raw, std::string_view key,
                     size_t max_len, line_mode mode) {
  // 1. Normalise.
  auto text = normalise(raw, mode);

  // 2. Redact, on the whole text.
  auto found = key_pieces(text, key);
  auto masked = masked_keys(text);
  found.insert(found.end(), masked.begin(), masked.end());
  std::sort(found.begin(), found.end());
  span_list spans;
  for (auto& [begin, end] : found)
    add_span(spans, begin, end);
  std::string out;
  std::vector<size_t> markers; // where each "[redacted]" starts in `out`
  if (spans.empty()) {
    out = std::move(text);
  } else {
    out.reserve(text.size());
    size_t done = 0;
    for (auto& [begin, end] : spans) {
      out.append(text, done, begin - done);
      markers.push_back(out.size());
      out += redacted_marker;
      done = end;
    }
    out.append(text, done, std::string::npos);
  }

  // 3. Only now cut.
  if (max_len == no_length_limit || out.size() <= max_len)
    return out;
  constexpr std::string_view ellipsis = "...";
  size_t cut = max_len > ellipsis.size() ? max_len - ellipsis.size() : 0;
  while (cut > 0 && is_continuation(out[cut]))
    --cut; // not inside a character
  for (auto m : markers)
    if (m < cut && cut < m + redacted_marker.size())
      cut = m; // not inside a marker
  out.resize(cut);
  out += ellipsis;
  return out;
}

// -- upstream_json ------------------------------------------------------------

struct upstream_json::impl {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  simdjson::error_code error = simdjson::SUCCESS;

  simdjson::simdjson_result<simdjson::dom::element>
  at(std::string_view path) const {
    return doc.at_pointer(path);
  }
};

upstream_json::upstream_json(const upstream_text& body)
  : impl_(std::make_unique<impl>()) {
  impl_->error = impl_->parser.parse(body.raw_).get(impl_->doc);
}

upstream_json::~upstream_json() = default;

bool upstream_json::ok() const {
  return impl_->error == simdjson::SUCCESS;
}

std::string upstream_json::parse_error() const {
  return simdjson::error_message(impl_->error);
}

std::optional<upstream_text>
upstream_json::string_at(std::string_view path) const {
  std::string_view s;
  if (!ok() || impl_->at(path).get_string().get(s))
    return std::nullopt;
  return upstream_text{std::string{s}};
}

std::optional<int64_t> upstream_json::int_at(std::string_view path) const {
  int64_t n = 0;
  if (!ok() || impl_->at(path).get_int64().get(n))
    return std::nullopt;
  return n;
}

bool upstream_json::is_object(std::string_view path) const {
  return ok() && impl_->at(path).is_object();
}

std::optional<size_t> upstream_json::array_size(std::string_view path) const {
  simdjson::dom::array a;
  if (!ok() || impl_->at(path).get_array().get(a))
    return std::nullopt;
  return a.size();
}

std::optional<std::string> result_json_of(const upstream_text& text,
                                          std::string_view key,
                                          std::string& why) {
  auto clean = text.sanitised(key, no_length_limit, line_mode::multi_line);
  auto b = clean.find_first_not_of(" \t\r\n");
  if (b == std::string::npos)
    return std::string{"null"};
  auto e = clean.find_last_not_of(" \t\r\n");
  clean = clean.substr(b, e - b + 1);
  // Checked after sanitising, so whatever reaches the row is JSON even if
  // a redaction or a replaced character changed it.
  if (!check_json(clean, why))
    return std::nullopt;
  return clean;
}

} // namespace jobd
