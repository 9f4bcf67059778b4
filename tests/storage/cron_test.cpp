// Cron expressions and time zones (storage/cron.hpp): every field form and
// error, next runs in UTC and in zones with and without daylight saving,
// the daylight-saving rules at the changes, and a tz file the test builds
// itself (its footer rule read on its own). Expected instants are worked
// out by hand from the zones' offsets; none depends on the current time.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>

#include "storage/cron.hpp"
#include "storage/errors.hpp"
#include "support/temp_dir.hpp"

using namespace jobd;
using namespace jobd::test;

namespace {

cron_expr must_parse(const std::string& text) {
  auto c = cron_expr::parse(text);
  INFO(text);
  REQUIRE(c);
  return *c;
}

time_zone zone(const std::string& name) {
  auto z = time_zone::load(name);
  INFO(name);
  REQUIRE(z);
  return *z;
}

std::string refusal(const std::string& text) {
  auto c = cron_expr::parse(text);
  REQUIRE_FALSE(c);
  CHECK(code_of(c.error()) == errc::invalid);
  return message_of(c.error());
}

// 2026-12-04T10:07:30Z, a Friday.
constexpr int64_t friday = 1'796'378'850'000;
constexpr int64_t minute = 60'000, hour = 3'600'000, day = 86'400'000;

int64_t next(const std::string& expr, int64_t after,
             const std::string& tz = "UTC") {
  auto n = must_parse(expr).next_after(after, zone(tz));
  INFO(expr << " after " << after << " in " << tz);
  REQUIRE(n);
  return *n;
}

} // namespace

TEST_CASE("cron: every field form parses; aliases stand for their fields",
          "[cron]") {
  for (auto text : {"* * * * *", "*/15 * * * *", "0 6 * * 1-5", "5,35 9-17/2 * * *",
                    "0 0 1 JAN,jul *", "0 0 * * sun", "0 0 * * 7", "  1 2 3 4 5  ",
                    "0\t0\t*\t*\t*", "10/20 * * * *", "@yearly", "@annually",
                    "@monthly", "@weekly", "@daily", "@midnight", "@hourly"})
    CHECK(cron_expr::parse(text));
  CHECK(must_parse("  1 2 3 4 5  ").text() == "1 2 3 4 5");
  CHECK(next("@hourly", friday) == next("0 * * * *", friday));
  CHECK(next("@daily", friday) == next("0 0 * * *", friday));
  CHECK(next("@weekly", friday) == next("0 0 * * 0", friday));
  CHECK(next("@monthly", friday) == next("0 0 1 * *", friday));
  CHECK(next("@yearly", friday) == next("0 0 1 1 *", friday));
}

TEST_CASE("cron: each refusal names the field and what is wrong", "[cron]") {
  CHECK(refusal("61 * * * *") == "cron: minute field '61': 61 is out of range 0-59");
  CHECK(refusal("* 24 * * *") == "cron: hour field '24': 24 is out of range 0-23");
  CHECK(refusal("* * 0 * *")
        == "cron: day-of-month field '0': 0 is out of range 1-31");
  CHECK(refusal("* * * 13 *") == "cron: month field '13': 13 is out of range 1-12");
  CHECK(refusal("* * * * 8")
        == "cron: day-of-week field '8': 8 is out of range 0-7");
  CHECK(refusal("* * * FOO *")
        == "cron: month field 'FOO': 'FOO' is not a number or name");
  CHECK(refusal("x * * * *") == "cron: minute field 'x': 'x' is not a number");
  CHECK(refusal("*/0 * * * *") == "cron: minute field '*/0': a step must be at least 1");
  CHECK(refusal("*/x * * * *")
        == "cron: minute field '*/x': the step 'x' is not a number");
  CHECK(refusal("5-1 * * * *")
        == "cron: minute field '5-1': the range 5-1 starts after it ends");
  CHECK(refusal("1,,2 * * * *") == "cron: minute field '1,,2': a value is missing");
  CHECK(refusal("* * * *")
        == "cron: expected 5 fields (minute hour day-of-month month "
           "day-of-week) or an alias such as @daily, got 4");
  CHECK(refusal("* * * * * *").find("got 6") != std::string::npos);
  CHECK(refusal("").find("got 0") != std::string::npos);
  CHECK(refusal("@often")
        == "cron: unknown alias '@often' (the aliases are @yearly, @annually, "
           "@monthly, @weekly, @daily, @midnight, @hourly)");
}

TEST_CASE("cron: next runs in UTC", "[cron]") {
  // Every minute: the next whole minute; strictly after an exact match.
  CHECK(next("* * * * *", friday) == friday + 30'000);
  CHECK(next("* * * * *", friday + 30'000) == friday + 90'000);
  CHECK(next("*/15 * * * *", friday) == friday - 7 * minute - 30'000 + 15 * minute);
  CHECK(next("0 * * * *", friday) == friday - 7 * minute - 30'000 + hour);
  // Daily at 06:00: tomorrow (it is past 06:00).
  auto midnight = friday - 10 * hour - 7 * minute - 30'000;
  CHECK(next("0 6 * * *", friday) == midnight + day + 6 * hour);
  // Weekly on Sunday, 0 and 7 alike: 2026-12-06.
  CHECK(next("0 0 * * 0", friday) == 1'796'515'200'000);
  CHECK(next("0 0 * * 7", friday) == 1'796'515'200'000);
  CHECK(next("0 0 * * SUN", friday) == 1'796'515'200'000);
  // Monthly on the 31st: December, then January, then March (no 31st in
  // February).
  auto dec31 = next("0 0 31 * *", friday);
  CHECK(dec31 == 1'798'675'200'000);
  auto jan31 = next("0 0 31 * *", dec31);
  CHECK(jan31 == 1'801'353'600'000);
  CHECK(next("0 0 31 * *", jan31) == 1'806'451'200'000);
  // February 29th: the next leap year, 2028.
  CHECK(next("0 0 29 2 *", friday) == 1'835'395'200'000);
  // Year rollover.
  CHECK(next("0 0 * * *", 1'830'297'540'000) == 1'830'297'600'000);
  // Both day fields restricted: either matches (the 13th or a Friday).
  auto fri11 = next("0 0 13 * 5", friday);
  CHECK(fri11 == 1'796'947'200'000);
  auto sun13 = next("0 0 13 * 5", fri11);
  CHECK(sun13 == 1'797'120'000'000);
  CHECK(next("0 0 13 * 5", sun13) == 1'797'552'000'000);
  // One restricted: only it counts.
  CHECK(next("0 0 * * 5", friday) == 1'796'947'200'000);
  CHECK(next("0 0 13 * *", friday) == 1'797'120'000'000);
  // Never: nothing within eight years.
  CHECK_FALSE(must_parse("0 0 30 2 *").next_after(friday, time_zone{}));
  CHECK_FALSE(must_parse("0 0 31 4 *").next_after(friday, time_zone{}));
}

TEST_CASE("cron: runs_between lists runs in order, up to a limit", "[cron]") {
  auto c = must_parse("*/15 * * * *");
  auto from = friday - 7 * minute - 30'000; // 10:00:00
  auto runs = c.runs_between(from, from + hour, time_zone{}, 100);
  REQUIRE(runs.size() == 4); // 10:15, 10:30, 10:45, 11:00 (from excluded)
  CHECK(runs.front() == from + 15 * minute);
  CHECK(runs.back() == from + hour);
  CHECK(c.runs_between(from, from + hour, time_zone{}, 2).size() == 2);
  CHECK(c.runs_between(from, from + 14 * minute, time_zone{}, 100).empty());
}

TEST_CASE("time zones: offsets before and after the changes, in both "
          "hemispheres, past the last transition, and whole-quarter zones",
          "[cron]") {
  auto berlin = zone("Europe/Berlin");
  CHECK(berlin.name() == "Europe/Berlin");
  // 2026-03-29 01:00Z: CET until, CEST from.
  CHECK(berlin.offset_at(1'774'746'000 - 1) == 3600);
  CHECK(berlin.offset_at(1'774'746'000) == 7200);
  // 2026-10-25 01:00Z: back to CET.
  CHECK(berlin.offset_at(1'792'890'000 - 1) == 7200);
  CHECK(berlin.offset_at(1'792'890'000) == 3600);
  // 2040, by the footer rule: January and July.
  CHECK(berlin.offset_at(2'210'328'000) == 3600);
  CHECK(berlin.offset_at(2'225'966'400) == 7200);
  auto ny = zone("America/New_York");
  CHECK(ny.offset_at(2'210'328'000) == -18000);
  CHECK(ny.offset_at(2'225'966'400) == -14400);
  auto sydney = zone("Australia/Sydney"); // summer in January
  CHECK(sydney.offset_at(2'210'328'000) == 39600);
  CHECK(sydney.offset_at(2'225'966'400) == 36000);
  CHECK(zone("Asia/Kolkata").offset_at(2'210'328'000) == 19800);
  CHECK(zone("Asia/Kathmandu").offset_at(2'210'328'000) == 20700);
  CHECK(zone("UTC").offset_at(2'210'328'000) == 0);
  CHECK(time_zone{}.name() == "UTC");
  // 09:00 in Kathmandu (+05:45) on 2026-12-05.
  CHECK(next("0 9 * * *", friday, "Asia/Kathmandu") == 1'796'440'500'000);
}

TEST_CASE("time zones: a bad or unknown name is refused, naming it",
          "[cron]") {
  for (auto name : {"", "../../etc/passwd", "/etc/localtime", "Europe/Ber lin",
                    "Mars/Olympus"}) {
    auto z = time_zone::load(name);
    INFO(name);
    REQUIRE_FALSE(z);
    CHECK(code_of(z.error()) == errc::invalid);
    CHECK(message_of(z.error()).rfind(std::string{"timeZone: '"} + name + "'", 0)
          == 0);
  }
}

TEST_CASE("daylight saving: a skipped time runs right after the change, once; "
          "a repeated one runs once if fixed, in both passes if not",
          "[cron]") {
  // Berlin, 2026-03-29: 02:00..02:59 does not exist; 03:00 CEST = 01:00Z.
  auto spring = int64_t{1'774'746'000'000};
  CHECK(next("30 2 * * *", spring - 12 * hour, "Europe/Berlin") == spring);
  // The day after: 02:30 CEST = 00:30Z on the 30th.
  CHECK(next("30 2 * * *", spring, "Europe/Berlin") == 1'774'830'600'000);
  // Every quarter hour of the skipped hour: one run at the change.
  CHECK(next("*/15 2 * * *", spring - hour, "Europe/Berlin") == spring);
  CHECK(next("*/15 2 * * *", spring, "Europe/Berlin") > spring + 20 * hour);
  // Berlin, 2026-10-25: 02:00..02:59 comes twice (CEST, then CET).
  auto fall_first = int64_t{1'792'888'200'000}; // 02:30 CEST = 00:30Z
  CHECK(next("30 2 * * *", fall_first - hour, "Europe/Berlin") == fall_first);
  // Not again at 02:30 CET (01:30Z): next on the 26th, 02:30 CET = 01:30Z.
  CHECK(next("30 2 * * *", fall_first, "Europe/Berlin") == 1'792'978'200'000);
  // Every 15 minutes: both passes, 8 runs at local 02:xx.
  auto quarter = must_parse("*/15 * * * *");
  auto berlin = zone("Europe/Berlin");
  auto runs = quarter.runs_between(1'792'886'400'000 - 1, 1'792'893'600'000 - 1,
                                   berlin, 100);
  CHECK(runs.size() == 8); // 00:00Z..01:45Z
  // New York: 2026-03-08 02:30 does not exist (07:00Z is 03:00 EDT);
  // 2026-11-01 01:30 comes twice: 05:30Z (EDT) only.
  CHECK(next("30 2 * * *", 1'772'953'200'000 - 12 * hour, "America/New_York")
        == 1'772'953'200'000);
  CHECK(next("30 1 * * *", 1'793'511'000'000 - hour, "America/New_York")
        == 1'793'511'000'000);
  CHECK(next("30 1 * * *", 1'793'511'000'000, "America/New_York")
        == 1'793'511'000'000 + day + hour); // 01:30 EST on Nov 2 = 06:30Z
  // Sydney, 2026-10-04: 02:00 AEST jumps to 03:00 AEDT at 16:00Z on the 3rd.
  CHECK(next("30 2 * * *", 1'791'043'200'000 - hour, "Australia/Sydney")
        == 1'791'043'200'000);
}

TEST_CASE("time zones: a tz file's footer rule, read from a file the test "
          "writes ($TZDIR)",
          "[cron]") {
  temp_dir dir;
  // A version-2 TZif file with no transitions, one type (+03:00) and the
  // footer "XST-3XDT,M4.1.0/1,M9.1.0/1": +04:00 from the first Sunday of
  // April, 01:00, to the first Sunday of September, 01:00.
  auto be32 = [](std::string& s, uint32_t v) {
    for (int i = 3; i >= 0; --i)
      s += static_cast<char>(v >> (8 * i) & 0xff);
  };
  auto header = [&](std::string& s) {
    s += "TZif2";
    s += std::string(15, '\0');
    for (uint32_t c : {0u, 0u, 0u, 0u, 1u, 4u}) // isut, isstd, leap, time, type, char
      be32(s, c);
    be32(s, 10'800);  // utoff
    s += '\0';        // isdst
    s += '\0';        // desigidx
    s += std::string("XST") + '\0';
  };
  std::string file;
  header(file);
  header(file);
  file += "\nXST-3XDT,M4.1.0/1,M9.1.0/1\n";
  std::filesystem::create_directories(dir.path() / "Test");
  std::ofstream{dir.path() / "Test" / "Zone", std::ios::binary} << file;
  auto old = std::getenv("TZDIR");
  std::string saved = old ? old : "";
  setenv("TZDIR", dir.path().c_str(), 1);
  auto z = time_zone::load("Test/Zone");
  auto utc_fallback = time_zone::load("UTC"); // no UTC file here: built in
  if (old)
    setenv("TZDIR", saved.c_str(), 1);
  else
    unsetenv("TZDIR");
  REQUIRE(z);
  REQUIRE(utc_fallback);
  CHECK(utc_fallback->offset_at(0) == 0);
  // 2030-04-07 01:00 +03:00 = 2030-04-06 22:00Z; 2030-09-01 01:00 +04:00 =
  // 2030-08-31 21:00Z.
  CHECK(z->offset_at(1'901'743'200 - 1) == 10'800);
  CHECK(z->offset_at(1'901'743'200) == 14'400);
  CHECK(z->offset_at(1'914'440'400 - 1) == 14'400);
  CHECK(z->offset_at(1'914'440'400) == 10'800);
  // 01:30 on the day of the spring change does not exist: the change.
  CHECK(must_parse("30 1 7 4 *").next_after(1'901'743'200'000 - day, *z)
        == 1'901'743'200'000);
}
