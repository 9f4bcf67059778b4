// The sanitiser every string from an upstream server passes
// (handlers/upstream_text.hpp): the key goes, whole or in pieces of 8+,
// before the text is cut; control characters and bad UTF-8 go too.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <string>

#include "handlers/upstream_text.hpp"
#include "support/fake_openai.hpp"

using namespace jobd;
using namespace jobd::test;

namespace {

const std::string key = "sk-test-Q7vLm2XpR9tKc4WzN8bHd3FgJ6sYa1Ue";

// Filler that shares no character with the key.
std::string filler(size_t n) { return std::string(n, '~'); }

bool valid_utf8(const std::string& s) {
  // What a strict decoder accepts; the sanitiser must only emit this.
  for (size_t i = 0; i < s.size();) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2
               : c >= 0xE0 && c <= 0xEF             ? 3
               : c >= 0xF0 && c <= 0xF4             ? 4
                                                    : 0;
    if (n == 0 || i + n > s.size())
      return false;
    for (size_t k = 1; k < n; ++k)
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80)
        return false;
    i += n;
  }
  return true;
}

} // namespace

TEST_CASE("the whole key is removed, in any letter case",
          "[handlers][sanitise]") {
  auto out = sanitise("Incorrect API key provided: " + key + ".", key, 500);
  CHECK(out == "Incorrect API key provided: [redacted].");
  std::string upper = key;
  std::transform(upper.begin(), upper.end(), upper.begin(), ::toupper);
  CHECK(sanitise("KEY " + upper + " END", key, 500)
        == "KEY [redacted] END");
  // Twice, and back to back (one marker for the run).
  CHECK(sanitise(key + " and " + key, key, 500)
        == "[redacted] and [redacted]");
  CHECK(sanitise(key + key, key, 500) == "[redacted]");
}

TEST_CASE("every piece of the key of 8 characters goes; of 7 it stays",
          "[handlers][sanitise]") {
  for (size_t len : {size_t{8}, size_t{9}, size_t{20}}) {
    for (size_t i = 0; i + len <= key.size(); ++i) {
      auto piece = key.substr(i, len);
      auto out = sanitise("before " + piece + " after", key, 500);
      INFO("piece " << piece << " -> " << out);
      CHECK(out == "before [redacted] after");
      CHECK_FALSE(find_key_piece(out, key));
    }
  }
  for (size_t i = 0; i + 7 <= key.size(); ++i) {
    auto piece = key.substr(i, 7);
    INFO("piece " << piece);
    CHECK(sanitise("before " + piece + " after", key, 500)
          == "before " + piece + " after");
  }
}

TEST_CASE("a key at any offset around the cut leaves no part of it",
          "[handlers][sanitise]") {
  const size_t max_len = 200;
  for (size_t at = 150; at <= 260; ++at) {
    auto text = filler(at) + key + filler(300);
    auto out = sanitise(text, key, max_len);
    INFO("key at " << at << " -> " << out);
    CHECK(out.size() <= max_len);
    CHECK(out.substr(out.size() - 3) == "...");
    // Not a single character of the key is left (the filler shares none),
    // and the marker is whole or absent.
    auto body = out.substr(0, out.size() - 3);
    auto marker = body.find(redacted_marker);
    if (marker != std::string::npos)
      body.erase(marker, redacted_marker.size());
    CHECK(body == filler(body.size()));
    // A marker that fits before the cut stays (the reader sees something
    // was removed); one that does not is cut off whole.
    if (at + redacted_marker.size() <= max_len - 3)
      CHECK(marker == at);
    else
      CHECK(marker == std::string::npos);
  }
}

TEST_CASE("overlapping and repeated pieces all go", "[handlers][sanitise]") {
  // Two pieces that overlap in the text: one run, one marker.
  auto overlapping = key.substr(0, 20) + key.substr(12);
  CHECK(sanitise("[" + overlapping + "]", key, 500) == "[[redacted]]");
  // A key that repeats itself: every occurrence of its pieces, however
  // they overlap.
  const std::string periodic = "sk-abababababababab";
  CHECK(sanitise("x abababababababababababababababab y", periodic, 500)
        == "x [redacted] y");
  CHECK(sanitise("x babababa y", periodic, 500) == "x [redacted] y");
  CHECK(sanitise("x abababa y", periodic, 500) == "x abababa y");
}

TEST_CASE("a control character inside the key does not save a piece",
          "[handlers][sanitise]") {
  for (auto sep : {std::string{"\n"}, std::string{"\r\n"}, std::string{"\x01"},
                   std::string{"\x7f"}, std::string{"\xC2\x85"},
                   std::string{"\xFF"}}) {
    auto text = key.substr(0, 20) + sep + key.substr(20);
    for (auto mode : {line_mode::one_line, line_mode::multi_line}) {
      auto out = sanitise(text, key, 500, mode);
      INFO(out);
      CHECK_FALSE(find_key_piece(out, key));
      CHECK(out.find(redacted_marker) == 0);
    }
  }
}

TEST_CASE("control characters become spaces; multi-line keeps line breaks",
          "[handlers][sanitise]") {
  const std::string text = "a\nb\r\nc\td\x01" "e\x7f" "f\xC2\x85g\x1bh";
  CHECK(sanitise(text, key, 500) == "a b  c d e f g h");
  CHECK(sanitise(text, key, 500, line_mode::multi_line)
        == "a\nb\r\nc\td e f g h");
  // Other non-ASCII text is kept as it is.
  CHECK(sanitise("caf\xC3\xA9 \xF0\x9F\x8E\x89", key, 500)
        == "caf\xC3\xA9 \xF0\x9F\x8E\x89");
}

TEST_CASE("invalid UTF-8 becomes U+FFFD and a cut never splits a character",
          "[handlers][sanitise]") {
  CHECK(sanitise("a\xFF" "b\xC3", key, 500)
        == "a\xEF\xBF\xBD" "b\xEF\xBF\xBD");
  CHECK(sanitise("\xED\xA0\x80", key, 500) // a surrogate
        == "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  std::string accents;
  for (int i = 0; i < 300; ++i)
    accents += "\xC3\xA9"; // é
  for (size_t max_len : {size_t{10}, size_t{11}, size_t{200}, size_t{201}}) {
    auto out = sanitise(accents, key, max_len);
    INFO(max_len);
    CHECK(out.size() <= max_len);
    CHECK(valid_utf8(out));
    CHECK(out.substr(out.size() - 3) == "...");
  }
}

TEST_CASE("the cut does not split the marker", "[handlers][sanitise]") {
  // Sanitised before the cut: "0123456[redacted]0123456789" (27 bytes),
  // the marker at 7..17.
  for (size_t max_len = 10; max_len <= 30; ++max_len) {
    auto out = sanitise("0123456" + key + "0123456789", key, max_len);
    INFO(max_len << ": " << out);
    std::string expected;
    if (max_len >= 27)
      expected = "0123456[redacted]0123456789";
    else if (max_len - 3 >= 17)
      expected = "0123456[redacted]" + std::string{"0123456789"}.substr(
                   0, max_len - 3 - 17) + "...";
    else
      expected = "0123456...";
    CHECK(out == expected);
  }
  CHECK(sanitise("short", key, 10) == "short");
  CHECK(sanitise("exactly 10", key, 10) == "exactly 10");
  CHECK(sanitise("eleven long", key, 10) == "eleven ...");
}

TEST_CASE("OpenAI's masked rendering of a key goes", "[handlers][sanitise]") {
  CHECK(sanitise("Incorrect API key provided: sk-test***UeQ1. See docs.", key,
                 500)
        == "Incorrect API key provided: [redacted]. See docs.");
  // With no key configured, too.
  CHECK(sanitise("key sk-abc***xyz here", "", 500) == "key [redacted] here");
}

TEST_CASE("an empty key removes nothing; a short key goes whole",
          "[handlers][sanitise]") {
  CHECK(sanitise("sk-test-abcdefgh " + key, "", 500) == "sk-test-abcdefgh " + key);
  CHECK(sanitise("", key, 500).empty());
  CHECK(sanitise("", "", 500).empty());
  // Shorter than a piece: only the whole key.
  CHECK(sanitise("a k3y! b k3y c", "k3y!", 500) == "a [redacted] b k3y c");
  // Unlimited length.
  auto long_text = filler(100'000);
  CHECK(sanitise(long_text, key, no_length_limit) == long_text);
}

TEST_CASE("a multi-megabyte completion is sanitised quickly",
          "[handlers][sanitise]") {
  // The largest body openai.max_response_bytes allows by default, with the
  // key at the start, in the middle and at the end. O(n log k): well under
  // a second; the bound is loose for loaded machines.
  std::string text;
  text.reserve(8 * 1024 * 1024);
  while (text.size() < 8 * 1024 * 1024 - 200)
    text += "The quick brown fox jumps over the lazy dog 0123456789.\n";
  text = key + text.substr(0, text.size() / 2) + key.substr(5, 12)
         + text.substr(text.size() / 2) + key;
  auto start = std::chrono::steady_clock::now();
  auto out = sanitise(text, key, no_length_limit, line_mode::multi_line);
  auto took = std::chrono::steady_clock::now() - start;
  CHECK_FALSE(find_key_piece(out, key));
  CHECK(std::count(out.begin(), out.end(), '[') == 3);
  CHECK(out.size() == text.size() - 2 * key.size() - 12 + 3 * 10);
  CHECK(took < std::chrono::seconds(5));
}

TEST_CASE("upstream_json hands out fields as upstream_text",
          "[handlers][sanitise]") {
  upstream_text body{R"({"error":{"message":"bad )" + key
                     + R"(","code":null,"n":42},"list":[1,2]})"};
  upstream_json doc{body};
  REQUIRE(doc.ok());
  auto msg = doc.string_at("/error/message");
  REQUIRE(msg);
  CHECK(msg->sanitised(key, 100) == "bad [redacted]");
  CHECK(msg->is("bad " + key)); // comparison, for codes we know
  CHECK_FALSE(doc.string_at("/error/code"));   // null
  CHECK_FALSE(doc.string_at("/error/n"));      // a number
  CHECK(doc.int_at("/error/n") == 42);
  CHECK(doc.is_object("/error"));
  CHECK(doc.array_size("/list") == size_t{2});
  CHECK_FALSE(doc.array_size("/error"));

  upstream_json bad{upstream_text{"<html>" + key}};
  CHECK_FALSE(bad.ok());
  CHECK(bad.parse_error().find(key.substr(0, 8)) == std::string::npos);
  CHECK_FALSE(bad.string_at(""));
}
