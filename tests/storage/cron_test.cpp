// cron_expr and time_zone: parsing, run times in UTC and in zones with
// daylight saving time, TZif files (the system's and hand-built ones).
// Every expected instant is written out as a UTC wall time, worked out by
// hand from the zone's known offsets.
#include <catch2/catch.hpp>

#include <chrono>
#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <limits>

#include <unistd.h>

#include "storage/cron.hpp"
#include "storage/errors.hpp"

using namespace jobd;

namespace {

// Milliseconds since the epoch of a UTC wall time.
int64_t utc(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  std::tm tm{};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = s;
  return static_cast<int64_t>(timegm(&tm)) * 1000;
}

int64_t utc_s(int y, int mo, int d, int h = 0, int mi = 0, int s = 0) {
  return utc(y, mo, d, h, mi, s) / 1000;
}

cron_expr cron(const std::string& text) {
  auto e = cron_expr::parse(text);
  INFO(text);
  REQUIRE(e);
  return *e;
}

time_zone zone(const std::string& name) {
  auto tz = time_zone::load(name);
  INFO(name << ": " << (tz ? "" : message_of(tz.error())));
  REQUIRE(tz);
  return *tz;
}

// The message of a refused expression ("" when it parsed).
std::string refusal(const std::string& text) {
  auto e = cron_expr::parse(text);
  INFO(text);
  CHECK_FALSE(e);
  if (e)
    return "";
  CHECK(code_of(e.error()) == errc::invalid);
  return message_of(e.error());
}

// The first `n` run times after `from_ms` (at most a year on).
std::vector<int64_t> runs(const std::string& text, int64_t from_ms, size_t n,
                          const time_zone& tz = time_zone{}) {
  return cron(text).runs_between(from_ms, from_ms + 366LL * 86'400'000, tz,
                                 n);
}

std::optional<int64_t> next(const std::string& text, int64_t after_ms,
                            const time_zone& tz = time_zone{}) {
  return cron(text).next_after(after_ms, tz);
}

constexpr int64_t minute_ms = 60'000;
constexpr int64_t hour_ms = 3'600'000;

// Sets $TZDIR for the scope, then puts back what was there.
class tzdir_override {
public:
  explicit tzdir_override(const std::string& dir) {
    if (const char* old = std::getenv("TZDIR"))
      old_ = old;
    setenv("TZDIR", dir.c_str(), 1);
  }
  ~tzdir_override() {
    if (old_)
      setenv("TZDIR", old_->c_str(), 1);
    else
      unsetenv("TZDIR");
  }

private:
  std::optional<std::string> old_;
};

// A fresh temporary directory, removed at the end of the scope.
class temp_dir {
public:
  temp_dir() {
    path_ = std::filesystem::temp_directory_path()
            / ("jobd_cron_test_" + std::to_string(getpid()));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  std::string path() const { return path_.string(); }

  void write(const std::string& name, const std::string& bytes) const {
    auto file = path_ / name;
    std::filesystem::create_directories(file.parent_path());
    std::ofstream out(file, std::ios::binary);
    out << bytes;
  }

private:
  std::filesystem::path path_;
};

void put_be(std::string& out, uint64_t v, int bytes) {
  for (int k = bytes - 1; k >= 0; --k)
    out += static_cast<char>((v >> (8 * k)) & 0xff);
}

// A TZif v2 file by hand (RFC 8536): a minimal v1 block (one type, which a
// v2 reader skips), then the 64-bit block with `transitions` (time, type
// index) over types with `offsets`, then the footer "\n<footer>\n".
std::string tzif_v2(const std::vector<std::pair<int64_t, uint8_t>>& transitions,
                    const std::vector<int32_t>& offsets,
                    const std::string& footer, uint32_t leapcnt = 0) {
  auto header = [](std::string& out, uint32_t timecnt, uint32_t typecnt,
                   uint32_t leapcnt) {
    out += "TZif2";
    out += std::string(15, '\0');
    for (uint32_t count : {0u, 0u, leapcnt, timecnt, typecnt, 1u})
      put_be(out, count, 4); // isut, isstd, leap, time, type, char
  };
  std::string out;
  header(out, 0, 1, 0);
  put_be(out, 0, 4); // the v1 block's type: UTC
  out += std::string(3, '\0');
  header(out, static_cast<uint32_t>(transitions.size()),
         static_cast<uint32_t>(offsets.size()), leapcnt);
  for (auto& t : transitions)
    put_be(out, static_cast<uint64_t>(t.first), 8);
  for (auto& t : transitions)
    out += static_cast<char>(t.second);
  for (int32_t o : offsets) {
    put_be(out, static_cast<uint32_t>(o), 4);
    out += '\0'; // isdst
    out += '\0'; // designation index
  }
  out += '\0'; // the designations: one empty string
  for (uint32_t k = 0; k < leapcnt; ++k) {
    put_be(out, static_cast<uint64_t>(utc_s(1972, 7, 1)) + k, 8);
    put_be(out, k + 1, 4);
  }
  out += "\n" + footer + "\n";
  return out;
}

} // namespace

// --- parsing -----------------------------------------------------------------

TEST_CASE("cron_expr::parse reads every field form", "[cron]") {
  const int64_t hour0 = utc(2026, 1, 1); // a Thursday
  auto minutes_of = [&](const std::string& text) {
    std::vector<int64_t> out;
    for (int64_t t : cron(text).runs_between(hour0 - 1, hour0 + 59 * minute_ms,
                                             time_zone{}, 100))
      out.push_back((t - hour0) / minute_ms);
    return out;
  };
  using v = std::vector<int64_t>;
  CHECK(minutes_of("7 * * * *") == v{7});
  CHECK(minutes_of("5,10-12,50-59/3 * * * *") == v{5, 10, 11, 12, 50, 53, 56, 59});
  CHECK(minutes_of("*/20 * * * *") == v{0, 20, 40});
  CHECK(minutes_of("10/20 * * * *") == v{10, 30, 50}); // a/n: a to the end
  CHECK(minutes_of("58-59,0 * * * *") == v{0, 58, 59});
  CHECK(minutes_of("*/60 * * * *") == v{0});
  CHECK(minutes_of("* * * * *").size() == 60);
  CHECK(minutes_of("0-59 * * * *").size() == 60);
  CHECK(minutes_of("0-59/1 * * * *").size() == 60);
  CHECK(minutes_of("*/7,3 * * * *") == v{0, 3, 7, 14, 21, 28, 35, 42, 49, 56});

  // Hours, days, months, weekdays; names in any case.
  CHECK(runs("0 9-17/4 * * *", hour0, 4)
        == std::vector<int64_t>{utc(2026, 1, 1, 9), utc(2026, 1, 1, 13),
                                utc(2026, 1, 1, 17), utc(2026, 1, 2, 9)});
  CHECK(runs("0 0 1 jan-MAR,Dec *", hour0, 4)
        == std::vector<int64_t>{utc(2026, 2, 1), utc(2026, 3, 1),
                                utc(2026, 12, 1), utc(2027, 1, 1)});
  CHECK(runs("0 0 1 2,4 *", hour0, 2)
        == std::vector<int64_t>{utc(2026, 2, 1), utc(2026, 4, 1)});
  CHECK(runs("0 0 * * mon-FRI", hour0, 3) // from Thursday
        == std::vector<int64_t>{utc(2026, 1, 2), utc(2026, 1, 5),
                                utc(2026, 1, 6)});
  CHECK(runs("0 0 * * 5-7", hour0, 4) // Fri, Sat, Sun (7)
        == std::vector<int64_t>{utc(2026, 1, 2), utc(2026, 1, 3),
                                utc(2026, 1, 4), utc(2026, 1, 9)});
  CHECK(runs("0 0 * * Sun,wed", hour0, 2)
        == std::vector<int64_t>{utc(2026, 1, 4), utc(2026, 1, 7)});
  CHECK(runs("0 0 * * 0-7/2", hour0, 3) // 0,2,4,6: Sun Tue Thu Sat
        == std::vector<int64_t>{utc(2026, 1, 3), utc(2026, 1, 4),
                                utc(2026, 1, 6)});
  CHECK(runs("0 0 10-20/5 * *", hour0, 4)
        == std::vector<int64_t>{utc(2026, 1, 10), utc(2026, 1, 15),
                                utc(2026, 1, 20), utc(2026, 2, 10)});

  // Spaces and tabs; text() is trimmed.
  auto e = cron(" \t 0  12\t* *   * \t");
  CHECK(e.text() == "0  12\t* *   *");
  CHECK(e.next_after(hour0, time_zone{}) == utc(2026, 1, 1, 12));
}

TEST_CASE("cron_expr::parse knows the aliases", "[cron]") {
  const int64_t t = utc(2026, 5, 13, 10, 7); // a Wednesday
  CHECK(next("@yearly", t) == utc(2027, 1, 1));
  CHECK(next("@annually", t) == utc(2027, 1, 1));
  CHECK(next("@monthly", t) == utc(2026, 6, 1));
  CHECK(next("@weekly", t) == utc(2026, 5, 17));
  CHECK(next("@daily", t) == utc(2026, 5, 14));
  CHECK(next("@midnight", t) == utc(2026, 5, 14));
  CHECK(next("@hourly", t) == utc(2026, 5, 13, 11));
  CHECK(next("@DAILY", t) == utc(2026, 5, 14));
  CHECK(cron("  @hourly ").text() == "@hourly");
}

TEST_CASE("cron_expr::parse refuses bad expressions, naming the field",
          "[cron]") {
  CHECK(refusal("61 * * * *")
        == "cron: minute field '61': 61 is out of range 0-59");
  CHECK(refusal("1,61 * * * *")
        == "cron: minute field '1,61': 61 is out of range 0-59");
  CHECK(refusal("99999 * * * *")
        == "cron: minute field '99999': 99999 is out of range 0-59");
  CHECK(refusal("* 24 * * *")
        == "cron: hour field '24': 24 is out of range 0-23");
  CHECK(refusal("* * 0 * *")
        == "cron: day-of-month field '0': 0 is out of range 1-31");
  CHECK(refusal("* * 32 * *")
        == "cron: day-of-month field '32': 32 is out of range 1-31");
  CHECK(refusal("* * * 13 *")
        == "cron: month field '13': 13 is out of range 1-12");
  CHECK(refusal("* * * 0 *")
        == "cron: month field '0': 0 is out of range 1-12");
  CHECK(refusal("* * * * 8")
        == "cron: day-of-week field '8': 8 is out of range 0-7");
  CHECK(refusal("* * * FOO *")
        == "cron: month field 'FOO': 'FOO' is not a number or a month name "
           "(JAN-DEC)");
  CHECK(refusal("* * * * funday")
        == "cron: day-of-week field 'funday': 'funday' is not a number or a "
           "day name (SUN-SAT)");
  CHECK(refusal("* * * * 1-jan")
        == "cron: day-of-week field '1-jan': 'jan' is not a number or a day "
           "name (SUN-SAT)");
  CHECK(refusal("a * * * *") == "cron: minute field 'a': 'a' is not a number");
  CHECK(refusal("* mon * * *")
        == "cron: hour field 'mon': 'mon' is not a number");
  CHECK(refusal("*/0 * * * *")
        == "cron: minute field '*/0': bad step 0 in '*/0' (steps start at 1)");
  CHECK(refusal("* 1-5/0 * * *")
        == "cron: hour field '1-5/0': bad step 0 in '1-5/0' (steps start at "
           "1)");
  CHECK(refusal("*/x * * * *")
        == "cron: minute field '*/x': step 'x' is not a number");
  CHECK(refusal("*/ * * * *")
        == "cron: minute field '*/': step '' is not a number");
  CHECK(refusal("5-3 * * * *")
        == "cron: minute field '5-3': range 5-3 starts after its end");
  CHECK(refusal("* * * * sat-sun")
        == "cron: day-of-week field 'sat-sun': range sat-sun starts after its "
           "end");
  CHECK(refusal("1,,2 * * * *")
        == "cron: minute field '1,,2': an empty list item");
  CHECK(refusal("1, * * * *")
        == "cron: minute field '1,': an empty list item");
  CHECK(refusal("1- * * * *") == "cron: minute field '1-': a value is missing");
  CHECK(refusal("-1 * * * *") == "cron: minute field '-1': a value is missing");
  CHECK(refusal("* * * * * *")
        == "cron: expected 5 fields (minute hour day-of-month month "
           "day-of-week), got 6");
  CHECK(refusal("* * * *")
        == "cron: expected 5 fields (minute hour day-of-month month "
           "day-of-week), got 4");
  CHECK(refusal("")
        == "cron: expected 5 fields (minute hour day-of-month month "
           "day-of-week), got 0");
  CHECK(refusal(" \t ")
        == "cron: expected 5 fields (minute hour day-of-month month "
           "day-of-week), got 0");
  CHECK(refusal("@every")
        == "cron: unknown alias '@every' (expected @yearly, @annually, "
           "@monthly, @weekly, @daily, @midnight or @hourly)");
  CHECK(refusal("@daily *")
        == "cron: unknown alias '@daily *' (expected @yearly, @annually, "
           "@monthly, @weekly, @daily, @midnight or @hourly)");
}

// --- next_after in UTC -------------------------------------------------------

TEST_CASE("next_after in UTC: frequencies", "[cron]") {
  const int64_t t = utc(2026, 7, 15, 10, 7, 30) + 250; // a Wednesday
  CHECK(next("* * * * *", t) == utc(2026, 7, 15, 10, 8));
  CHECK(next("*/15 * * * *", t) == utc(2026, 7, 15, 10, 15));
  CHECK(next("0 * * * *", t) == utc(2026, 7, 15, 11));
  CHECK(next("30 4 * * *", t) == utc(2026, 7, 16, 4, 30));
  CHECK(next("0 0 * * 0", t) == utc(2026, 7, 19)); // Sunday as 0
  CHECK(next("0 0 * * 7", t) == utc(2026, 7, 19)); // and as 7
  CHECK(next("0 0 * * 3", t) == utc(2026, 7, 22)); // today has passed
  CHECK(next("0 0 1 * *", t) == utc(2026, 8, 1));
  // The last minute of an hour, day, month and year roll over.
  CHECK(next("* * * * *", utc(2026, 12, 31, 23, 58, 59)) == utc(2026, 12, 31, 23, 59));
  CHECK(next("* * * * *", utc(2026, 12, 31, 23, 59)) == utc(2027, 1, 1));
  CHECK(next("59 23 31 12 *", utc(2026, 12, 31, 23, 59)) == utc(2027, 12, 31, 23, 59));
  CHECK(next("0 0 1 1 *", utc(2026, 12, 31, 23, 59, 59) + 999) == utc(2027, 1, 1));
  // Before the epoch too.
  CHECK(next("0 0 1 1 *", utc(1969, 6, 1)) == utc(1970, 1, 1));
  CHECK(next("0 12 * * *", utc(1960, 2, 28, 13)) == utc(1960, 2, 29, 12));
}

TEST_CASE("next_after at the ends of int64_t", "[cron]") {
  constexpr int64_t max = std::numeric_limits<int64_t>::max();
  constexpr int64_t min = std::numeric_limits<int64_t>::min();
  auto berlin = zone("Europe/Berlin");
  // Run times that would not fit are not returned.
  CHECK_FALSE(next("* * * * *", max));
  auto far = next("0 0 * * *", max - 400LL * 86'400'000);
  REQUIRE(far);
  CHECK(*far > max - 400LL * 86'400'000);
  auto early = next("* * * * *", min, berlin);
  REQUIRE(early);
  CHECK(*early > min);
  CHECK(*early - min <= 61'000 + 3'600'000);
}

TEST_CASE("next_after is strictly after, to the millisecond", "[cron]") {
  const int64_t match = utc(2026, 3, 10, 8, 0);
  CHECK(next("0 8 * * *", match) == match + 24 * hour_ms);
  CHECK(next("0 8 * * *", match - 1) == match);
  CHECK(next("0 8 * * *", match + 1) == match + 24 * hour_ms);
  CHECK(next("* * * * *", match) == match + minute_ms);
  CHECK(next("* * * * *", match - 1) == match);
  CHECK(next("* * * * *", match + 59'999) == match + minute_ms);
}

TEST_CASE("next_after in UTC: month lengths and leap years", "[cron]") {
  // The 31st skips the months that have none.
  CHECK(runs("0 0 31 * *", utc(2026, 1, 1), 7)
        == std::vector<int64_t>{utc(2026, 1, 31), utc(2026, 3, 31),
                                utc(2026, 5, 31), utc(2026, 7, 31),
                                utc(2026, 8, 31), utc(2026, 10, 31),
                                utc(2026, 12, 31)});
  CHECK(runs("0 0 30 * *", utc(2026, 1, 30), 2)
        == std::vector<int64_t>{utc(2026, 3, 30), utc(2026, 4, 30)});
  // Feb 29: leap years only (2100 is none: within eight years of 2096).
  CHECK(next("0 0 29 2 *", utc(2026, 1, 1)) == utc(2028, 2, 29));
  CHECK(next("0 0 29 2 *", utc(2028, 2, 29)) == utc(2032, 2, 29));
  CHECK(next("0 0 29 2 *", utc(2096, 3, 1)) == utc(2104, 2, 29));
  CHECK(next("0 0 29 2 *", utc(2000, 1, 1)) == utc(2000, 2, 29)); // a 400th
  CHECK(next("0 0 * 2 *", utc(2028, 2, 28, 12)) == utc(2028, 2, 29));
  CHECK(next("0 0 * 2 *", utc(2027, 2, 28, 12)) == utc(2028, 2, 1));
  CHECK(next("0 0 1 3 *", utc(2028, 2, 28)) == utc(2028, 3, 1));
}

TEST_CASE("next_after: nothing within eight years is nullopt", "[cron]") {
  CHECK_FALSE(next("0 0 30 2 *", utc(2026, 1, 1)));
  CHECK_FALSE(next("0 0 31 4,6,9,11 *", utc(2026, 1, 1)));
  CHECK_FALSE(next("0 0 30 2 *", utc(2026, 1, 1), zone("Europe/Berlin")));
  // With both day fields restricted the weekday still matches.
  CHECK(next("0 0 30 2 mon", utc(2026, 1, 1)) == utc(2026, 2, 2)); // Feb's Mondays
}

TEST_CASE("next_after: the day-of-month / day-of-week rule", "[cron]") {
  const int64_t feb1 = utc(2026, 2, 1); // a Sunday
  // Both restricted: the 13th or a Friday.
  CHECK(runs("0 0 13 * 5", feb1, 6)
        == std::vector<int64_t>{utc(2026, 2, 6), utc(2026, 2, 13),
                                utc(2026, 2, 20), utc(2026, 2, 27),
                                utc(2026, 3, 6), utc(2026, 3, 13)});
  CHECK(runs("0 0 1,15 * mon", feb1, 4)
        == std::vector<int64_t>{utc(2026, 2, 2), utc(2026, 2, 9),
                                utc(2026, 2, 15), utc(2026, 2, 16)});
  // A field starting with '*' counts as unrestricted: both must match.
  CHECK(runs("0 0 */2 * 5", feb1, 4) // odd days that are Fridays
        == std::vector<int64_t>{utc(2026, 2, 13), utc(2026, 2, 27),
                                utc(2026, 3, 13), utc(2026, 3, 27)});
  CHECK(runs("0 0 13 * *", feb1, 2)
        == std::vector<int64_t>{utc(2026, 2, 13), utc(2026, 3, 13)});
  CHECK(runs("0 0 * * 5", feb1, 2)
        == std::vector<int64_t>{utc(2026, 2, 6), utc(2026, 2, 13)});
  CHECK(runs("0 0 13 * */1", feb1, 2) // every weekday: just the 13th
        == std::vector<int64_t>{utc(2026, 2, 13), utc(2026, 3, 13)});
  // Friday the 13th needs no OR: "13 * 5" is not it.
  CHECK(next("0 0 13 2 5", utc(2026, 2, 7)) == utc(2026, 2, 13));
}

// --- time zones --------------------------------------------------------------

TEST_CASE("time_zone: UTC, and system zones with fixed offsets", "[cron]") {
  time_zone utc_zone;
  CHECK(utc_zone.name() == "UTC");
  CHECK(utc_zone.offset_at(0) == 0);
  CHECK(zone("UTC").name() == "UTC");
  CHECK(zone("UTC").offset_at(utc_s(2040, 6, 1)) == 0);

  auto kolkata = zone("Asia/Kolkata");
  CHECK(kolkata.name() == "Asia/Kolkata");
  CHECK(kolkata.offset_at(utc_s(2026, 1, 1)) == 19'800);
  CHECK(kolkata.offset_at(utc_s(2026, 7, 1)) == 19'800);
  CHECK(kolkata.offset_at(utc_s(2045, 7, 1)) == 19'800);
  CHECK(next("0 9 * * *", utc(2026, 1, 1), kolkata) == utc(2026, 1, 1, 3, 30));

  auto kathmandu = zone("Asia/Kathmandu");
  CHECK(kathmandu.offset_at(utc_s(2026, 1, 1)) == 20'700);
  CHECK(kathmandu.offset_at(utc_s(2045, 1, 1)) == 20'700);
  CHECK(next("0 9 * * *", utc(2026, 1, 1), kathmandu)
        == utc(2026, 1, 1, 3, 15));
  // Local midnight is 18:15Z the day before.
  CHECK(next("0 0 1 1 *", utc(2026, 6, 1), kathmandu)
        == utc(2026, 12, 31, 18, 15));
  // A copy shares the rules.
  time_zone copy = kathmandu;
  CHECK(copy.name() == "Asia/Kathmandu");
  CHECK(copy.offset_at(0) == kathmandu.offset_at(0));
}

TEST_CASE("time_zone: offsets around DST transitions", "[cron]") {
  auto berlin = zone("Europe/Berlin");
  CHECK(berlin.offset_at(utc_s(2026, 3, 29, 1) - 1) == 3600);
  CHECK(berlin.offset_at(utc_s(2026, 3, 29, 1)) == 7200);
  CHECK(berlin.offset_at(utc_s(2026, 10, 25, 1) - 1) == 7200);
  CHECK(berlin.offset_at(utc_s(2026, 10, 25, 1)) == 3600);
  // Far out, past the file's transitions: the footer rule.
  CHECK(berlin.offset_at(utc_s(2040, 3, 25, 1) - 1) == 3600);
  CHECK(berlin.offset_at(utc_s(2040, 3, 25, 1)) == 7200);
  CHECK(berlin.offset_at(utc_s(2040, 10, 28, 1) - 1) == 7200);
  CHECK(berlin.offset_at(utc_s(2040, 10, 28, 1)) == 3600);
  CHECK(berlin.offset_at(utc_s(2100, 7, 1)) == 7200);
  CHECK(berlin.offset_at(utc_s(2100, 12, 1)) == 3600);

  auto new_york = zone("America/New_York");
  CHECK(new_york.offset_at(utc_s(2026, 3, 8, 7) - 1) == -5 * 3600);
  CHECK(new_york.offset_at(utc_s(2026, 3, 8, 7)) == -4 * 3600);
  CHECK(new_york.offset_at(utc_s(2026, 11, 1, 6) - 1) == -4 * 3600);
  CHECK(new_york.offset_at(utc_s(2026, 11, 1, 6)) == -5 * 3600);
  CHECK(new_york.offset_at(utc_s(2045, 11, 5, 6) - 1) == -4 * 3600);
  CHECK(new_york.offset_at(utc_s(2045, 11, 5, 6)) == -5 * 3600);

  // Southern hemisphere: summer time spans the new year.
  auto sydney = zone("Australia/Sydney");
  CHECK(sydney.offset_at(utc_s(2026, 1, 15)) == 11 * 3600);
  CHECK(sydney.offset_at(utc_s(2026, 4, 4, 16) - 1) == 11 * 3600);
  CHECK(sydney.offset_at(utc_s(2026, 4, 4, 16)) == 10 * 3600);
  CHECK(sydney.offset_at(utc_s(2026, 7, 1)) == 10 * 3600);
  CHECK(sydney.offset_at(utc_s(2026, 10, 3, 16) - 1) == 10 * 3600);
  CHECK(sydney.offset_at(utc_s(2026, 10, 3, 16)) == 11 * 3600);
  CHECK(sydney.offset_at(utc_s(2045, 1, 1)) == 11 * 3600);
  CHECK(sydney.offset_at(utc_s(2045, 7, 1)) == 10 * 3600);
  CHECK(sydney.offset_at(utc_s(2045, 12, 31)) == 11 * 3600);
}

TEST_CASE("time_zone::load refuses bad names and missing zones", "[cron]") {
  auto refused = [](const std::string& name) {
    auto tz = time_zone::load(name);
    INFO(name);
    CHECK_FALSE(tz);
    if (tz)
      return std::string{};
    CHECK(code_of(tz.error()) == errc::invalid);
    return message_of(tz.error());
  };
  CHECK(refused("") == "time zone '': the name is empty (e.g. Europe/Berlin)");
  CHECK(refused("../etc/passwd")
        == "time zone '../etc/passwd': a zone name is relative to the tz "
           "database and holds no '..' (e.g. Europe/Berlin)");
  CHECK(refused("Europe/../../etc/passwd").find("holds no '..'")
        != std::string::npos);
  CHECK(refused("/etc/localtime").find("time zone '/etc/localtime'") == 0);
  const auto missing = refused("Mars/Olympus_Mons");
  CHECK(missing.find("time zone 'Mars/Olympus_Mons': no readable TZif file at ")
        == 0);
  CHECK(missing.find("Mars/Olympus_Mons (") != std::string::npos);
  CHECK(refused("Europe").find("no readable TZif file") != std::string::npos);
  CHECK(refused(std::string("UTC\0x", 5)).find("holds no '..'")
        != std::string::npos);
}

TEST_CASE("time_zone reads hand-built TZif files under $TZDIR", "[cron]") {
  temp_dir dir;
  tzdir_override tzdir(dir.path());
  // One transition at the epoch (+1h before, +2h after), then a footer
  // with a negative start time and an end time past 24h (TZif v3 forms):
  // DST from the last Sunday of March at -1:00 (Saturday 23:00) to the last
  // Sunday of October at 26:00 (Monday 02:00 DST).
  dir.write("Test/Rule",
            tzif_v2({{0, 1}}, {3600, 7200}, "XST-2XDT,M3.5.0/-1,M10.5.0/26"));
  // No transitions: only the footer. J60 is March 1 in every year; 300
  // counts from 0 and includes Feb 29 (Oct 27 in 2028, Oct 28 in 2027).
  dir.write("Test/Julian", tzif_v2({}, {-10'800}, "AAA3BBB,J60/2,300"));
  dir.write("Test/Half", tzif_v2({}, {12'600}, "<+0330>-3:30"));
  dir.write("Test/Quoted", tzif_v2({}, {-7200}, "<-02>2<-01>,M3.5.0/-1,M10.5.0/0"));
  dir.write("Test/AllYearDST", tzif_v2({}, {-14'400}, "EST5EDT,0/0,J365/25"));
  dir.write("Test/NoFooter",
            tzif_v2({{utc_s(2000, 1, 1), 1}}, {0, 5400}, ""));
  dir.write("Test/Garbage", "not a tz file at all");
  dir.write("Test/LeapSeconds", tzif_v2({}, {0}, "UTC0", 1));
  dir.write("Test/BadFooter", tzif_v2({}, {0}, "XST-2XDT,M13.1.0,M10.5.0"));
  dir.write("Test/Truncated",
            tzif_v2({{0, 1}}, {3600, 7200}, "CET-1").substr(0, 70));

  auto rule = zone("Test/Rule");
  CHECK(rule.name() == "Test/Rule");
  CHECK(rule.offset_at(-1) == 3600);
  CHECK(rule.offset_at(0) == 7200);
  CHECK(rule.offset_at(utc_s(2026, 1, 1)) == 7200);
  CHECK(rule.offset_at(utc_s(2026, 3, 28, 21) - 1) == 7200);
  CHECK(rule.offset_at(utc_s(2026, 3, 28, 21)) == 10'800);
  CHECK(rule.offset_at(utc_s(2026, 10, 25, 23) - 1) == 10'800);
  CHECK(rule.offset_at(utc_s(2026, 10, 25, 23)) == 7200);
  // The gap is Saturday 23:00-24:00 local: a 23:30 job runs at 00:00 DST.
  CHECK(runs("30 23 * * *", utc(2026, 3, 27, 12), 3, rule)
        == std::vector<int64_t>{utc(2026, 3, 27, 21, 30),
                                utc(2026, 3, 28, 21), utc(2026, 3, 29, 20, 30)});

  auto julian = zone("Test/Julian");
  CHECK(julian.offset_at(utc_s(2028, 2, 29, 12)) == -10'800);
  CHECK(julian.offset_at(utc_s(2028, 3, 1, 5) - 1) == -10'800);
  CHECK(julian.offset_at(utc_s(2028, 3, 1, 5)) == -7200);
  CHECK(julian.offset_at(utc_s(2028, 10, 27, 4) - 1) == -7200);
  CHECK(julian.offset_at(utc_s(2028, 10, 27, 4)) == -10'800);
  CHECK(julian.offset_at(utc_s(2027, 3, 1, 5) - 1) == -10'800);
  CHECK(julian.offset_at(utc_s(2027, 3, 1, 5)) == -7200);
  CHECK(julian.offset_at(utc_s(2027, 10, 28, 4) - 1) == -7200);
  CHECK(julian.offset_at(utc_s(2027, 10, 28, 4)) == -10'800);
  CHECK(julian.offset_at(utc_s(1950, 7, 1)) == -7200); // the rule, before too

  auto half = zone("Test/Half");
  CHECK(half.offset_at(utc_s(1900, 1, 1)) == 12'600);
  CHECK(half.offset_at(utc_s(2030, 7, 1)) == 12'600);
  CHECK(next("0 0 * * *", utc(2030, 7, 1), half) == utc(2030, 7, 1, 20, 30));

  auto quoted = zone("Test/Quoted"); // like America/Nuuk: -2, DST -1
  CHECK(quoted.offset_at(utc_s(2030, 1, 1)) == -7200);
  CHECK(quoted.offset_at(utc_s(2030, 7, 1)) == -3600);

  auto all_year = zone("Test/AllYearDST");
  CHECK(all_year.offset_at(utc_s(2030, 1, 1, 4, 30)) == -14'400);
  CHECK(all_year.offset_at(utc_s(2030, 7, 1)) == -14'400);
  CHECK(all_year.offset_at(utc_s(2030, 12, 31, 23)) == -14'400);
  CHECK(all_year.offset_at(utc_s(2031, 1, 1, 4)) == -14'400);

  auto no_footer = zone("Test/NoFooter"); // the last transition's type stays
  CHECK(no_footer.offset_at(utc_s(1999, 1, 1)) == 0);
  CHECK(no_footer.offset_at(utc_s(2050, 1, 1)) == 5400);

  // "UTC" needs no file, not even a tz database.
  CHECK(zone("UTC").offset_at(utc_s(2030, 1, 1)) == 0);

  for (std::string bad : {"Test/Garbage", "Test/BadFooter", "Test/Truncated",
                          "Test/LeapSeconds"}) {
    auto tz = time_zone::load(bad);
    INFO(bad);
    REQUIRE_FALSE(tz);
    CHECK(code_of(tz.error()) == errc::invalid);
    CHECK(message_of(tz.error()).find("time zone '" + bad + "': "
                                      + dir.path() + "/" + bad
                                      + " is not a valid TZif file: ")
          == 0);
  }
  CHECK(message_of(time_zone::load("Test/BadFooter").error())
          .find("footer TZ string 'XST-2XDT,M13.1.0,M10.5.0'")
        != std::string::npos);
  // Not found: the message says where it looked.
  auto missing = time_zone::load("Europe/Berlin");
  REQUIRE_FALSE(missing);
  CHECK(message_of(missing.error()).find(dir.path() + "/Europe/Berlin")
        != std::string::npos);
}

TEST_CASE("time_zone: UTC works without any tz database", "[cron]") {
  tzdir_override tzdir("/nonexistent/jobd-no-zoneinfo");
  auto tz = zone("UTC");
  CHECK(tz.offset_at(utc_s(2026, 6, 1)) == 0);
  CHECK(next("0 0 * * *", utc(2026, 6, 1, 12), tz) == utc(2026, 6, 2));
  CHECK_FALSE(time_zone::load("Europe/Berlin"));
}

// --- daylight saving time ----------------------------------------------------

TEST_CASE("next_after in Berlin: spring forward", "[cron]") {
  auto berlin = zone("Europe/Berlin");
  // 2026-03-29: 02:00 CET (01:00Z) jumps to 03:00 CEST.
  const int64_t from = utc(2026, 3, 28, 12);
  // A daily 02:30 runs once, at 03:00 CEST, then at 02:30 CEST.
  CHECK(runs("30 2 * * *", from, 3, berlin)
        == std::vector<int64_t>{utc(2026, 3, 29, 1), utc(2026, 3, 30, 0, 30),
                                utc(2026, 3, 31, 0, 30)});
  CHECK(runs("0 2 * * *", from, 2, berlin)
        == std::vector<int64_t>{utc(2026, 3, 29, 1), utc(2026, 3, 30, 0)});
  // Every minute of the gap matching still makes one run.
  CHECK(runs("*/15 2 * * *", from, 2, berlin)
        == std::vector<int64_t>{utc(2026, 3, 29, 1), utc(2026, 3, 30, 0)});
  // 03:00 local is no gap time: one run, the same instant.
  CHECK(runs("0 3 * * *", from, 2, berlin)
        == std::vector<int64_t>{utc(2026, 3, 29, 1), utc(2026, 3, 30, 1)});
  // Every 30 minutes: the real clock goes 01:30 CET, 03:00 CEST (the gap's
  // run and 03:00 coincide), 03:30 CEST.
  CHECK(cron("*/30 * * * *")
          .runs_between(utc(2026, 3, 29, 0, 15), utc(2026, 3, 29, 2), berlin,
                        10)
        == std::vector<int64_t>{utc(2026, 3, 29, 0, 30), utc(2026, 3, 29, 1),
                                utc(2026, 3, 29, 1, 30), utc(2026, 3, 29, 2)});
  // Exactly at the gap's end the gap's run is not strictly after.
  CHECK(next("30 2 * * *", utc(2026, 3, 29, 1), berlin)
        == utc(2026, 3, 30, 0, 30));
  CHECK(next("30 2 * * *", utc(2026, 3, 29, 1) - 1, berlin)
        == utc(2026, 3, 29, 1));
  // From inside the day before the gap.
  CHECK(next("30 2 * * *", utc(2026, 3, 28, 1, 30), berlin)
        == utc(2026, 3, 29, 1));
}

TEST_CASE("next_after in Berlin: fall back", "[cron]") {
  auto berlin = zone("Europe/Berlin");
  // 2026-10-25: 03:00 CEST (01:00Z) goes back to 02:00 CET; 02:xx twice.
  const int64_t from = utc(2026, 10, 24, 12);
  // Fixed times run at the first pass only.
  CHECK(runs("30 2 * * *", from, 2, berlin)
        == std::vector<int64_t>{utc(2026, 10, 25, 0, 30),
                                utc(2026, 10, 26, 1, 30)});
  CHECK(runs("0 2 * * *", from, 2, berlin)
        == std::vector<int64_t>{utc(2026, 10, 25, 0), utc(2026, 10, 26, 1)});
  CHECK(runs("0,30 2 * * *", from, 3, berlin) // a list of fixed times
        == std::vector<int64_t>{utc(2026, 10, 25, 0), utc(2026, 10, 25, 0, 30),
                                utc(2026, 10, 26, 1)});
  // From inside the second pass: the next day.
  CHECK(next("30 2 * * *", utc(2026, 10, 25, 1, 10), berlin)
        == utc(2026, 10, 26, 1, 30));
  CHECK(next("30 2 * * *", utc(2026, 10, 25, 0, 50), berlin)
        == utc(2026, 10, 26, 1, 30));
  // Wildcards and steps run in both passes: every real matching minute.
  CHECK(cron("*/15 * * * *")
          .runs_between(utc(2026, 10, 25) - 1, utc(2026, 10, 25, 1, 59),
                        berlin, 100)
        == std::vector<int64_t>{
          utc(2026, 10, 25, 0), utc(2026, 10, 25, 0, 15),
          utc(2026, 10, 25, 0, 30), utc(2026, 10, 25, 0, 45),
          utc(2026, 10, 25, 1), utc(2026, 10, 25, 1, 15),
          utc(2026, 10, 25, 1, 30), utc(2026, 10, 25, 1, 45)});
  CHECK(cron("*/15 2 * * *")
          .runs_between(from, utc(2026, 10, 26), berlin, 100)
          .size()
        == 8);
  CHECK(runs("0 * * * *", utc(2026, 10, 24, 23, 30), 4, berlin)
        == std::vector<int64_t>{utc(2026, 10, 25, 0), utc(2026, 10, 25, 1),
                                utc(2026, 10, 25, 2), utc(2026, 10, 25, 3)});
  CHECK(runs("30 * * * *", utc(2026, 10, 25, 0, 40), 2, berlin)
        == std::vector<int64_t>{utc(2026, 10, 25, 1, 30),
                                utc(2026, 10, 25, 2, 30)});
  CHECK(runs("0-1 2 * * *", from, 5, berlin) // a range: both passes
        == std::vector<int64_t>{utc(2026, 10, 25, 0), utc(2026, 10, 25, 0, 1),
                                utc(2026, 10, 25, 1), utc(2026, 10, 25, 1, 1),
                                utc(2026, 10, 26, 1)});
  CHECK(runs("0-59/30 2 * * *", from, 5, berlin) // a step: both passes
        == std::vector<int64_t>{utc(2026, 10, 25, 0), utc(2026, 10, 25, 0, 30),
                                utc(2026, 10, 25, 1), utc(2026, 10, 25, 1, 30),
                                utc(2026, 10, 26, 1)});
  CHECK(runs("15 */1 * * *", utc(2026, 10, 25, 0, 20), 2, berlin)
        == std::vector<int64_t>{utc(2026, 10, 25, 1, 15),
                                utc(2026, 10, 25, 2, 15)});
  // From inside the first pass, the second pass of earlier local minutes
  // comes next for a wildcard expression.
  CHECK(next("5 * * * *", utc(2026, 10, 25, 0, 50), berlin)
        == utc(2026, 10, 25, 1, 5));
}

TEST_CASE("next_after in New York: both transitions", "[cron]") {
  auto ny = zone("America/New_York");
  // 2026-03-08: 02:00 EST (07:00Z) jumps to 03:00 EDT.
  CHECK(runs("30 2 * * *", utc(2026, 3, 7, 12), 3, ny)
        == std::vector<int64_t>{utc(2026, 3, 8, 7), utc(2026, 3, 9, 6, 30),
                                utc(2026, 3, 10, 6, 30)});
  CHECK(runs("0 0 * * *", utc(2026, 3, 7, 12), 2, ny)
        == std::vector<int64_t>{utc(2026, 3, 8, 5), utc(2026, 3, 9, 4)});
  // 2026-11-01: 02:00 EDT (06:00Z) goes back to 01:00 EST; 01:xx twice.
  CHECK(runs("30 1 * * *", utc(2026, 10, 31, 12), 2, ny)
        == std::vector<int64_t>{utc(2026, 11, 1, 5, 30),
                                utc(2026, 11, 2, 6, 30)});
  CHECK(cron("*/15 1 * * *")
          .runs_between(utc(2026, 10, 31, 12), utc(2026, 11, 2), ny, 100)
        == std::vector<int64_t>{
          utc(2026, 11, 1, 5), utc(2026, 11, 1, 5, 15),
          utc(2026, 11, 1, 5, 30), utc(2026, 11, 1, 5, 45),
          utc(2026, 11, 1, 6), utc(2026, 11, 1, 6, 15),
          utc(2026, 11, 1, 6, 30), utc(2026, 11, 1, 6, 45)});
  // Far out, by the footer rule: 2045-11-05 06:00Z.
  CHECK(runs("30 1 5 11 *", utc(2045, 1, 1), 1, ny)
        == std::vector<int64_t>{utc(2045, 11, 5, 5, 30)});
  CHECK(cron("30 * 5 11 *")
          .runs_between(utc(2045, 11, 5, 5), utc(2045, 11, 5, 7), ny, 10)
        == std::vector<int64_t>{utc(2045, 11, 5, 5, 30),
                                utc(2045, 11, 5, 6, 30)});
}

TEST_CASE("next_after in Sydney: southern DST", "[cron]") {
  auto sydney = zone("Australia/Sydney");
  // 2026-04-05: 03:00 AEDT (16:00Z on the 4th) goes back to 02:00 AEST.
  CHECK(runs("30 2 * * *", utc(2026, 4, 4), 2, sydney)
        == std::vector<int64_t>{utc(2026, 4, 4, 15, 30),
                                utc(2026, 4, 5, 16, 30)});
  CHECK(cron("*/30 2 * * *")
          .runs_between(utc(2026, 4, 4), utc(2026, 4, 5), sydney, 10)
        == std::vector<int64_t>{utc(2026, 4, 4, 15), utc(2026, 4, 4, 15, 30),
                                utc(2026, 4, 4, 16), utc(2026, 4, 4, 16, 30)});
  // 2026-10-04: 02:00 AEST (16:00Z on the 3rd) jumps to 03:00 AEDT.
  CHECK(runs("30 2 * * *", utc(2026, 10, 3), 2, sydney)
        == std::vector<int64_t>{utc(2026, 10, 3, 16), utc(2026, 10, 4, 15, 30)});
  // New year's midnight is in summer time.
  CHECK(next("0 0 1 1 *", utc(2026, 6, 1), sydney) == utc(2026, 12, 31, 13));
}

// --- runs_between ------------------------------------------------------------

TEST_CASE("runs_between: bounds, order and limit", "[cron]") {
  const auto every_10 = cron("*/10 * * * *");
  const int64_t t = utc(2026, 6, 1, 12);
  // (from, to]: from excluded, to included.
  CHECK(every_10.runs_between(t, t + 30 * minute_ms, time_zone{}, 100)
        == std::vector<int64_t>{t + 10 * minute_ms, t + 20 * minute_ms,
                                t + 30 * minute_ms});
  CHECK(every_10.runs_between(t - 1, t + 30 * minute_ms - 1, time_zone{}, 100)
        == std::vector<int64_t>{t, t + 10 * minute_ms, t + 20 * minute_ms});
  // The limit keeps the oldest.
  CHECK(every_10.runs_between(t, t + 24 * hour_ms, time_zone{}, 2)
        == std::vector<int64_t>{t + 10 * minute_ms, t + 20 * minute_ms});
  CHECK(every_10.runs_between(t, t + 24 * hour_ms, time_zone{}, 0).empty());
  CHECK(every_10.runs_between(t, t + 24 * hour_ms, time_zone{}, 1000).size()
        == 144);
  // Empty and reversed windows.
  CHECK(every_10.runs_between(t, t, time_zone{}, 10).empty());
  CHECK(every_10.runs_between(t, t + 9 * minute_ms, time_zone{}, 10).empty());
  CHECK(every_10.runs_between(t, t - hour_ms, time_zone{}, 10).empty());
  CHECK(cron("0 0 30 2 *").runs_between(t, t + 366LL * 86'400'000,
                                        time_zone{}, 10).empty());
  // Across years, in a zone, strictly increasing.
  auto berlin = zone("Europe/Berlin");
  auto yearly = cron("0 0 1 1 *").runs_between(utc(2026, 1, 1),
                                               utc(2036, 1, 1), berlin, 100);
  REQUIRE(yearly.size() == 10);
  CHECK(yearly.front() == utc(2026, 12, 31, 23));
  CHECK(yearly.back() == utc(2035, 12, 31, 23));
  CHECK(std::is_sorted(yearly.begin(), yearly.end()));
}

TEST_CASE("next_after searches by field, not by minute", "[cron]") {
  auto berlin = zone("Europe/Berlin");
  auto new_york = zone("America/New_York");
  const auto yearly = cron("0 0 1 1 *");
  const auto never = cron("0 0 30 2 *");
  const auto start = std::chrono::steady_clock::now();
  int64_t found = 0;
  for (int k = 0; k < 10'000; ++k) {
    const int64_t t = utc(2026, 1, 1) + k * 3'600'000LL;
    found += yearly.next_after(t, berlin).has_value();
    found += never.next_after(t, new_york).has_value();
    found += never.next_after(t, time_zone{}).has_value();
  }
  const auto took = std::chrono::steady_clock::now() - start;
  CHECK(found == 10'000);
  CHECK(took < std::chrono::seconds(1));
}
