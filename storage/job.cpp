#include "storage/job.hpp"

#include <cstring>
#include <ctime>
#include <mutex>
#include <random>

namespace jobd {

const char* to_string(job_status s) {
  switch (s) {
    case job_status::pending:
      return "PENDING";
    case job_status::processing:
      return "PROCESSING";
    case job_status::completed:
      return "COMPLETED";
    case job_status::failed:
      return "FAILED";
    case job_status::cancelled:
      return "CANCELLED";
  }
  return "PENDING";
}

bool parse_status(std::string_view text, job_status& out) {
  for (auto s : {job_status::pending, job_status::processing,
                 job_status::completed, job_status::failed,
                 job_status::cancelled})
    if (text == to_string(s)) {
      out = s;
      return true;
    }
  return false;
}

const char* to_string(attempt_outcome o) {
  switch (o) {
    case attempt_outcome::running:
      return "running";
    case attempt_outcome::completed:
      return "completed";
    case attempt_outcome::failed:
      return "failed";
    case attempt_outcome::lease_expired:
      return "lease_expired";
    case attempt_outcome::released:
      return "released";
    case attempt_outcome::cancelled:
      return "cancelled";
  }
  return "running";
}

bool parse_attempt_outcome(std::string_view text, attempt_outcome& out) {
  for (auto o : {attempt_outcome::running, attempt_outcome::completed,
                 attempt_outcome::failed, attempt_outcome::lease_expired,
                 attempt_outcome::released, attempt_outcome::cancelled})
    if (text == to_string(o)) {
      out = o;
      return true;
    }
  return false;
}

const char* to_string(bulk_action a) {
  switch (a) {
    case bulk_action::retry:
      return "retry";
    case bulk_action::cancel:
      return "cancel";
    case bulk_action::remove:
      return "delete";
  }
  return "retry";
}

bool parse_bulk_action(std::string_view text, bulk_action& out) {
  for (auto a : {bulk_action::retry, bulk_action::cancel, bulk_action::remove})
    if (text == to_string(a)) {
      out = a;
      return true;
    }
  return false;
}

namespace {

constexpr char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

} // namespace

bool claims_before(const job& a, const job& b) {
  if (a.priority != b.priority)
    return a.priority > b.priority;
  if (a.scheduled_for != b.scheduled_for)
    return a.scheduled_for < b.scheduled_for;
  if (a.created_at != b.created_at)
    return a.created_at < b.created_at;
  return a.id < b.id;
}

std::string make_job_id(ms_t now) {
  // ULID: 10 chars of time, 16 chars of randomness. Within one millisecond
  // the random part is incremented, so ids from one process stay ordered.
  static std::mutex mtx;
  static ms_t last_ms = -1;
  static unsigned char rnd[10];
  static std::mt19937_64 gen{std::random_device{}()};
  std::lock_guard<std::mutex> guard{mtx};
  if (now <= last_ms) {
    now = last_ms;
    for (int i = 9; i >= 0; --i)
      if (++rnd[i] != 0)
        break;
  } else {
    last_ms = now;
    for (auto& b : rnd)
      b = static_cast<unsigned char>(gen());
    rnd[0] &= 0x7f; // leave room to increment without overflowing
  }
  std::string out(26, '0');
  auto t = static_cast<uint64_t>(now);
  for (int i = 9; i >= 0; --i) {
    out[i] = crockford[t & 31];
    t >>= 5;
  }
  // 80 random bits -> 16 base32 chars.
  unsigned __int128 r = 0;
  for (auto b : rnd)
    r = (r << 8) | b;
  for (int i = 25; i >= 10; --i) {
    out[i] = crockford[static_cast<unsigned>(r & 31)];
    r >>= 5;
  }
  return out;
}

bool is_job_id(std::string_view id) {
  if (id.size() != 26)
    return false;
  for (char c : id)
    if (std::strchr(crockford, c) == nullptr || c == '\0')
      return false;
  return true;
}

std::string format_time(ms_t t) {
  if (t == 0)
    return {};
  time_t secs = static_cast<time_t>(t / 1000);
  int ms = static_cast<int>(t % 1000);
  if (ms < 0) {
    ms += 1000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
                tm.tm_min, tm.tm_sec, ms);
  return buf;
}

namespace {

bool read_digits(std::string_view s, size_t& pos, int n, int& out) {
  if (pos + n > s.size())
    return false;
  out = 0;
  for (int i = 0; i < n; ++i) {
    char c = s[pos + i];
    if (c < '0' || c > '9')
      return false;
    out = out * 10 + (c - '0');
  }
  pos += n;
  return true;
}

bool expect(std::string_view s, size_t& pos, char c) {
  if (pos < s.size() && s[pos] == c) {
    ++pos;
    return true;
  }
  return false;
}

// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

bool is_leap_year(int y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

int days_in_month(int y, int m) {
  static constexpr int days[] = {31, 28, 31, 30, 31, 30,
                                 31, 31, 30, 31, 30, 31};
  return m == 2 && is_leap_year(y) ? 29 : days[m - 1];
}

// Sets *why (when given) and returns false, so each refusal is one line.
bool refuse(std::string* why, std::string reason) {
  if (why != nullptr)
    *why = std::move(reason);
  return false;
}

std::string two_digits(int n) {
  return std::string(n < 10 ? "0" : "") + std::to_string(n);
}

} // namespace

bool parse_time(std::string_view s, ms_t& out, std::string* why) {
  const char* shape = "expected YYYY-MM-DDThh:mm[:ss[.fff]] with Z or "
                      "+hh:mm/-hh:mm, or a date YYYY-MM-DD";
  size_t pos = 0;
  int y, mo, d, h = 0, mi = 0, sec = 0, ms = 0;
  if (!read_digits(s, pos, 4, y) || !expect(s, pos, '-')
      || !read_digits(s, pos, 2, mo) || !expect(s, pos, '-')
      || !read_digits(s, pos, 2, d))
    return refuse(why, shape);
  if (y < min_time_year)
    return refuse(why, "year " + std::to_string(y) + " is before "
                         + std::to_string(min_time_year));
  if (mo < 1 || mo > 12)
    return refuse(why, "month " + two_digits(mo) + " is not 01..12");
  if (d < 1 || d > days_in_month(y, mo))
    return refuse(why, "day " + two_digits(d) + " does not exist in "
                         + std::to_string(y) + "-" + two_digits(mo)
                         + " (it has " + std::to_string(days_in_month(y, mo))
                         + " days)");
  int offset_min = 0;
  if (pos < s.size()) {
    if (!expect(s, pos, 'T') && !expect(s, pos, 't') && !expect(s, pos, ' '))
      return refuse(why, shape);
    if (!read_digits(s, pos, 2, h) || !expect(s, pos, ':')
        || !read_digits(s, pos, 2, mi))
      return refuse(why, shape);
    if (expect(s, pos, ':') && !read_digits(s, pos, 2, sec))
      return refuse(why, shape);
    if (expect(s, pos, '.')) {
      // Up to nanoseconds; digits past milliseconds are dropped (truncated).
      int digits = 0;
      while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
        if (digits < 3)
          ms = ms * 10 + (s[pos] - '0');
        ++digits;
        ++pos;
      }
      if (digits == 0 || digits > 9)
        return refuse(why, "the fraction of a second must have 1 to 9 digits");
      for (int i = digits; i < 3; ++i)
        ms *= 10;
    }
    if (h > 23)
      return refuse(why, "hour " + two_digits(h) + " is not 00..23");
    if (mi > 59)
      return refuse(why, "minute " + two_digits(mi) + " is not 00..59");
    if (sec > 59)
      return refuse(why, "second " + two_digits(sec)
                           + " is not 00..59 (leap seconds are not accepted)");
    if (expect(s, pos, 'Z') || expect(s, pos, 'z')) {
      // UTC
    } else if (pos < s.size() && (s[pos] == '+' || s[pos] == '-')) {
      int sign = s[pos] == '-' ? -1 : 1;
      ++pos;
      int oh, om;
      if (!read_digits(s, pos, 2, oh) || !expect(s, pos, ':')
          || !read_digits(s, pos, 2, om))
        return refuse(why, "the zone offset must be +hh:mm or -hh:mm");
      if (oh > 23 || om > 59)
        return refuse(why, "the zone offset must be within -23:59..+23:59");
      offset_min = sign * (oh * 60 + om);
    } else {
      // A time without a zone is ambiguous: refuse it.
      return refuse(why, pos == s.size() ? "a time needs a zone: Z or +hh:mm"
                                         : shape);
    }
    if (pos != s.size())
      return refuse(why, shape);
  }
  auto days = days_from_civil(y, static_cast<unsigned>(mo),
                              static_cast<unsigned>(d));
  ms_t t = ((days * 86400 + h * 3600 + mi * 60 + sec) - offset_min * 60) * 1000
           + ms;
  // An offset can push the earliest/latest dates out of range.
  if (t < 0)
    return refuse(why, "the time is before 1970-01-01T00:00:00Z");
  if (t > max_time_ms)
    return refuse(why, "the time is after 9999-12-31T23:59:59.999Z");
  out = t;
  return true;
}

} // namespace jobd
