#include "storage/cron.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

#include "storage/errors.hpp"

namespace jobd {

namespace {

constexpr int64_t seconds_per_day = 86'400;
constexpr int64_t no_time_before = std::numeric_limits<int64_t>::min();
constexpr int64_t no_time_after = std::numeric_limits<int64_t>::max();

// next_after gives up past this span (the header's "eight years").
constexpr int64_t search_span_s = 8 * 366 * seconds_per_day;

// The last second whose milliseconds fit in an int64_t, less a day of
// offset: run times past it cannot be returned.
constexpr int64_t last_search_s =
  std::numeric_limits<int64_t>::max() / 1000 - 2 * seconds_per_day;

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// Days since 1970-01-01 of a proleptic Gregorian date, and back (the
// well-known era-based conversion; month 1-12).
int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = floor_div(y, 400);
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146'097 + doe - 719'468;
}

struct civil_date {
  int64_t year;
  int month; // 1-12
  int day;   // 1-31
};

civil_date civil_from_days(int64_t z) {
  z += 719'468;
  const int64_t era = floor_div(z, 146'097);
  const int64_t doe = z - era * 146'097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36'524 - doe / 146'096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  return {yoe + era * 400 + (m <= 2), m, d};
}

bool is_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(int64_t y, int m) {
  static constexpr std::array<int, 12> lengths{31, 28, 31, 30, 31, 30,
                                               31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : lengths[m - 1];
}

// 0 = Sunday.
int weekday_of(int64_t days) {
  return static_cast<int>(((days % 7) + 11) % 7); // 1970-01-01 was a Thursday
}

// --- POSIX TZ strings (the TZif footer) ------------------------------------

// One end of daylight saving time in a POSIX TZ rule.
struct rule_date {
  enum kind_t { julian_no_leap, zero_based, month_week_day } kind;
  int n = 0;       // Jn: 1-365; n: 0-365
  int month = 0;   // Mm.w.d
  int week = 0;    // 1-5, 5 = the last
  int weekday = 0; // 0 = Sunday
  int64_t time_s = 7200; // local time of day; v3 allows -167h..167h

  // Local seconds (as if UTC) of this date in `year`.
  int64_t local_seconds(int64_t year) const {
    int64_t days = days_from_civil(year, 1, 1);
    switch (kind) {
      case julian_no_leap: // Feb 29 is never counted
        days += n - 1 + (is_leap(year) && n >= 60 ? 1 : 0);
        break;
      case zero_based:
        days += n;
        break;
      case month_week_day: {
        const int64_t first = days_from_civil(year, month, 1);
        int day = 1 + (weekday - weekday_of(first) + 7) % 7 + 7 * (week - 1);
        while (day > days_in_month(year, month))
          day -= 7;
        days = first + day - 1;
        break;
      }
    }
    return days * seconds_per_day + time_s;
  }
};

struct posix_rule {
  int32_t std_offset = 0; // seconds east of UTC
  bool has_dst = false;
  int32_t dst_offset = 0;
  rule_date start{rule_date::month_week_day};
  rule_date end{rule_date::month_week_day};
};

// A cursor over the footer text; every reader returns false on bad input.
struct tz_reader {
  std::string_view s;
  size_t i = 0;

  bool done() const { return i == s.size(); }
  bool peek(char c) const { return i < s.size() && s[i] == c; }
  bool peek_digit() const { return i < s.size() && s[i] >= '0' && s[i] <= '9'; }
  bool eat(char c) {
    if (!peek(c))
      return false;
    ++i;
    return true;
  }

  bool number(int max, int& out) {
    if (!peek_digit())
      return false;
    out = 0;
    while (peek_digit()) {
      out = out * 10 + (s[i++] - '0');
      if (out > max)
        return false;
    }
    return true;
  }

  // "ABC" (letters) or "<+0330>" (quoted: letters, digits, + and -).
  bool zone_name() {
    const size_t start = i;
    if (eat('<')) {
      while (i < s.size() && s[i] != '>')
        ++i;
      return i > start + 1 && eat('>');
    }
    while (i < s.size()
           && ((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z')))
      ++i;
    return i > start;
  }

  // [+-]hh[:mm[:ss]], hours up to `max_hours`; in seconds.
  bool hms(int max_hours, int64_t& out) {
    int sign = 1;
    if (eat('-'))
      sign = -1;
    else
      eat('+');
    int h = 0, m = 0, sec = 0;
    if (!number(max_hours, h))
      return false;
    if (eat(':')) {
      if (!number(59, m))
        return false;
      if (eat(':') && !number(59, sec))
        return false;
    }
    out = sign * (h * 3600 + m * 60 + sec);
    return true;
  }

  bool date(rule_date& out) {
    if (eat('J')) {
      out.kind = rule_date::julian_no_leap;
      if (!number(365, out.n) || out.n < 1)
        return false;
    } else if (eat('M')) {
      out.kind = rule_date::month_week_day;
      if (!number(12, out.month) || out.month < 1 || !eat('.')
          || !number(5, out.week) || out.week < 1 || !eat('.')
          || !number(6, out.weekday))
        return false;
    } else {
      out.kind = rule_date::zero_based;
      if (!number(365, out.n))
        return false;
    }
    out.time_s = 7200;
    return !eat('/') || hms(167, out.time_s);
  }
};

// "CET-1CEST,M3.5.0,M10.5.0/3", "<+0330>-3:30", "EST5EDT,0/0,J365/25"...
// POSIX offsets count west of UTC, hence the sign flips.
bool parse_posix_tz(std::string_view text, posix_rule& out) {
  tz_reader r{text};
  int64_t west = 0;
  if (!r.zone_name() || !r.hms(24, west))
    return false;
  out.std_offset = static_cast<int32_t>(-west);
  if (r.done())
    return true;
  if (!r.zone_name())
    return false;
  out.has_dst = true;
  out.dst_offset = out.std_offset + 3600;
  if (!r.peek(',') && !r.done()) {
    if (!r.hms(24, west))
      return false;
    out.dst_offset = static_cast<int32_t>(-west);
  }
  if (r.done()) { // no rule: POSIX leaves it to the implementation; the US one
    out.start = {rule_date::month_week_day, 0, 3, 2, 0, 7200};
    out.end = {rule_date::month_week_day, 0, 11, 1, 0, 7200};
    return true;
  }
  return r.eat(',') && r.date(out.start) && r.eat(',') && r.date(out.end)
         && r.done();
}

struct transition {
  int64_t at; // UTC seconds
  int32_t offset; // in force from `at` on
};

} // namespace

// --- time_zone ---------------------------------------------------------------

struct time_zone::rules {
  std::string name;
  int32_t initial_offset = 0;          // before the first transition
  std::vector<transition> transitions; // ascending
  std::optional<posix_rule> footer;    // past the last transition

  // The footer's transitions in the years around `year`, ascending.
  std::vector<transition> footer_transitions(int64_t year) const {
    std::vector<transition> out;
    for (int64_t y = year - 2; y <= year + 1; ++y) {
      // Each rule time is in the local time then in force.
      out.push_back({footer->start.local_seconds(y) - footer->std_offset,
                     footer->dst_offset});
      out.push_back({footer->end.local_seconds(y) - footer->dst_offset,
                     footer->std_offset});
    }
    // Stable: at equal instants (permanent DST, "0/0,J365/25") the later
    // year's start wins over the earlier year's end.
    std::stable_sort(out.begin(), out.end(),
                     [](auto& a, auto& b) { return a.at < b.at; });
    return out;
  }

  static int64_t year_of(int64_t utc_s) {
    return civil_from_days(floor_div(utc_s, seconds_per_day)).year;
  }

  bool by_footer(int64_t utc_s) const {
    return footer
           && (transitions.empty() ? true : utc_s >= transitions.back().at);
  }

  int32_t offset_at(int64_t utc_s) const {
    if (by_footer(utc_s)) {
      if (!footer->has_dst)
        return footer->std_offset;
      const auto list = footer_transitions(year_of(utc_s));
      int32_t offset = list.front().offset;
      for (auto& t : list)
        if (t.at <= utc_s)
          offset = t.offset;
      return offset;
    }
    auto it = std::upper_bound(
      transitions.begin(), transitions.end(), utc_s,
      [](int64_t t, const transition& x) { return t < x.at; });
    return it == transitions.begin() ? initial_offset : std::prev(it)->offset;
  }

  // The span [start, end) around `utc_s` over which the offset stays as is
  // (start may be a "transition" that keeps the offset: harmless).
  struct span {
    int64_t start; // no_time_before: no transition before
    int64_t end;   // no_time_after: none after
  };

  span span_at(int64_t utc_s) const {
    span out{no_time_before, no_time_after};
    auto it = std::upper_bound(
      transitions.begin(), transitions.end(), utc_s,
      [](int64_t t, const transition& x) { return t < x.at; });
    if (it != transitions.begin())
      out.start = std::prev(it)->at;
    if (it != transitions.end())
      out.end = it->at;
    if (by_footer(utc_s) && footer->has_dst) {
      for (auto& t : footer_transitions(year_of(utc_s))) {
        if (t.at <= utc_s)
          out.start = std::max(out.start, t.at);
        else
          out.end = std::min(out.end, t.at);
      }
    }
    return out;
  }
};

namespace {

std::shared_ptr<const time_zone::rules> utc_rules() {
  static const auto utc = [] {
    auto r = std::make_shared<time_zone::rules>();
    r->name = "UTC";
    return r;
  }();
  return utc;
}

// Big-endian readers over the file's bytes; `ok` turns false on overrun.
struct tzif_reader {
  const std::string& data;
  size_t pos = 0;
  bool ok = true;

  bool has(size_t n) const { return ok && data.size() - pos >= n; }
  uint64_t be(size_t n) {
    if (!has(n)) {
      ok = false;
      return 0;
    }
    uint64_t v = 0;
    for (size_t k = 0; k < n; ++k)
      v = (v << 8) | static_cast<unsigned char>(data[pos++]);
    return v;
  }
  void skip(uint64_t n) {
    if (!has(n))
      ok = false;
    else
      pos += n;
  }
};

struct tzif_counts {
  uint64_t isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt;
};

// Reads a TZif file (RFC 8536) into `out`; an empty string or why not.
std::string parse_tzif(const std::string& data, time_zone::rules& out) {
  tzif_reader r{data};
  auto header = [&](char& version, tzif_counts& c) -> std::string {
    if (!r.has(44) || data.compare(r.pos, 4, "TZif") != 0)
      return "it does not start with \"TZif\"";
    version = data[r.pos + 4];
    r.skip(20);
    c = {r.be(4), r.be(4), r.be(4), r.be(4), r.be(4), r.be(4)};
    if (c.typecnt == 0)
      return "it has no local time types";
    return {};
  };
  auto block_size = [](const tzif_counts& c, uint64_t time_size) {
    return c.timecnt * time_size + c.timecnt + c.typecnt * 6 + c.charcnt
           + c.leapcnt * (time_size + 4) + c.isstdcnt + c.isutcnt;
  };
  char version = 0;
  tzif_counts c{};
  if (auto why = header(version, c); !why.empty())
    return why;
  uint64_t time_size = 4;
  if (version != 0) { // v2+: skip the 32-bit block, read the 64-bit one
    r.skip(block_size(c, 4));
    char v2 = 0;
    if (!r.ok)
      return "it is truncated";
    if (auto why = header(v2, c); !why.empty())
      return why;
    time_size = 8;
  }
  if (!r.has(block_size(c, time_size)))
    return "it is truncated";
  std::vector<int64_t> times(c.timecnt);
  for (auto& t : times)
    t = time_size == 8 ? static_cast<int64_t>(r.be(8))
                       : static_cast<int32_t>(r.be(4));
  std::vector<uint8_t> indices(c.timecnt);
  for (auto& idx : indices)
    idx = static_cast<uint8_t>(r.be(1));
  std::vector<int32_t> offsets(c.typecnt);
  for (auto& o : offsets) {
    o = static_cast<int32_t>(r.be(4));
    r.skip(2); // isdst, desigidx: names and flags are not needed here
  }
  r.skip(c.charcnt + c.leapcnt * (time_size + 4) + c.isstdcnt + c.isutcnt);
  // The right/ zones count leap seconds in their times: reading them as
  // POSIX times would put every run some 27 seconds off.
  if (c.leapcnt > 0)
    return "it counts leap seconds (a right/ zone); use the zone without them";
  for (size_t k = 0; k < times.size(); ++k) {
    if (indices[k] >= c.typecnt)
      return "a transition names a missing local time type";
    if (k > 0 && times[k] <= times[k - 1])
      return "its transitions are not in ascending order";
    out.transitions.push_back({times[k], offsets[indices[k]]});
  }
  out.initial_offset = offsets[0]; // RFC 8536: type 0 before the first
  if (version != 0) {
    // The footer: "\n<POSIX TZ string>\n"; an empty one means no rule.
    if (!r.has(2) || data[r.pos] != '\n')
      return "its footer is missing";
    const size_t end = data.find('\n', r.pos + 1);
    if (end == std::string::npos)
      return "its footer is not terminated";
    const std::string_view tz(data.data() + r.pos + 1, end - r.pos - 1);
    if (!tz.empty()) {
      posix_rule rule;
      if (!parse_posix_tz(tz, rule))
        return "its footer TZ string '" + std::string(tz)
               + "' is not a POSIX TZ rule";
      out.footer = rule;
    }
  }
  return {};
}

} // namespace

time_zone::time_zone() : rules_(utc_rules()) {
  // nop
}

caf::expected<time_zone> time_zone::load(const std::string& name) {
  auto invalid = [&](const std::string& why) {
    return make_error(errc::invalid, "time zone '" + name + "': " + why);
  };
  if (name.empty())
    return make_error(errc::invalid,
                      "time zone '': the name is empty (e.g. Europe/Berlin)");
  if (name.front() == '/' || name.find("..") != std::string::npos
      || name.find('\0') != std::string::npos)
    return invalid("a zone name is relative to the tz database and holds no "
                   "'..' (e.g. Europe/Berlin)");
  if (name == "UTC") // built in: works without a tz database
    return time_zone{};
  const char* env = std::getenv("TZDIR");
  const std::string dir = env && *env ? env : "/usr/share/zoneinfo";
  const std::string path = dir + "/" + name;
  std::error_code ec;
  std::string data;
  if (std::filesystem::is_regular_file(path, ec)) {
    std::ifstream in(path, std::ios::binary);
    data.assign(std::istreambuf_iterator<char>(in), {});
    if (in.bad())
      data.clear();
  }
  if (data.empty())
    return invalid("no readable TZif file at " + path
                   + " (the tz database's directory is $TZDIR or "
                     "/usr/share/zoneinfo)");
  auto r = std::make_shared<rules>();
  r->name = name;
  if (auto why = parse_tzif(data, *r); !why.empty())
    return invalid(path + " is not a valid TZif file: " + why);
  time_zone tz;
  tz.rules_ = std::move(r);
  return tz;
}

const std::string& time_zone::name() const {
  return rules_->name;
}

int32_t time_zone::offset_at(int64_t utc_s) const {
  return rules_->offset_at(utc_s);
}

// --- cron_expr ---------------------------------------------------------------

namespace {

struct field_spec {
  const char* name;
  int min;
  int max;
  const char* const* names; // three-letter names for min..., or null
  const char* names_hint;
};

constexpr const char* month_names[] = {"jan", "feb", "mar", "apr",
                                       "may", "jun", "jul", "aug",
                                       "sep", "oct", "nov", "dec"};
constexpr const char* weekday_names[] = {"sun", "mon", "tue", "wed",
                                         "thu", "fri", "sat"};

constexpr std::array<field_spec, 5> field_specs{{
  {"minute", 0, 59, nullptr, nullptr},
  {"hour", 0, 23, nullptr, nullptr},
  {"day-of-month", 1, 31, nullptr, nullptr},
  {"month", 1, 12, month_names, "a month name (JAN-DEC)"},
  {"day-of-week", 0, 7, weekday_names, "a day name (SUN-SAT)"},
}};

char lower(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// A number or a name of the field; out of range values are refused.
std::string parse_value(const field_spec& f, std::string_view s, int& out) {
  if (s.empty())
    return "a value is missing";
  if (s.find_first_not_of("0123456789") == std::string_view::npos) {
    if (s.size() > 4)
      return std::string(s) + " is out of range " + std::to_string(f.min)
             + "-" + std::to_string(f.max);
    out = std::stoi(std::string(s));
  } else {
    bool found = false;
    if (f.names && s.size() == 3) {
      const int count = f.max - f.min + (f.max == 7 ? 0 : 1);
      for (int k = 0; k < count && !found; ++k) {
        const char* n = f.names[k];
        if (lower(s[0]) == n[0] && lower(s[1]) == n[1] && lower(s[2]) == n[2]) {
          out = f.min + k;
          found = true;
        }
      }
    }
    if (!found)
      return "'" + std::string(s) + "' is not a number"
             + (f.names ? std::string(" or ") + f.names_hint : std::string());
  }
  if (out < f.min || out > f.max)
    return std::to_string(out) + " is out of range " + std::to_string(f.min)
           + "-" + std::to_string(f.max);
  return {};
}

// One field: a comma list of `*`, `a`, `a-b`, each with an optional `/n`.
// Sets bits min..max of `bits`; an empty string or why not.
std::string parse_field(const field_spec& f, std::string_view text,
                        uint64_t& bits, bool& single_values) {
  bits = 0;
  single_values = true;
  size_t pos = 0;
  while (true) {
    const size_t comma = text.find(',', pos);
    const std::string_view item =
      text.substr(pos, comma == std::string_view::npos ? comma : comma - pos);
    if (item.empty())
      return "an empty list item";
    std::string_view base = item;
    int step = 1;
    const bool has_step = item.find('/') != std::string_view::npos;
    if (has_step) {
      const size_t slash = item.find('/');
      base = item.substr(0, slash);
      const std::string_view step_text = item.substr(slash + 1);
      if (step_text.empty()
          || step_text.find_first_not_of("0123456789")
               != std::string_view::npos)
        return "step '" + std::string(step_text) + "' is not a number";
      step = step_text.size() > 4 ? 10'000 : std::stoi(std::string(step_text));
      if (step == 0)
        return "bad step 0 in '" + std::string(item) + "' (steps start at 1)";
    }
    int lo = f.min, hi = f.max;
    if (base == "*") {
      single_values = false;
    } else if (const size_t dash = base.find('-');
               dash != std::string_view::npos) {
      single_values = false;
      if (auto why = parse_value(f, base.substr(0, dash), lo); !why.empty())
        return why;
      if (auto why = parse_value(f, base.substr(dash + 1), hi); !why.empty())
        return why;
      if (lo > hi)
        return "range " + std::string(base) + " starts after its end";
    } else {
      if (auto why = parse_value(f, base, lo); !why.empty())
        return why;
      if (has_step) // `a/n`: from a to the field's end
        single_values = false;
      else
        hi = lo;
    }
    for (int v = lo; v <= hi; v += step)
      bits |= uint64_t{1} << v;
    if (comma == std::string_view::npos)
      return {};
    pos = comma + 1;
  }
}

// The lowest set bit at or above `from`, or -1.
int next_bit(uint64_t bits, int from) {
  if (from >= 64)
    return -1;
  const uint64_t rest = bits >> from;
  return rest == 0 ? -1 : from + std::countr_zero(rest);
}

} // namespace

caf::expected<cron_expr> cron_expr::parse(std::string_view text) {
  const auto first = text.find_first_not_of(" \t");
  const auto last = text.find_last_not_of(" \t");
  text = first == std::string_view::npos
           ? std::string_view{}
           : text.substr(first, last - first + 1);
  cron_expr out;
  out.text_ = std::string(text);
  std::string_view expanded = text;
  if (!text.empty() && text.front() == '@') {
    static constexpr std::array<std::pair<const char*, const char*>, 7>
      aliases{{{"@yearly", "0 0 1 1 *"},
               {"@annually", "0 0 1 1 *"},
               {"@monthly", "0 0 1 * *"},
               {"@weekly", "0 0 * * 0"},
               {"@daily", "0 0 * * *"},
               {"@midnight", "0 0 * * *"},
               {"@hourly", "0 * * * *"}}};
    std::string key;
    for (char c : text)
      key += lower(c);
    auto it = std::find_if(aliases.begin(), aliases.end(),
                           [&](auto& a) { return key == a.first; });
    if (it == aliases.end())
      return make_error(errc::invalid,
                        "cron: unknown alias '" + std::string(text)
                          + "' (expected @yearly, @annually, @monthly, "
                            "@weekly, @daily, @midnight or @hourly)");
    expanded = it->second;
  }
  std::vector<std::string_view> fields;
  for (size_t pos = 0; pos < expanded.size();) {
    const size_t start = expanded.find_first_not_of(" \t", pos);
    if (start == std::string_view::npos)
      break;
    const size_t end = std::min(expanded.find_first_of(" \t", start),
                                expanded.size());
    fields.push_back(expanded.substr(start, end - start));
    pos = end;
  }
  if (fields.size() != 5)
    return make_error(errc::invalid,
                      "cron: expected 5 fields (minute hour day-of-month "
                      "month day-of-week), got "
                        + std::to_string(fields.size()));
  std::array<uint64_t, 5> bits{};
  std::array<bool, 5> single{};
  for (size_t k = 0; k < 5; ++k) {
    if (auto why = parse_field(field_specs[k], fields[k], bits[k], single[k]);
        !why.empty())
      return make_error(errc::invalid, std::string("cron: ")
                                         + field_specs[k].name + " field '"
                                         + std::string(fields[k])
                                         + "': " + why);
  }
  out.minutes_ = bits[0];
  out.hours_ = static_cast<uint32_t>(bits[1]);
  out.days_ = static_cast<uint32_t>(bits[2]);
  out.months_ = static_cast<uint16_t>(bits[3]);
  uint64_t weekdays = bits[4];
  if (weekdays & (uint64_t{1} << 7)) // 7 is Sunday too
    weekdays = (weekdays | 1) & ~(uint64_t{1} << 7);
  out.weekdays_ = static_cast<uint8_t>(weekdays);
  out.day_star_ = fields[2].front() == '*';
  out.weekday_star_ = fields[4].front() == '*';
  // A list of single values ("0,30 9,17") is still a set of fixed times of
  // day, each run once on a fall-back day; `*`, ranges and steps are not.
  out.fixed_time_ = single[0] && single[1];
  return out;
}

namespace {

// The matching logic over local time ("local seconds": seconds since the
// epoch of a local wall-clock time read as if it were UTC).
struct matcher {
  uint64_t minutes;
  uint32_t hours;
  uint32_t days;
  uint16_t months;
  uint8_t weekdays;
  bool day_star;
  bool weekday_star;

  bool day_matches(int64_t days_since_epoch, int dom) const {
    const bool dom_ok = days & (uint32_t{1} << dom);
    const bool dow_ok = weekdays & (1u << weekday_of(days_since_epoch));
    // Vixie cron: both day fields restricted -> either one; else both.
    return day_star || weekday_star ? dom_ok && dow_ok : dom_ok || dow_ok;
  }

  // The first matching whole local minute in [from, to) (local seconds), or
  // nullopt. Skips whole months, days and hours that do not match, so a
  // year's search takes a few hundred steps at most.
  std::optional<int64_t> first_match(int64_t from, int64_t to) const {
    if (from >= to)
      return std::nullopt;
    from = floor_div(from + 59, 60) * 60; // up to a whole minute
    int64_t day = floor_div(from, seconds_per_day);
    const int64_t second_of_day = from - day * seconds_per_day;
    int hour = static_cast<int>(second_of_day / 3600);
    int minute = static_cast<int>(second_of_day % 3600 / 60);
    civil_date date = civil_from_days(day);
    while (day * seconds_per_day < to) {
      if (!(months & (1u << date.month))) {
        // To the first day of the next month.
        day += days_in_month(date.year, date.month) - date.day + 1;
        date = date.month == 12 ? civil_date{date.year + 1, 1, 1}
                                : civil_date{date.year, date.month + 1, 1};
        hour = minute = 0;
        continue;
      }
      if (day_matches(day, date.day)) {
        for (int h = next_bit(hours, hour); h >= 0 && h < 24;
             h = next_bit(hours, h + 1)) {
          const int m = next_bit(minutes, h == hour ? minute : 0);
          if (m < 0 || m > 59)
            continue;
          const int64_t at = day * seconds_per_day + h * 3600 + m * 60;
          return at < to ? std::optional<int64_t>(at) : std::nullopt;
        }
      }
      ++day;
      date = date.day < days_in_month(date.year, date.month)
               ? civil_date{date.year, date.month, date.day + 1}
               : civil_date{date.year + (date.month == 12),
                            date.month == 12 ? 1 : date.month + 1, 1};
      hour = minute = 0;
    }
    return std::nullopt;
  }
};

} // namespace

std::optional<int64_t> cron_expr::next_after(int64_t after_ms,
                                             const time_zone& tz) const {
  if (minutes_ == 0) // a default-constructed expression matches nothing
    return std::nullopt;
  const matcher match{minutes_, hours_,       days_,       months_,
                      weekdays_, day_star_, weekday_star_};
  // Runs are whole seconds; the first allowed one is strictly after.
  int64_t t = floor_div(after_ms, 1000) + 1;
  const int64_t give_up = t >= last_search_s - search_span_s
                            ? last_search_s
                            : t + search_span_s;
  // Walk the spans of constant offset from `t` on. Within one span local
  // time maps one-to-one onto UTC, so the first local match is the answer
  // unless a transition makes it a gap or a repeat.
  while (t < give_up) {
    const auto span = tz.rules_->span_at(t);
    const int32_t offset = tz.rules_->offset_at(t);
    int64_t from_local = t + offset;
    if (span.start != no_time_before) {
      const int32_t before = tz.rules_->offset_at(span.start - 1);
      // Spring forward: local times in [start+before, start+offset) never
      // happen; when one matches, it runs once as the gap ends.
      if (t == span.start && offset > before
          && match.first_match(span.start + before, span.start + offset))
        return span.start * 1000;
      // Fall back: local times in [start+offset, start+before) happen a
      // second time; fixed-time expressions ran at the first.
      if (fixed_time_ && offset < before)
        from_local = std::max(from_local, span.start + before);
    }
    const int64_t end = std::min(span.end, give_up);
    if (auto local = match.first_match(from_local, end + offset))
      return (*local - offset) * 1000;
    if (span.end == no_time_after)
      break;
    t = span.end;
  }
  return std::nullopt;
}

std::vector<int64_t> cron_expr::runs_between(int64_t from_ms, int64_t to_ms,
                                             const time_zone& tz,
                                             size_t limit) const {
  std::vector<int64_t> out;
  int64_t t = from_ms;
  while (out.size() < limit) {
    auto next = next_after(t, tz);
    if (!next || *next > to_ms)
      break;
    out.push_back(*next);
    t = *next;
  }
  return out;
}

} // namespace jobd
