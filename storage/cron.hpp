// Cron expressions and time zones for recurring schedules.
//
// A schedule names a cron expression and a time zone; the schedule actor asks
// `next_after` for each run time and the store records each (schedule, run
// time) once (see job_store::fire_schedule). Everything here is pure: no
// clock, no I/O but reading a zone's TZif file once, at load.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/expected.hpp>

namespace jobd {

/// A time zone of the system's tz database: a TZif file under $TZDIR or
/// /usr/share/zoneinfo (its transitions, then its POSIX TZ footer rule for
/// instants past the last transition), or "UTC" (always available, also
/// without a tz database). Cheap to copy (shares the loaded rules).
class time_zone {
public:
  /// UTC.
  time_zone();

  /// Loads a zone by its IANA name ("Europe/Berlin", "UTC").
  /// Fails with errc::invalid naming the zone when the name is empty, holds
  /// "..", starts with '/', or names no readable TZif file; the message says
  /// where it looked.
  static caf::expected<time_zone> load(const std::string& name);

  /// The name it was loaded by ("UTC" for the default).
  const std::string& name() const;

  /// Seconds east of UTC in force at `utc_s` (seconds since the epoch).
  int32_t offset_at(int64_t utc_s) const;

  struct rules;

private:
  friend class cron_expr; // next_after walks the spans between transitions
  std::shared_ptr<const rules> rules_;
};

/// A cron expression: five fields (minute 0-59, hour 0-23, day of month
/// 1-31, month 1-12 or JAN-DEC, day of week 0-7 or SUN-SAT, 0 and 7 both
/// Sunday) with `*`, lists `a,b`, ranges `a-b` and steps `*/n` `a-b/n`
/// `a/n`; names in any case. Or an alias: @yearly (@annually), @monthly,
/// @weekly, @daily (@midnight), @hourly. As in Vixie cron, when both day
/// fields are restricted (neither starts with `*`), a day matches either.
class cron_expr {
public:
  /// Parses `text` (surrounding spaces ignored; fields separated by spaces
  /// or tabs). Fails with errc::invalid whose message names the field
  /// ("cron: minute field '61': 61 is out of range 0-59", "cron: expected 5
  /// fields (minute hour day-of-month month day-of-week), got 6", unknown
  /// alias, bad step 0, range whose start is after its end, ...).
  static caf::expected<cron_expr> parse(std::string_view text);

  /// The text as given (trimmed).
  const std::string& text() const { return text_; }

  /// The first run time strictly after `after_ms` (milliseconds since the
  /// epoch, UTC), always on a whole minute of local time in `tz`;
  /// nullopt when no time matches within eight years (e.g. "0 0 30 2 *").
  ///
  /// Daylight-saving rules: a local time skipped by a spring-forward gap
  /// runs at the first instant after the gap (once, however many of its
  /// minutes matched); a local time that occurs twice (fall back) runs only
  /// at its first occurrence when both the minute and the hour fields are
  /// fixed (a daily job runs once), and at both when either is a wildcard or
  /// a step (an every-15-minutes job keeps running every 15 real minutes).
  /// "Fixed" means single values or lists of them ("0,30 2"): each is a
  /// time of day and runs once; a range ("0-30 2") counts as a wildcard.
  std::optional<int64_t> next_after(int64_t after_ms,
                                    const time_zone& tz) const;

  /// Up to `limit` run times t with from_ms < t <= to_ms, oldest first.
  std::vector<int64_t> runs_between(int64_t from_ms, int64_t to_ms,
                                    const time_zone& tz, size_t limit) const;

private:
  std::string text_;
  uint64_t minutes_ = 0;  // bit m: minute m
  uint32_t hours_ = 0;    // bit h
  uint32_t days_ = 0;     // bit d, 1..31
  uint16_t months_ = 0;   // bit m, 1..12
  uint8_t weekdays_ = 0;  // bit w, 0..6 (Sunday 0)
  bool day_star_ = false;     // the day-of-month field starts with '*'
  bool weekday_star_ = false; // the day-of-week field starts with '*'
  bool fixed_time_ = false;   // minute and hour are single values or lists
                              // of them (no '*', range or step)
};

} // namespace jobd
