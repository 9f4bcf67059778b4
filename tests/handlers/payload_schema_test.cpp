// The payload schema subset: what it reads, what it refuses, and how a
// payload is checked against it.
#include <catch2/catch.hpp>

#include "handlers/payload_schema.hpp"

using namespace jobd;

namespace {

payload_schema schema_of(const std::string& text) {
  std::string why;
  auto s = payload_schema::parse(text, why);
  INFO(why);
  REQUIRE(s);
  return *s;
}

std::string refusal(const std::string& text) {
  std::string why;
  auto s = payload_schema::parse(text, why);
  REQUIRE_FALSE(s);
  return why;
}

} // namespace

TEST_CASE("payload_schema reads the subset", "[handlers][schema]") {
  auto s = schema_of(R"({"type":"object","required":["to","n"],
    "properties":{"to":{"type":"string"},"n":{"type":"integer"},
                  "x":{"type":"number"},"b":{"type":"boolean"},
                  "o":{"type":"object"},"a":{"type":"array"},
                  "z":{"type":"null"}}})");
  CHECK(s.required() == std::vector<std::string>{"to", "n"});
  CHECK(s.properties().size() == 7);
  CHECK(schema_of("{}").properties().empty());
}

TEST_CASE("payload_schema refuses what it does not support, naming it",
          "[handlers][schema]") {
  CHECK_THAT(refusal(R"({"properties":{"to":{"type":"string","minLength":1}}})"),
             Catch::Contains("unsupported keyword \"minLength\" in "
                             "properties.to"));
  CHECK_THAT(refusal(R"({"additionalProperties":false})"),
             Catch::Contains("unsupported keyword \"additionalProperties\""));
  CHECK_THAT(refusal(R"({"type":"array"})"), Catch::StartsWith("type: must be"));
  CHECK_THAT(refusal(R"({"required":"to"})"), Catch::StartsWith("required:"));
  CHECK_THAT(refusal(R"({"required":[1]})"), Catch::StartsWith("required:"));
  CHECK_THAT(refusal(R"({"properties":[]})"), Catch::StartsWith("properties:"));
  CHECK_THAT(refusal(R"({"properties":{"to":"string"}})"),
             Catch::StartsWith("properties.to: must be an object"));
  CHECK_THAT(refusal(R"({"properties":{"to":{"type":"text"}}})"),
             Catch::StartsWith("properties.to.type: must be one of"));
  CHECK_THAT(refusal(R"({"properties":{"to":{"type":["string","null"]}}})"),
             Catch::StartsWith("properties.to.type: must be one of"));
  CHECK_THAT(refusal(R"({"properties":{"to":{}}})"),
             Catch::StartsWith("properties.to: needs a \"type\""));
  CHECK_THAT(refusal("[1]"), Catch::StartsWith("must be a JSON object"));
  CHECK_THAT(refusal("{nope"), Catch::StartsWith("not JSON"));
}

TEST_CASE("payload_schema checks payloads, naming the field",
          "[handlers][schema]") {
  auto s = schema_of(R"({"required":["to"],
    "properties":{"to":{"type":"string"},"n":{"type":"integer"},
                  "x":{"type":"number"},"b":{"type":"boolean"},
                  "o":{"type":"object"},"a":{"type":"array"},
                  "z":{"type":"null"}}})");
  CHECK_FALSE(s.check(R"({"to":"a@b.c"})"));
  CHECK_FALSE(s.check(R"({"to":"a","n":7,"x":1.5,"b":false,"o":{},"a":[],
                          "z":null,"other":[1,2]})"));
  CHECK_FALSE(s.check(R"({"to":"a","n":7.0,"x":-3})")); // 7.0 is an integer
  struct bad {
    const char* payload;
    const char* field;
    const char* message;
  };
  for (auto& b : std::vector<bad>{
         {"[]", "payload", "must be a JSON object"},
         {"{}", "payload.to", "is required"},
         {R"({"to":1})", "payload.to", "must be a string"},
         {R"({"to":null})", "payload.to", "must be a string"},
         {R"({"to":"a","n":1.5})", "payload.n", "must be an integer (a whole number)"},
         {R"({"to":"a","n":"1"})", "payload.n", "must be an integer (a whole number)"},
         {R"({"to":"a","x":"1"})", "payload.x", "must be a number"},
         {R"({"to":"a","b":1})", "payload.b", "must be true or false"},
         {R"({"to":"a","o":[]})", "payload.o", "must be a JSON object"},
         {R"({"to":"a","a":{}})", "payload.a", "must be an array"},
         {R"({"to":"a","z":0})", "payload.z", "must be null"},
       }) {
    INFO(b.payload);
    auto err = s.check(b.payload);
    REQUIRE(err);
    CHECK(err->field == b.field);
    CHECK(err->message == b.message);
  }
  // An odd property name is quoted in the field.
  auto odd = schema_of(R"({"required":["a b"]})");
  REQUIRE(odd.check("{}"));
  CHECK(odd.check("{}")->field == "payload.\"a b\"");
}
