// The log's two formats (actors/log.hpp): every line one event, fields
// escaped so nothing from outside can forge a line or a field, JSON that
// parses, levels filtered before formatting.
#include <catch2/catch.hpp>

#include <simdjson.h>

#include "actors/log.hpp"
#include "storage/json_text.hpp"
#include "support/log_capture.hpp"

using namespace jobd;

namespace {

const int64_t t0 = 1'700'000'000'123; // 2023-11-14T22:13:20.123Z

} // namespace

TEST_CASE("text lines: time, level unless info, message, key=value",
          "[actors][log]") {
  CHECK(format_log(log_format::text, t0, log_level::info, "worker started", {})
        == "2023-11-14T22:13:20.123Z jobd: worker started");
  CHECK(format_log(log_format::text, t0, log_level::warn, "job failed",
                   {{"id", "01J"}, log_num("attempt", 2),
                    {"error", "boom: \"bad\" x=1"}})
        == "2023-11-14T22:13:20.123Z jobd: warn: job failed id=01J "
           "attempt=2 error=\"boom: \\\"bad\\\" x=1\"");
  // A value from outside cannot start a new line or hide a control byte.
  auto forged = format_log(log_format::text, t0, log_level::info, "m",
                           {{"path", "/x\n2023-01-01T00:00:00Z jobd: fake"},
                            {"e", std::string{"a\x1b[31mb"}}, {"empty", ""}});
  CHECK(forged.find('\n') == std::string::npos);
  CHECK(forged.find('\x1b') == std::string::npos);
  CHECK_THAT(forged, Catch::Contains("path=\"/x\\n2023"));
  CHECK_THAT(forged, Catch::Contains("e=\"a\\x1b[31mb\""));
  CHECK_THAT(forged, Catch::EndsWith("empty=\"\""));
}

TEST_CASE("json lines parse, with numbers bare and strings escaped",
          "[actors][log]") {
  auto line = format_log(log_format::json, t0, log_level::warn,
                         "job failed, will retry",
                         {{"id", "01J"}, log_num("attempt", 3),
                          {"error", "line1\nline2 \"q\" \\ \x01"}});
  CHECK(line.find('\n') == std::string::npos);
  std::string why;
  REQUIRE(check_json(line, why));
  simdjson::dom::parser p;
  auto doc = p.parse(line);
  REQUIRE_FALSE(doc.error());
  CHECK(std::string_view{doc["time"].get_string().value()}
        == "2023-11-14T22:13:20.123Z");
  CHECK(std::string_view{doc["level"].get_string().value()} == "warn");
  CHECK(std::string_view{doc["msg"].get_string().value()}
        == "job failed, will retry");
  CHECK(doc["attempt"].get_int64().value() == 3);
  CHECK(std::string_view{doc["error"].get_string().value()}
        == "line1\nline2 \"q\" \\ \x01");
}

TEST_CASE("levels and formats parse by name; events under the level are "
          "not written",
          "[actors][log]") {
  log_level l{};
  log_format f{};
  CHECK(parse_log_level("debug", l));
  CHECK(l == log_level::debug);
  CHECK(parse_log_level("error", l));
  CHECK_FALSE(parse_log_level("verbose", l));
  CHECK(parse_log_format("json", f));
  CHECK(f == log_format::json);
  CHECK_FALSE(parse_log_format("xml", f));
  set_log_level(log_level::warn);
  CHECK_FALSE(log_enabled(log_level::info));
  CHECK(log_enabled(log_level::warn));
  CHECK(log_enabled(log_level::error));
  set_log_level(log_level::debug);
  CHECK(log_enabled(log_level::debug));
  set_log_level(log_level::info);
  CHECK_FALSE(log_enabled(log_level::debug));
  // The capture sees each event as its text line.
  jobd::test::log_capture cap;
  set_log_quiet(true);
  log_event(log_level::warn, "job failed", {{"id", "x y"}});
  set_log_quiet(false);
  CHECK(cap.count("jobd: warn: job failed id=\"x y\"") == 1);
}

TEST_CASE("a logged payload is cut at 2 KiB on a character boundary and "
          "says how long it was",
          "[actors][log]") {
  CHECK(log_payload("{\"a\":1}").value == "{\"a\":1}");
  std::string exact(max_logged_payload_bytes, 'x');
  CHECK(log_payload(exact).value == exact);
  // A 3-byte character straddling the cut is left out whole.
  std::string s(max_logged_payload_bytes - 1, 'x');
  s += "\u20ac"; // euro sign: E2 82 AC
  s += "tail";
  auto f = log_payload(s);
  CHECK(f.key == "payload");
  CHECK(f.value
        == std::string(max_logged_payload_bytes - 1, 'x') + "... ("
             + std::to_string(s.size()) + " bytes)");
}
