#include "app/settings.hpp"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <limits>
#include <sstream>

namespace jobd {

namespace {

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r\n");
  if (b == std::string::npos)
    return {};
  auto e = s.find_last_not_of(" \t\r\n");
  return s.substr(b, e - b + 1);
}

std::string lower(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return s;
}

std::optional<int64_t> parse_int(const std::string& s) {
  if (s.empty())
    return std::nullopt;
  size_t pos = 0;
  try {
    auto v = std::stoll(s, &pos, 10);
    if (pos != s.size())
      return std::nullopt;
    return v;
  } catch (...) {
    return std::nullopt;
  }
}

} // namespace

std::optional<int64_t> parse_duration_ms(const std::string& text) {
  auto s = lower(trim(text));
  size_t i = 0;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
    ++i;
  if (i == 0)
    return std::nullopt;
  auto num = parse_int(s.substr(0, i));
  if (!num)
    return std::nullopt;
  auto unit = trim(s.substr(i));
  int64_t mult;
  if (unit.empty() || unit == "ms")
    mult = 1;
  else if (unit == "s")
    mult = 1000;
  else if (unit == "m" || unit == "min")
    mult = 60'000;
  else if (unit == "h")
    mult = 3'600'000;
  else if (unit == "d")
    mult = 86'400'000;
  else
    return std::nullopt;
  if (*num > std::numeric_limits<int64_t>::max() / mult)
    return std::nullopt; // would overflow (and wrap into range)
  return *num * mult;
}

std::string format_duration_ms(int64_t ms) {
  if (ms != 0 && ms % 86'400'000 == 0)
    return std::to_string(ms / 86'400'000) + "d";
  if (ms != 0 && ms % 3'600'000 == 0)
    return std::to_string(ms / 3'600'000) + "h";
  if (ms != 0 && ms % 60'000 == 0)
    return std::to_string(ms / 60'000) + "m";
  if (ms != 0 && ms % 1000 == 0)
    return std::to_string(ms / 1000) + "s";
  return std::to_string(ms) + "ms";
}

// A whole number of type T in [min, max]: add_int and add_int64.
template <class T>
void settings::add_whole(std::string name, T* field, int64_t min, int64_t max,
                         std::string help) {
  auto accepted = "a whole number " + std::to_string(min) + ".."
                  + std::to_string(max);
  entries_.push_back(entry{
    std::move(name), std::move(help), accepted,
    [=](const std::string& v) -> std::string {
      auto n = parse_int(trim(v));
      if (!n || *n < min || *n > max)
        return accepted;
      *field = static_cast<T>(*n);
      return {};
    },
    [=] { return std::to_string(*field); }});
}

void settings::add_int(std::string name, int32_t* field, int32_t min,
                       int32_t max, std::string help) {
  add_whole(std::move(name), field, min, max, std::move(help));
}

void settings::add_int64(std::string name, int64_t* field, int64_t min,
                         int64_t max, std::string help) {
  add_whole(std::move(name), field, min, max, std::move(help));
}

void settings::add_duration(std::string name, int64_t* field, int64_t min_ms,
                            int64_t max_ms, std::string help) {
  auto accepted = "a duration from " + format_duration_ms(min_ms) + " to "
                  + format_duration_ms(max_ms)
                  + " (e.g. 250ms, 5s, 2m, 1h; a bare number is ms)";
  entries_.push_back(entry{
    std::move(name), std::move(help), accepted,
    [=](const std::string& v) -> std::string {
      auto n = parse_duration_ms(v);
      if (!n || *n < min_ms || *n > max_ms)
        return accepted;
      *field = *n;
      return {};
    },
    [=] { return format_duration_ms(*field); }});
}

void settings::add_auto_duration(std::string name, int64_t* field_ms,
                                 bool* is_auto, int64_t min_ms, int64_t max_ms,
                                 std::string help) {
  auto accepted = "auto, or a duration from " + format_duration_ms(min_ms)
                  + " to " + format_duration_ms(max_ms)
                  + " (e.g. 250ms, 5s, 2m, 1h; a bare number is ms)";
  entries_.push_back(entry{
    std::move(name), std::move(help), accepted,
    [=](const std::string& v) -> std::string {
      if (lower(trim(v)) == "auto") {
        *is_auto = true;
        return {};
      }
      auto n = parse_duration_ms(v);
      if (!n || *n < min_ms || *n > max_ms)
        return accepted;
      *field_ms = *n;
      *is_auto = false;
      return {};
    },
    [=] {
      return *is_auto ? std::string{"auto"} : format_duration_ms(*field_ms);
    }});
}

void settings::add_double(std::string name, double* field, double min,
                          double max, std::string help) {
  std::ostringstream acc;
  acc << "a number " << min << ".." << max;
  auto accepted = acc.str();
  entries_.push_back(entry{
    std::move(name), std::move(help), accepted,
    [=](const std::string& v) -> std::string {
      auto t = trim(v);
      try {
        size_t pos = 0;
        auto d = std::stod(t, &pos);
        // Written so that NaN ("nan" reads as one) is refused too.
        if (pos != t.size() || !(d >= min && d <= max))
          return accepted;
        *field = d;
        return {};
      } catch (...) {
        return accepted;
      }
    },
    [=] {
      std::ostringstream out;
      out << *field;
      return out.str();
    }});
}

void settings::add_bool(std::string name, bool* field, std::string help) {
  std::string accepted = "true or false";
  entries_.push_back(entry{
    std::move(name), std::move(help), accepted,
    [=](const std::string& v) -> std::string {
      auto t = lower(trim(v));
      if (t == "true" || t == "yes" || t == "on" || t == "1")
        *field = true;
      else if (t == "false" || t == "no" || t == "off" || t == "0")
        *field = false;
      else
        return accepted;
      return {};
    },
    [=] { return std::string{*field ? "true" : "false"}; }});
}

void settings::add_string(std::string name, std::string* field,
                          std::string help,
                          std::function<std::string(const std::string&)> check) {
  entries_.push_back(entry{
    std::move(name), std::move(help), "text",
    [=](const std::string& v) -> std::string {
      auto t = trim(v);
      if (t.size() >= 2 && t.front() == '"' && t.back() == '"')
        t = t.substr(1, t.size() - 2);
      if (check) {
        auto why = check(t);
        if (!why.empty())
          return why;
      }
      *field = t;
      return {};
    },
    [=] {
      // Quoted when reading it back would change it (trimmed, unquoted).
      auto& v = *field;
      bool quote = !v.empty()
                   && (trim(v) != v
                       || (v.size() >= 2 && v.front() == '"'
                           && v.back() == '"'));
      return quote ? '"' + v + '"' : v;
    }});
}

void settings::add_choice(std::string name, std::string* field,
                          std::vector<std::string> choices, std::string help) {
  std::string accepted = "one of";
  for (size_t i = 0; i < choices.size(); ++i)
    accepted += (i == 0 ? " " : ", ") + choices[i];
  entries_.push_back(entry{
    std::move(name), std::move(help), accepted,
    [=](const std::string& v) -> std::string {
      auto t = lower(trim(v));
      for (auto& c : choices)
        if (lower(c) == t) {
          *field = c;
          return {};
        }
      return accepted;
    },
    [=] { return *field; }});
}

settings::entry* settings::find(const std::string& name) {
  for (auto& e : entries_)
    if (e.name == name)
      return &e;
  return nullptr;
}

void settings::add_family(
  std::string prefix, std::vector<std::string> keys,
  std::function<std::string(const std::string&, const std::string&,
                            const std::string&)> fn) {
  families_.push_back(family{std::move(prefix), std::move(keys), std::move(fn)});
}

std::string settings::set(const std::string& name, const std::string& value,
                          const std::string& origin) {
  auto e = find(name);
  auto last_dot = name.rfind('.');
  for (auto& f : families_) {
    if (e != nullptr || name.rfind(f.prefix + ".", 0) != 0
        || last_dot <= f.prefix.size())
      continue;
    auto member = name.substr(f.prefix.size() + 1,
                              last_dot - f.prefix.size() - 1);
    auto key = name.substr(last_dot + 1);
    if (std::find(f.keys.begin(), f.keys.end(), key) == f.keys.end()) {
      std::string list;
      for (auto& k : f.keys)
        list += (list.empty() ? "" : ", ") + k;
      return origin + ": unknown setting '" + key + "' in [" + f.prefix + "."
             + member + "]; its settings: " + list;
    }
    auto why = f.fn(member, key, trim(value));
    if (!why.empty())
      return origin + ": " + name + " = '" + trim(value)
             + "' is not valid: " + why;
    return {};
  }
  if (e == nullptr) {
    // Suggest settings with the same key in another section, or the same
    // section, so a typo is quick to fix.
    std::string hint;
    auto dot = name.find('.');
    auto section = dot == std::string::npos ? name : name.substr(0, dot);
    for (auto& x : entries_)
      if (x.name.rfind(section + ".", 0) == 0)
        hint += (hint.empty() ? "" : ", ") + x.name;
    return origin + ": unknown setting '" + name + "'"
           + (hint.empty() ? "" : "; settings in [" + section + "]: " + hint);
  }
  auto why = e->parse(value);
  if (!why.empty()) {
    auto accepted = why == e->accepted ? "expected " + why : why;
    return origin + ": " + name + " = '" + trim(value) + "' is not valid: "
           + accepted;
  }
  return {};
}

std::string settings::load_file(const std::string& path) {
  std::ifstream in{path};
  if (!in)
    return "cannot read config file '" + path
           + "' (give another with --config FILE)";
  std::string line, section;
  int line_no = 0;
  while (std::getline(in, line)) {
    ++line_no;
    auto origin = path + ":" + std::to_string(line_no);
    auto t = trim(line);
    if (t.empty() || t[0] == '#' || t[0] == ';')
      continue;
    if (t.front() == '[') {
      if (t.back() != ']')
        return origin + ": a section header must look like [name]";
      section = trim(t.substr(1, t.size() - 2));
      continue;
    }
    auto eq = t.find('=');
    if (eq == std::string::npos)
      return origin + ": expected 'key = value', got '" + t + "'";
    auto key = trim(t.substr(0, eq));
    auto value = trim(t.substr(eq + 1));
    // A comment after the value, separated by whitespace.
    for (auto marker : {" #", " ;", "\t#", "\t;"}) {
      auto c = value.find(marker);
      if (c != std::string::npos)
        value = trim(value.substr(0, c));
    }
    if (section.empty())
      return origin + ": '" + key + "' is outside any [section]";
    auto err = set(section + "." + key, value, origin);
    if (!err.empty())
      return err;
  }
  return {};
}

std::string settings::render() const {
  std::string out;
  std::string section;
  for (auto& e : entries_) {
    auto dot = e.name.find('.');
    auto sec = e.name.substr(0, dot);
    if (sec != section) {
      if (!out.empty())
        out += "\n";
      out += "[" + sec + "]\n";
      section = sec;
    }
    std::istringstream help{e.help};
    std::string hl;
    while (std::getline(help, hl))
      out += "# " + hl + "\n";
    out += "# Accepted: " + e.accepted + ".\n";
    out += e.name.substr(dot + 1) + " = " + e.show() + "\n";
  }
  return out;
}

std::string settings::value(const std::string& name) const {
  for (auto& e : entries_)
    if (e.name == name)
      return e.show();
  return {};
}

std::vector<std::string> settings::names() const {
  std::vector<std::string> out;
  for (auto& e : entries_)
    out.push_back(e.name);
  return out;
}

} // namespace jobd
