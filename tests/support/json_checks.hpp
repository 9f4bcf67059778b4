// Reading JSON in tests: parse (a Catch2 REQUIRE on failure) and fetch a
// field, with a readable placeholder when it is missing or of another kind.
#pragma once

#include <catch2/catch.hpp>

#include <cstdint>
#include <string>
#include <string_view>

#include <simdjson.h>

namespace jobd::test {

inline simdjson::dom::element parse(simdjson::dom::parser& p,
                                    const std::string& text) {
  simdjson::dom::element e;
  auto err = p.parse(text).get(e);
  INFO("JSON: " << text);
  REQUIRE(!err);
  return e;
}

/// The string at `key`, or "<key is not a string>".
inline std::string str(simdjson::dom::element e, const char* key) {
  std::string_view v;
  if (e[key].get_string().get(v))
    return "<" + std::string{key} + " is not a string>";
  return std::string{v};
}

/// The whole number at `key`, or -999.
inline int64_t num(simdjson::dom::element e, const char* key) {
  int64_t v = -999;
  if (e[key].get_int64().get(v))
    return -999;
  return v;
}

} // namespace jobd::test
