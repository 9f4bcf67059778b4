#include "handlers/payload_schema.hpp"

#include <algorithm>
#include <cmath>

#include <simdjson.h>

#include "storage/json_text.hpp"

namespace jobd {

namespace {

using json_type = payload_schema::json_type;

constexpr const char* supported
  = "supported: type (\"object\"), required, properties.NAME.type";

const std::pair<const char*, json_type> type_names[] = {
  {"string", json_type::string},   {"number", json_type::number},
  {"integer", json_type::integer}, {"boolean", json_type::boolean},
  {"object", json_type::object},   {"array", json_type::array},
  {"null", json_type::null},
};

// What a payload value of the wrong type is told it must be.
const char* must_be(json_type t) {
  switch (t) {
    case json_type::string: return "must be a string";
    case json_type::number: return "must be a number";
    case json_type::integer: return "must be an integer (a whole number)";
    case json_type::boolean: return "must be true or false";
    case json_type::object: return "must be a JSON object";
    case json_type::array: return "must be an array";
    case json_type::null: return "must be null";
  }
  return "has the wrong type";
}

bool has_type(simdjson::dom::element v, json_type t) {
  using simdjson::dom::element_type;
  auto et = v.type();
  switch (t) {
    case json_type::string: return et == element_type::STRING;
    case json_type::number:
      return et == element_type::INT64 || et == element_type::UINT64
             || et == element_type::DOUBLE;
    case json_type::integer:
      if (et == element_type::INT64 || et == element_type::UINT64)
        return true;
      if (et == element_type::DOUBLE) {
        double d = v.get_double().value();
        return std::isfinite(d) && d == std::floor(d);
      }
      return false;
    case json_type::boolean: return et == element_type::BOOL;
    case json_type::object: return et == element_type::OBJECT;
    case json_type::array: return et == element_type::ARRAY;
    case json_type::null: return et == element_type::NULL_VALUE;
  }
  return false;
}

// A name for messages: printable as given, or quoted as JSON when odd.
std::string shown(std::string_view name) {
  bool plain = !name.empty()
               && std::all_of(name.begin(), name.end(), [](char c) {
                    return std::isalnum(static_cast<unsigned char>(c))
                           || c == '_' || c == '-';
                  });
  return plain ? std::string{name} : json_string(name);
}

} // namespace

std::optional<payload_schema> payload_schema::parse(std::string_view text,
                                                    std::string& why) {
  std::string json_why;
  if (!check_json(text, json_why)) {
    why = "not JSON (" + json_why + "); write the schema as JSON on one line";
    return std::nullopt;
  }
  simdjson::dom::parser parser;
  simdjson::padded_string padded{text};
  simdjson::dom::element doc;
  simdjson::dom::object top;
  if (parser.parse(padded).get(doc) || doc.get_object().get(top)) {
    why = "must be a JSON object such as {\"required\":[\"to\"],"
          "\"properties\":{\"to\":{\"type\":\"string\"}}}";
    return std::nullopt;
  }
  payload_schema out;
  for (auto field : top) {
    auto key = field.key;
    auto val = field.value;
    if (key == "type") {
      std::string_view t;
      if (val.get_string().get(t) || t != "object") {
        why = "type: must be \"object\" (a payload is always a JSON object)";
        return std::nullopt;
      }
    } else if (key == "required") {
      simdjson::dom::array names;
      if (val.get_array().get(names)) {
        why = "required: must be an array of property names";
        return std::nullopt;
      }
      for (auto n : names) {
        std::string_view s;
        if (n.get_string().get(s)) {
          why = "required: must be an array of property names (strings)";
          return std::nullopt;
        }
        out.required_.emplace_back(s);
      }
    } else if (key == "properties") {
      simdjson::dom::object props;
      if (val.get_object().get(props)) {
        why = "properties: must be an object of {\"NAME\": {\"type\": ...}}";
        return std::nullopt;
      }
      for (auto p : props) {
        auto where = "properties." + shown(p.key);
        simdjson::dom::object ps;
        if (p.value.get_object().get(ps)) {
          why = where + ": must be an object such as {\"type\":\"string\"}";
          return std::nullopt;
        }
        std::optional<json_type> type;
        for (auto pf : ps) {
          if (pf.key != "type") {
            why = "unsupported keyword " + json_string(pf.key) + " in "
                  + where + "; " + supported;
            return std::nullopt;
          }
          std::string_view t;
          if (!pf.value.get_string().get(t))
            for (auto& [name, jt] : type_names)
              if (t == name)
                type = jt;
          if (!type) {
            why = where
                  + ".type: must be one of string, number, integer, "
                    "boolean, object, array, null";
            return std::nullopt;
          }
        }
        if (!type) {
          why = where + ": needs a \"type\"";
          return std::nullopt;
        }
        out.properties_.emplace_back(std::string{p.key}, *type);
      }
    } else {
      why = "unsupported keyword " + json_string(key) + "; " + supported;
      return std::nullopt;
    }
  }
  return out;
}

std::optional<field_error>
payload_schema::check(std::string_view payload) const {
  simdjson::dom::parser parser;
  simdjson::padded_string padded{payload};
  simdjson::dom::element doc;
  simdjson::dom::object obj;
  if (parser.parse(padded).get(doc) || doc.get_object().get(obj))
    return field_error{"payload", "must be a JSON object"};
  for (auto& name : required_) {
    simdjson::dom::element v;
    if (obj.at_key(name).get(v))
      return field_error{"payload." + shown(name), "is required"};
  }
  for (auto field : obj) {
    for (auto& [name, type] : properties_)
      if (field.key == name && !has_type(field.value, type))
        return field_error{"payload." + shown(name), must_be(type)};
  }
  return std::nullopt;
}

} // namespace jobd
