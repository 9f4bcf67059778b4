#include "storage/json_text.hpp"

#include <simdjson.h>

namespace jobd {

size_t utf8_sequence_len(std::string_view s, size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  size_t n;
  uint32_t cp;
  if (c < 0x80)
    return 1;
  if ((c & 0xE0) == 0xC0) {
    n = 2;
    cp = c & 0x1F;
  } else if ((c & 0xF0) == 0xE0) {
    n = 3;
    cp = c & 0x0F;
  } else if ((c & 0xF8) == 0xF0) {
    n = 4;
    cp = c & 0x07;
  } else {
    return 0;
  }
  if (i + n > s.size())
    return 0;
  for (size_t k = 1; k < n; ++k) {
    auto cc = static_cast<unsigned char>(s[i + k]);
    if ((cc & 0xC0) != 0x80)
      return 0;
    cp = (cp << 6) | (cc & 0x3F);
  }
  // Overlong forms, surrogates and values past U+10FFFF are invalid.
  if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800)
      || (n == 4 && cp < 0x10000) || cp > 0x10FFFF
      || (cp >= 0xD800 && cp <= 0xDFFF))
    return 0;
  return n;
}

void append_json_string(std::string& out, std::string_view s) {
  out += '"';
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x80) {
      auto n = utf8_sequence_len(s, i);
      if (n == 0) {
        out += "\xEF\xBF\xBD"; // U+FFFD REPLACEMENT CHARACTER
        ++i;
      } else {
        out.append(s.data() + i, n);
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20 || c == 0x7f) {
          char buf[8];
          std::snprintf(buf, sizeof(buf), "\\u%04x", c);
          out += buf;
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
  out += '"';
}

std::string json_string(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  append_json_string(out, s);
  return out;
}

bool check_json(std::string_view text, std::string& why, size_t max_depth) {
  simdjson::dom::parser parser;
  if (auto err = parser.allocate(text.size() + 1, max_depth)) {
    why = simdjson::error_message(err);
    return false;
  }
  simdjson::padded_string padded{text};
  auto res = parser.parse(padded);
  if (res.error() == simdjson::DEPTH_ERROR) {
    why = "nested deeper than " + std::to_string(max_depth) + " levels";
    return false;
  }
  if (res.error()) {
    why = simdjson::error_message(res.error());
    return false;
  }
  return true;
}

bool is_json_object(std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded{text};
  auto res = parser.parse(padded);
  return !res.error() && res.value().is_object();
}

} // namespace jobd
