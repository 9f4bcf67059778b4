// Operator settings: one table of named settings ("section.key"), each bound
// to a field of a service's config struct, with its help text. Filled from
// the config file (INI: [section] then key = value; # or ; starts a comment)
// and then from command-line flags, in that order. Every error names the
// setting, where it came from, and what is accepted.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace jobd {

class settings {
public:
  /// A whole number in [min, max].
  void add_int(std::string name, int32_t* field, int32_t min, int32_t max,
               std::string help);
  /// A whole number in [min, max], 64-bit.
  void add_int64(std::string name, int64_t* field, int64_t min, int64_t max,
                 std::string help);
  /// A duration: "250ms", "5s", "2m", "1h" (a bare number is milliseconds),
  /// stored as milliseconds, in [min_ms, max_ms].
  void add_duration(std::string name, int64_t* field_ms, int64_t min_ms,
                    int64_t max_ms, std::string help);
  /// A duration as add_duration, or the word "auto" (any case): then
  /// *is_auto becomes true and *field_ms is left for the caller to derive
  /// (see derive_settings in config.hpp); a duration sets *field_ms and
  /// clears *is_auto. render() shows "auto" while *is_auto is true.
  void add_auto_duration(std::string name, int64_t* field_ms, bool* is_auto,
                         int64_t min_ms, int64_t max_ms, std::string help);
  /// A number in [min, max].
  void add_double(std::string name, double* field, double min, double max,
                  std::string help);
  /// true/false (also yes/no, on/off, 1/0).
  void add_bool(std::string name, bool* field, std::string help);
  /// Any text; `check` may refuse it with a reason ("" = fine).
  void add_string(std::string name, std::string* field, std::string help,
                  std::function<std::string(const std::string&)> check = {});
  /// One of the listed words (case-insensitive; stored as listed).
  void add_choice(std::string name, std::string* field,
                  std::vector<std::string> choices, std::string help);

  /// Sections named "<prefix>.<NAME>" ([schedule.nightly]), as many as the
  /// file has: each `key = value` in one goes to fn(NAME, key, value),
  /// which returns "" or why the value is refused. A key not in `keys` is
  /// refused, naming them. Not listed by names() or render().
  void add_family(std::string prefix, std::vector<std::string> keys,
                  std::function<std::string(const std::string& name,
                                            const std::string& key,
                                            const std::string& value)> fn);

  /// Sets one setting from text. `origin` says where the text came from
  /// ("conf/jobd.ini:12", "--workers"). Returns "" or the error line.
  std::string set(const std::string& name, const std::string& value,
                  const std::string& origin);

  /// Reads an INI file. Returns "" or the first error line.
  std::string load_file(const std::string& path);

  /// Settings as INI text with their help and current values (defaults when
  /// called on fresh configs): `jobd config defaults` prints this.
  std::string render() const;

  /// Names of all settings.
  std::vector<std::string> names() const;

  /// A setting's current value as the config file would write it ("" for
  /// an unknown name). SIGHUP compares old and new values with it.
  std::string value(const std::string& name) const;

private:
  struct entry {
    std::string name;
    std::string help;
    std::string accepted; ///< for error messages: "a whole number 1..1024"
    std::function<std::string(const std::string&)> parse; ///< "" = ok
    std::function<std::string()> show;
  };
  entry* find(const std::string& name);
  template <class T>
  void add_whole(std::string name, T* field, int64_t min, int64_t max,
                 std::string help);
  std::vector<entry> entries_;
  struct family {
    std::string prefix;
    std::vector<std::string> keys;
    std::function<std::string(const std::string&, const std::string&,
                              const std::string&)> fn;
  };
  std::vector<family> families_;
};

/// Parses "250ms", "5s", "2m", "1h", "1d" or a bare number of milliseconds.
std::optional<int64_t> parse_duration_ms(const std::string& text);

/// Renders milliseconds the way parse_duration_ms reads them ("5s", "250ms").
std::string format_duration_ms(int64_t ms);

} // namespace jobd
