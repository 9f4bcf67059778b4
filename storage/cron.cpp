// Cron expressions and time zones (storage/cron.hpp).
//
// Time zones: the TZif files of the system's tz database (RFC 8536): the
// 64-bit transitions of a version 2+ file (the 32-bit ones of a version 1
// file), then its footer, a POSIX TZ rule, for instants past the last
// transition. Cron: the fields as bit sets; next_after walks the time line
// segment by segment (a segment: no offset change), searching each one's
// local times by field, and applies the daylight-saving rules at the
// transitions between segments.
#include "storage/cron.hpp"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iterator>

#include "storage/errors.hpp"

namespace jobd {

namespace {

constexpr int64_t day_s = 86'400;
constexpr int64_t eight_years_s = 8 * 366 * day_s;

int64_t floor_div(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)));
}

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = floor_div(y, 400);
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct civil {
  int64_t y;
  unsigned m, d;
};

civil civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = floor_div(z, 146097);
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t y = static_cast<int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {y + (m <= 2), m, d};
}

bool is_leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned days_in_month(int64_t y, unsigned m) {
  static const unsigned n[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap(y) ? 29 : n[m - 1];
}

// 0 = Sunday.
unsigned weekday_of(int64_t days) {
  return static_cast<unsigned>(((days + 4) % 7 + 7) % 7);
}

// -- POSIX TZ rules (the TZif footer) -----------------------------------------

struct rule_date {
  char kind = 'M'; // 'J' (1..365, no Feb 29), 'D' (0..365), 'M' (m.w.d)
  int n = 0, m = 0, w = 0, d = 0;
  int64_t time = 7200; // local seconds after midnight (may be < 0, > 24 h)

  // The day (days since the epoch) this rule names in year y.
  int64_t day_in(int64_t y) const {
    auto jan1 = days_from_civil(y, 1, 1);
    if (kind == 'J')
      return jan1 + n - 1 + (is_leap(y) && n >= 60 ? 1 : 0);
    if (kind == 'D')
      return jan1 + n;
    auto first = days_from_civil(y, static_cast<unsigned>(m), 1);
    auto wd = static_cast<int>(weekday_of(first));
    auto day = first + ((d - wd + 7) % 7) + 7 * (w - 1);
    while (day >= first + days_in_month(y, static_cast<unsigned>(m)))
      day -= 7;
    return day;
  }
};

struct posix_rule {
  int32_t std_off = 0; // seconds east of UTC
  bool has_dst = false;
  int32_t dst_off = 0;
  rule_date start, end;

  // The two transitions of year y, in UTC seconds: into DST, out of it.
  std::pair<int64_t, int64_t> transitions(int64_t y) const {
    return {start.day_in(y) * day_s + start.time - std_off,
            end.day_in(y) * day_s + end.time - dst_off};
  }
};

class rule_parser {
public:
  explicit rule_parser(std::string_view s) : s_(s) {}

  bool parse(posix_rule& r) {
    if (!name())
      return false;
    int64_t off;
    if (!hms(off, 167))
      return false;
    r.std_off = static_cast<int32_t>(-off);
    if (i_ == s_.size())
      return true;
    if (!name())
      return false;
    r.has_dst = true;
    r.dst_off = r.std_off + 3600;
    if (i_ < s_.size() && s_[i_] != ',') {
      if (!hms(off, 167))
        return false;
      r.dst_off = static_cast<int32_t>(-off);
    }
    if (i_ == s_.size()) { // no rule: the US rule POSIX implementations use
      r.start = rule_date{'M', 0, 3, 2, 0, 7200};
      r.end = rule_date{'M', 0, 11, 1, 0, 7200};
      return true;
    }
    return eat(',') && date(r.start) && eat(',') && date(r.end)
           && i_ == s_.size();
  }

private:
  bool eat(char c) {
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }

  bool name() {
    if (eat('<')) {
      auto close = s_.find('>', i_);
      if (close == std::string_view::npos)
        return false;
      i_ = close + 1;
      return true;
    }
    auto from = i_;
    while (i_ < s_.size() && std::isalpha(static_cast<unsigned char>(s_[i_])))
      ++i_;
    return i_ - from >= 3;
  }

  bool number(int64_t& v) {
    auto from = i_;
    v = 0;
    while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_])))
      v = v * 10 + (s_[i_++] - '0');
    return i_ > from && i_ - from <= 3;
  }

  // [+-]hh[:mm[:ss]] in seconds, hours at most max_h.
  bool hms(int64_t& out, int64_t max_h) {
    int64_t sign = 1;
    if (eat('-'))
      sign = -1;
    else
      eat('+');
    int64_t h, m = 0, sec = 0;
    if (!number(h) || h > max_h)
      return false;
    if (eat(':') && (!number(m) || m > 59 || (eat(':') && (!number(sec) || sec > 59))))
      return false;
    out = sign * (h * 3600 + m * 60 + sec);
    return true;
  }

  bool date(rule_date& d) {
    int64_t a, b, c;
    if (eat('J')) {
      if (!number(a) || a < 1 || a > 365)
        return false;
      d = rule_date{'J', static_cast<int>(a)};
    } else if (eat('M')) {
      if (!number(a) || a < 1 || a > 12 || !eat('.') || !number(b) || b < 1
          || b > 5 || !eat('.') || !number(c) || c > 6)
        return false;
      d = rule_date{'M', 0, static_cast<int>(a), static_cast<int>(b),
                    static_cast<int>(c)};
    } else {
      if (!number(a) || a > 365)
        return false;
      d = rule_date{'D', static_cast<int>(a)};
    }
    d.time = 7200;
    if (eat('/'))
      return hms(d.time, 167);
    return true;
  }

  std::string_view s_;
  size_t i_ = 0;
};

} // namespace

// -- time zones ---------------------------------------------------------------

struct time_zone::rules {
  std::string name;
  std::vector<int64_t> times;  // transition instants, ascending
  std::vector<int32_t> after;  // the offset from each transition on
  int32_t initial = 0;         // before the first transition (type 0)
  bool has_footer = false;
  posix_rule footer;
};

namespace {

struct transition {
  int64_t at;     // UTC seconds
  int32_t before; // offset until `at`
  int32_t after;  // offset from `at`
};

using zone_rules = time_zone::rules;

int32_t footer_offset(const posix_rule& r, int64_t t) {
  if (!r.has_dst)
    return r.std_off;
  auto y = civil_from_days(floor_div(t + r.std_off, day_s)).y;
  auto [in, out] = r.transitions(y);
  bool dst = in < out ? (t >= in && t < out) : !(t >= out && t < in);
  return dst ? r.dst_off : r.std_off;
}

int32_t offset_of(const zone_rules& z, int64_t t) {
  if (z.times.empty() || t < z.times.front())
    return z.times.empty() && z.has_footer ? footer_offset(z.footer, t)
                                           : z.initial;
  if (z.has_footer && t >= z.times.back())
    return footer_offset(z.footer, t);
  auto i = std::upper_bound(z.times.begin(), z.times.end(), t) - z.times.begin();
  return z.after[static_cast<size_t>(i - 1)];
}

// The footer rule's transitions in years y-1..y+1, ascending.
std::vector<int64_t> footer_times(const posix_rule& r, int64_t y) {
  std::vector<int64_t> v;
  if (!r.has_dst)
    return v;
  for (auto yy = y - 1; yy <= y + 1; ++yy) {
    auto [in, out] = r.transitions(yy);
    v.push_back(in);
    v.push_back(out);
  }
  std::sort(v.begin(), v.end());
  return v;
}

// The first offset change after t, if any.
std::optional<transition> next_transition(const zone_rules& z, int64_t t) {
  auto i = std::upper_bound(z.times.begin(), z.times.end(), t);
  if (i != z.times.end()) {
    auto at = *i;
    auto before = offset_of(z, at - 1), after = offset_of(z, at);
    if (before != after)
      return transition{at, before, after};
    return next_transition(z, at); // a change of name or DST flag only
  }
  if (!z.has_footer || !z.footer.has_dst)
    return std::nullopt;
  auto y = civil_from_days(floor_div(t, day_s)).y;
  for (auto at : footer_times(z.footer, y))
    if (at > t && (z.times.empty() || at > z.times.back()))
      return transition{at, offset_of(z, at - 1), offset_of(z, at)};
  return std::nullopt;
}

// The last offset change at or before t, if any.
std::optional<transition> prev_transition(const zone_rules& z, int64_t t) {
  if (z.has_footer && z.footer.has_dst
      && (z.times.empty() || t >= z.times.back())) {
    auto y = civil_from_days(floor_div(t, day_s)).y;
    auto v = footer_times(z.footer, y);
    for (auto it = v.rbegin(); it != v.rend(); ++it)
      if (*it <= t && (z.times.empty() || *it > z.times.back()))
        return transition{*it, offset_of(z, *it - 1), offset_of(z, *it)};
  }
  auto i = std::upper_bound(z.times.begin(), z.times.end(), t);
  while (i != z.times.begin()) {
    auto at = *--i;
    auto before = offset_of(z, at - 1), after = offset_of(z, at);
    if (before != after)
      return transition{at, before, after};
  }
  return std::nullopt;
}

int64_t read_be(const std::string& data, size_t at, size_t bytes) {
  uint64_t v = 0;
  for (size_t i = 0; i < bytes; ++i)
    v = (v << 8) | static_cast<unsigned char>(data[at + i]);
  if (bytes == 4)
    return static_cast<int32_t>(static_cast<uint32_t>(v));
  return static_cast<int64_t>(v);
}

// Parses a TZif file into z. False when it is not one.
bool parse_tzif(const std::string& data, zone_rules& z) {
  auto header = [&](size_t at, int64_t (&cnt)[6]) {
    if (data.size() < at + 44 || data.compare(at, 4, "TZif") != 0)
      return false;
    for (int i = 0; i < 6; ++i)
      cnt[i] = read_be(data, at + 20 + 4 * static_cast<size_t>(i), 4);
    for (auto c : cnt)
      if (c < 0 || c > 100'000)
        return false;
    return true;
  };
  auto block_size = [](const int64_t (&c)[6], size_t tsize) {
    // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt
    return static_cast<size_t>(c[3]) * tsize + static_cast<size_t>(c[3])
           + static_cast<size_t>(c[4]) * 6 + static_cast<size_t>(c[5])
           + static_cast<size_t>(c[2]) * (tsize + 4)
           + static_cast<size_t>(c[1]) + static_cast<size_t>(c[0]);
  };
  int64_t c1[6];
  if (!header(0, c1))
    return false;
  char version = data[4];
  size_t at = 44;
  size_t tsize = 4;
  int64_t c[6];
  std::copy(std::begin(c1), std::end(c1), std::begin(c));
  if (version >= '2') {
    at = 44 + block_size(c1, 4);
    if (!header(at, c))
      return false;
    at += 44;
    tsize = 8;
  }
  auto timecnt = static_cast<size_t>(c[3]), typecnt = static_cast<size_t>(c[4]);
  if (typecnt == 0 || data.size() < at + block_size(c, tsize))
    return false;
  std::vector<int32_t> type_off(typecnt);
  auto types_at = at + timecnt * tsize + timecnt;
  for (size_t i = 0; i < typecnt; ++i)
    type_off[i] = static_cast<int32_t>(read_be(data, types_at + 6 * i, 4));
  for (size_t i = 0; i < timecnt; ++i) {
    auto idx = static_cast<unsigned char>(data[at + timecnt * tsize + i]);
    if (idx >= typecnt)
      return false;
    z.times.push_back(read_be(data, at + i * tsize, tsize));
    z.after.push_back(type_off[idx]);
  }
  z.initial = type_off[0];
  if (version >= '2') {
    auto foot = at + block_size(c, tsize);
    if (foot < data.size() && data[foot] == '\n') {
      auto end = data.find('\n', foot + 1);
      if (end != std::string::npos && end > foot + 1) {
        posix_rule r;
        if (!rule_parser{std::string_view{data}.substr(foot + 1, end - foot - 1)}
               .parse(r))
          return false;
        z.has_footer = true;
        z.footer = r;
      }
    }
  }
  return true;
}

} // namespace

time_zone::time_zone() {
  auto z = std::make_shared<rules>();
  z->name = "UTC";
  rules_ = std::move(z);
}

caf::expected<time_zone> time_zone::load(const std::string& name) {
  auto bad = [&](const std::string& why) {
    return make_error(errc::invalid, "timeZone: '" + name + "' " + why);
  };
  if (name.empty() || name.size() > 100 || name.front() == '/'
      || name.find("..") != std::string::npos)
    return bad("is not a time zone name such as Europe/Berlin or UTC");
  for (unsigned char ch : name)
    if (!(std::isalnum(ch) || ch == '/' || ch == '_' || ch == '-' || ch == '+'))
      return bad("is not a time zone name such as Europe/Berlin or UTC");
  const char* env = std::getenv("TZDIR");
  std::string dir = env && *env ? env : "/usr/share/zoneinfo";
  std::ifstream in{dir + "/" + name, std::ios::binary};
  std::string data;
  if (in)
    data.assign(std::istreambuf_iterator<char>{in}, {});
  auto z = std::make_shared<rules>();
  z->name = name;
  if (!in || !parse_tzif(data, *z)) {
    if (name == "UTC") {
      time_zone utc;
      return utc;
    }
    return bad("is not in the time zone database (" + dir + ")");
  }
  time_zone out;
  out.rules_ = std::move(z);
  return out;
}

const std::string& time_zone::name() const {
  return rules_->name;
}

int32_t time_zone::offset_at(int64_t utc_s) const {
  return offset_of(*rules_, utc_s);
}

// -- cron -----------------------------------------------------------------------

namespace {

struct field_spec {
  const char* name;
  int lo, hi;
  const char* const* names; // names[0] is the value lo (or null)
};

const char* const month_names[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                   "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
const char* const day_names[] = {"SUN", "MON", "TUE", "WED",
                                 "THU", "FRI", "SAT"};

const field_spec specs[5] = {
  {"minute", 0, 59, nullptr},
  {"hour", 0, 23, nullptr},
  {"day-of-month", 1, 31, nullptr},
  {"month", 1, 12, month_names},
  {"day-of-week", 0, 7, day_names},
};

caf::error field_error(const field_spec& f, std::string_view text,
                       const std::string& why) {
  return make_error(errc::invalid, std::string{"cron: "} + f.name + " field '"
                                     + std::string{text} + "': " + why);
}

// A value of field f: a number or (month, weekday) a name.
caf::error read_value(const field_spec& f, std::string_view whole,
                      std::string_view s, int& out) {
  if (s.empty())
    return field_error(f, whole, "a value is missing");
  if (std::isdigit(static_cast<unsigned char>(s[0]))) {
    if (s.size() > 4 || !std::all_of(s.begin(), s.end(), [](char ch) {
          return std::isdigit(static_cast<unsigned char>(ch));
        }))
      return field_error(f, whole, "'" + std::string{s} + "' is not a number");
    out = std::atoi(std::string{s}.c_str());
  } else {
    std::string up;
    for (char ch : s)
      up += static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
    bool found = false;
    if (f.names)
      for (int i = 0; i <= f.hi - f.lo && i < 12 && !found; ++i)
        if ((f.names == day_names ? i < 7 : true) && up == f.names[i]) {
          out = f.lo + i;
          found = true;
        }
    if (!found)
      return field_error(f, whole, "'" + std::string{s} + "' is not a "
                                     + (f.names ? "number or name" : "number"));
  }
  if (out < f.lo || out > f.hi)
    return field_error(f, whole, std::to_string(out) + " is out of range "
                                   + std::to_string(f.lo) + "-"
                                   + std::to_string(f.hi));
  return {};
}

// One field into a bit set (bit v: value v).
caf::error parse_field(const field_spec& f, std::string_view text,
                       uint64_t& bits) {
  bits = 0;
  size_t from = 0;
  while (from <= text.size()) {
    auto comma = text.find(',', from);
    auto part = text.substr(from, comma == std::string_view::npos
                                    ? std::string_view::npos
                                    : comma - from);
    int lo = f.lo, hi = f.hi, step = 1;
    auto slash = part.find('/');
    auto range = part.substr(0, slash);
    if (slash != std::string_view::npos) {
      auto st = part.substr(slash + 1);
      if (st.empty() || st.size() > 2 || !std::all_of(st.begin(), st.end(), [](char ch) {
            return std::isdigit(static_cast<unsigned char>(ch));
          }))
        return field_error(f, text, "the step '" + std::string{st}
                                      + "' is not a number");
      step = std::atoi(std::string{st}.c_str());
      if (step == 0)
        return field_error(f, text, "a step must be at least 1");
    }
    if (range != "*") {
      auto dash = range.find('-');
      if (auto err = read_value(f, text, range.substr(0, dash), lo))
        return err;
      if (dash != std::string_view::npos) {
        if (auto err = read_value(f, text, range.substr(dash + 1), hi))
          return err;
        if (lo > hi)
          return field_error(f, text, "the range " + std::to_string(lo) + "-"
                                        + std::to_string(hi)
                                        + " starts after it ends");
      } else if (slash == std::string_view::npos) {
        hi = lo; // a single value
      }
    }
    for (int v = lo; v <= hi; v += step)
      bits |= uint64_t{1} << v;
    if (comma == std::string_view::npos)
      break;
    from = comma + 1;
  }
  return {};
}

} // namespace

caf::expected<cron_expr> cron_expr::parse(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  cron_expr out;
  out.text_ = std::string{text};
  std::string_view expr = text;
  if (!text.empty() && text.front() == '@') {
    static const std::pair<const char*, const char*> aliases[] = {
      {"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"},
      {"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
      {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
      {"@hourly", "0 * * * *"},
    };
    expr = {};
    for (auto& [alias, fields] : aliases)
      if (text == alias)
        expr = fields;
    if (expr.empty())
      return make_error(errc::invalid,
                        "cron: unknown alias '" + std::string{text}
                          + "' (the aliases are @yearly, @annually, @monthly, "
                            "@weekly, @daily, @midnight, @hourly)");
  }
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < expr.size()) {
    while (i < expr.size() && (expr[i] == ' ' || expr[i] == '\t'))
      ++i;
    auto from = i;
    while (i < expr.size() && expr[i] != ' ' && expr[i] != '\t')
      ++i;
    if (i > from)
      fields.push_back(expr.substr(from, i - from));
  }
  if (fields.size() != 5)
    return make_error(errc::invalid,
                      "cron: expected 5 fields (minute hour day-of-month month "
                      "day-of-week) or an alias such as @daily, got "
                        + std::to_string(fields.size()));
  uint64_t bits[5];
  for (int f = 0; f < 5; ++f)
    if (auto err = parse_field(specs[f], fields[static_cast<size_t>(f)], bits[f]))
      return err;
  out.minutes_ = bits[0];
  out.hours_ = static_cast<uint32_t>(bits[1]);
  out.days_ = static_cast<uint32_t>(bits[2]);
  out.months_ = static_cast<uint16_t>(bits[3]);
  out.weekdays_ = static_cast<uint8_t>((bits[4] | (bits[4] >> 7)) & 0x7f);
  out.day_star_ = fields[2].front() == '*';
  out.weekday_star_ = fields[4].front() == '*';
  auto fixed = [](std::string_view f) {
    return f.find('*') == std::string_view::npos
           && f.find('/') == std::string_view::npos;
  };
  out.fixed_time_ = fixed(fields[0]) && fixed(fields[1]);
  return out;
}

namespace {

// The first local time m (seconds of a naive local clock) with lo <= m < hi
// on a whole minute that the fields match.
template <class Expr>
std::optional<int64_t> first_match(const Expr& e, int64_t lo, int64_t hi) {
  auto m = floor_div(lo + 59, 60) * 60;
  while (m < hi) {
    auto days = floor_div(m, day_s);
    auto secs = m - days * day_s;
    auto c = civil_from_days(days);
    if (!(e.months >> c.m & 1)) {
      auto ny = c.m == 12 ? c.y + 1 : c.y;
      auto nm = c.m == 12 ? 1u : c.m + 1;
      m = days_from_civil(ny, nm, 1) * day_s;
      continue;
    }
    bool dom = e.days >> c.d & 1, dow = e.weekdays >> weekday_of(days) & 1;
    bool day_ok = e.day_star   ? (e.weekday_star ? true : dow)
                  : e.weekday_star ? dom
                                   : (dom || dow);
    if (!day_ok) {
      m = (days + 1) * day_s;
      continue;
    }
    auto h = static_cast<int>(secs / 3600);
    auto mi = static_cast<int>(secs % 3600 / 60);
    if (!(e.hours >> h & 1)) {
      int nh = h + 1;
      while (nh < 24 && !(e.hours >> nh & 1))
        ++nh;
      m = nh < 24 ? days * day_s + nh * 3600 : (days + 1) * day_s;
      continue;
    }
    if (!(e.minutes >> mi & 1)) {
      int nmi = mi + 1;
      while (nmi < 60 && !(e.minutes >> nmi & 1))
        ++nmi;
      m = nmi < 60 ? days * day_s + h * 3600 + nmi * 60
                   : days * day_s + (h + 1) * 3600;
      continue;
    }
    return m;
  }
  return std::nullopt;
}

struct fields_view {
  uint64_t minutes;
  uint32_t hours, days;
  uint16_t months;
  uint8_t weekdays;
  bool day_star, weekday_star;
};

} // namespace

std::optional<int64_t> cron_expr::next_after(int64_t after_ms,
                                             const time_zone& tz) const {
  const fields_view e{minutes_, hours_, days_, months_, weekdays_, day_star_,
                      weekday_star_};
  const auto& z = *tz.rules_;
  auto after_s = floor_div(after_ms, 1000);
  auto horizon = after_s + eight_years_s;
  // The first segment: from `after` to the next offset change.
  int64_t seg_start = after_s;
  auto off = offset_of(z, seg_start);
  // A candidate m (local) is after `after` when m - off > after_ms / 1000.
  int64_t lo = floor_div(after_s + off, 60) * 60 + 60;
  if (fixed_time_) {
    // Inside the second pass of a fall-back: a fixed time ran in the first.
    if (auto p = prev_transition(z, seg_start);
        p && p->before > p->after && seg_start < p->at + (p->before - p->after))
      lo = std::max(lo, p->at + p->before);
  }
  while (seg_start < horizon) {
    auto next = next_transition(z, seg_start);
    auto seg_end = next ? std::min(next->at, horizon) : horizon;
    if (auto m = first_match(e, lo, seg_end + off))
      return (*m - off) * 1000;
    if (!next || next->at >= horizon)
      return std::nullopt;
    // At the change: local times a spring-forward skips run at its instant,
    // once; after a fall-back, fixed times do not run again.
    if (next->after > next->before
        && first_match(e, next->at + next->before, next->at + next->after)
        && next->at * 1000 > after_ms)
      return next->at * 1000;
    seg_start = next->at;
    off = next->after;
    lo = seg_start + off;
    if (fixed_time_ && next->before > next->after)
      lo = seg_start + next->before;
  }
  return std::nullopt;
}

std::vector<int64_t> cron_expr::runs_between(int64_t from_ms, int64_t to_ms,
                                             const time_zone& tz,
                                             size_t limit) const {
  std::vector<int64_t> out;
  for (auto t = next_after(from_ms, tz); t && *t <= to_ms && out.size() < limit;
       t = next_after(*t, tz))
    out.push_back(*t);
  return out;
}

} // namespace jobd
