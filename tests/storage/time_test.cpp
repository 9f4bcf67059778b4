// parse_time: the one ISO-8601 / RFC 3339 reader behind scheduledFor (POST,
// PATCH) and `jobs add --at`. A time that does not exist is refused, never
// shifted to a neighbouring day or second.
#include <catch2/catch.hpp>

#include "storage/job.hpp"

using namespace jobd;

namespace {

// ms since the epoch, or -1 when refused (and then `why` must say why).
ms_t parsed(const std::string& text) {
  ms_t out = -1;
  std::string why;
  if (!parse_time(text, out, &why)) {
    INFO(text);
    CHECK_FALSE(why.empty());
    CHECK(out == -1); // left unchanged
    return -1;
  }
  return out;
}

std::string why_refused(const std::string& text) {
  ms_t out = 0;
  std::string why;
  CHECK_FALSE(parse_time(text, out, &why));
  return why;
}

} // namespace

TEST_CASE("parse_time reads RFC 3339 times and dates", "[time]") {
  const ms_t t = 1'896'663'845'000; // 2030-02-07T03:04:05Z
  CHECK(parsed("2030-02-07T03:04:05Z") == t);
  CHECK(parsed("2030-02-07t03:04:05z") == t);
  CHECK(parsed("2030-02-07 03:04:05Z") == t);
  CHECK(parsed("2030-02-07T03:04:05+00:00") == t);
  CHECK(parsed("2030-02-07T03:04:05-00:00") == t);
  CHECK(parsed("2030-02-07T04:04:05+01:00") == t);
  CHECK(parsed("2030-02-06T21:34:05-05:30") == t);
  CHECK(parsed("2030-02-07T03:04Z") == t - 5'000); // seconds left out
  CHECK(parsed("2030-02-07") == t - (3 * 3600 + 4 * 60 + 5) * 1000);
  // Fractions: 1..9 digits, kept to the millisecond (truncated).
  CHECK(parsed("2030-02-07T03:04:05.1Z") == t + 100);
  CHECK(parsed("2030-02-07T03:04:05.12Z") == t + 120);
  CHECK(parsed("2030-02-07T03:04:05.123Z") == t + 123);
  CHECK(parsed("2030-02-07T03:04:05.123999999Z") == t + 123);
  // The extreme offsets.
  CHECK(parsed("2030-02-07T03:04:05+23:59") == t - (23 * 60 + 59) * 60'000);
  CHECK(parsed("2030-02-07T03:04:05-23:59") == t + (23 * 60 + 59) * 60'000);
  // What format_time writes reads back.
  CHECK(parsed(format_time(t + 7)) == t + 7);
}

TEST_CASE("parse_time follows the calendar: month lengths and leap years",
          "[time]") {
  CHECK(parsed("2028-02-29T12:00:00Z") == parsed("2028-03-01T12:00:00Z")
                                            - 86'400'000);
  CHECK(parsed("2000-02-29") > 0);  // divisible by 400: leap
  CHECK(parsed("2030-02-28") > 0);
  CHECK(parsed("2030-01-31") > 0);
  CHECK(parsed("2030-04-30") > 0);
  CHECK(parsed("2030-12-31T23:59:59.999Z") > 0);
  for (auto text : {"2030-02-29", "2030-02-29T00:00:00Z", "2100-02-29",
                    "2028-02-30", "2030-02-30T00:00:00Z", "2030-02-31",
                    "2030-04-31T12:00:00Z", "2030-06-31", "2030-09-31",
                    "2030-11-31", "2030-01-32", "2030-01-00", "2030-00-10",
                    "2030-13-01"})
    CHECK(parsed(text) == -1);
  CHECK(why_refused("2030-02-30T10:00:00Z")
        == "day 30 does not exist in 2030-02 (it has 28 days)");
  CHECK(why_refused("2030-02-29") == "day 29 does not exist in 2030-02 (it "
                                     "has 28 days)");
  CHECK(why_refused("2030-04-31") == "day 31 does not exist in 2030-04 (it "
                                     "has 30 days)");
  CHECK(why_refused("2030-13-01") == "month 13 is not 01..12");
}

TEST_CASE("parse_time refuses clock fields out of range, leap seconds "
          "included",
          "[time]") {
  CHECK(why_refused("2030-01-01T24:00:00Z") == "hour 24 is not 00..23");
  CHECK(why_refused("2030-01-01T23:60:00Z") == "minute 60 is not 00..59");
  CHECK(why_refused("2030-01-01T23:59:60Z")
        == "second 60 is not 00..59 (leap seconds are not accepted)");
  CHECK(why_refused("2016-12-31T23:59:60Z") // a real leap second
        == "second 60 is not 00..59 (leap seconds are not accepted)");
  CHECK(parsed("2030-01-01T23:59:61Z") == -1);
  CHECK(parsed("2030-01-01T99:00:00Z") == -1);
}

TEST_CASE("parse_time refuses offsets beyond +-23:59 and malformed ones",
          "[time]") {
  for (auto text : {"2030-01-01T00:00:00+99:00", "2030-01-01T00:00:00+24:00",
                    "2030-01-01T00:00:00-24:00", "2030-01-01T00:00:00+23:60",
                    "2030-01-01T00:00:00+05:99"})
    CHECK(why_refused(text)
          == "the zone offset must be within -23:59..+23:59");
  for (auto text : {"2030-01-01T00:00:00+0100", "2030-01-01T00:00:00+01",
                    "2030-01-01T00:00:00+1:00", "2030-01-01T00:00:00+01:0"})
    CHECK(why_refused(text) == "the zone offset must be +hh:mm or -hh:mm");
}

TEST_CASE("parse_time refuses what is not RFC 3339", "[time]") {
  for (auto text :
       {"", "tomorrow", "2030", "2030-01", "20300101", "20300101T000000Z",
        "2030-1-01", "2030-01-1", "+2030-01-01", " 2030-01-01", "2030-01-01 ",
        "2030-01-01T", "2030-01-01T00Z", "2030-01-01T00:00:00",
        "2030-01-01T00:00", "2030-01-01T00:00:00ZZ", "2030-01-01T00:00:00Z ",
        "2030-01-01T00:00:00.Z", "2030-01-01T00:00:00.1234567890Z",
        "2030-01-01X00:00:00Z", "2030-01-01T00:00:00 Z", "2030-W01-1",
        "2030-001", "2030-01-01T0:00:00Z", "2030-01-01T00:00:0Z"})
    CHECK(parsed(text) == -1);
  CHECK(why_refused("2030-01-01T00:00:00") == "a time needs a zone: Z or +hh:mm");
  CHECK(why_refused("2030-01-01T00:00:00.1234567890Z")
        == "the fraction of a second must have 1 to 9 digits");
}

TEST_CASE("parse_time accepts years 1970..9999 only", "[time]") {
  CHECK(parsed("1970-01-01T00:00:00.001Z") == 1);
  CHECK(parsed("1970-01-01T00:00:00Z") == 0); // "now": due at once anyway
  CHECK(parsed("9999-12-31T23:59:59.999Z") == max_time_ms);
  CHECK(parsed("9999-12-31T23:59:59.999+00:01") == max_time_ms - 60'000);
  CHECK(why_refused("1969-12-31T23:59:59Z") == "year 1969 is before 1970");
  CHECK(why_refused("0000-01-01") == "year 0 is before 1970");
  // An offset must not carry a time across either end.
  CHECK(why_refused("1970-01-01T00:00:00+00:01")
        == "the time is before 1970-01-01T00:00:00Z");
  CHECK(why_refused("9999-12-31T23:59:59.999-00:01")
        == "the time is after 9999-12-31T23:59:59.999Z");
  // Without `why` the answer is the same.
  ms_t out = 0;
  CHECK_FALSE(parse_time("2030-02-30", out));
  CHECK(parse_time("2028-02-29", out));
}
