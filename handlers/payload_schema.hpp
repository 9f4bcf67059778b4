// A job type's payload rules, written in a small subset of JSON Schema
// (the `schema` setting of a [types.NAME] section):
//
//   {"type": "object",
//    "required": ["to"],
//    "properties": {"to": {"type": "string"}, "n": {"type": "integer"}}}
//
// Supported, and nothing else: "type" at the top (only "object": a payload
// is always an object); "required" (an array of property names);
// "properties" (an object: each property's schema is {"type": T} with T
// one of string, number, integer, boolean, object, array, null). Any other
// keyword (minLength, enum, additionalProperties, a nested "properties",
// ...) is refused when the schema is read, so an operator never believes a
// rule is checked when it is not. Properties not listed are allowed.
//
// "integer" accepts a number with no fractional part (7 and 7.0), as JSON
// Schema does; "number" any number. null is only a "null"; a property
// given as null when its type is "string" is refused.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "handlers/handler.hpp"

namespace jobd {

class payload_schema {
public:
  /// The JSON types a property may be declared as.
  enum class json_type { string, number, integer, boolean, object, array, null };

  /// Reads a schema. On failure returns nullopt and sets `why` to one line
  /// naming the part of the schema ("properties.to.type: expected one of
  /// string, number, integer, boolean, object, array, null, got \"text\"";
  /// "unsupported keyword 'minLength' in properties.to; supported: ...").
  static std::optional<payload_schema> parse(std::string_view text,
                                             std::string& why);

  /// Checks a payload: not a JSON object -> field "payload"; a required
  /// property missing -> "payload.<name>" "is required"; a property of
  /// the wrong type -> "payload.<name>" "must be a string" (an integer,
  /// a number, true or false, an object, an array, null). The first
  /// problem found is returned (required properties first, in the
  /// schema's order; then the payload's properties in its order).
  std::optional<field_error> check(std::string_view payload) const;

  const std::vector<std::string>& required() const { return required_; }
  const std::vector<std::pair<std::string, json_type>>& properties() const {
    return properties_;
  }

private:
  std::vector<std::string> required_;
  std::vector<std::pair<std::string, json_type>> properties_;
};

} // namespace jobd
