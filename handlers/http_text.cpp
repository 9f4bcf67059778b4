#include "handlers/http_text.hpp"

#include <cctype>
#include <cstdlib>
#include <mutex>

namespace jobd {

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

std::string ascii_lower(std::string_view s) {
  std::string out{s};
  for (auto& c : out)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string trim_space(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front())))
    s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back())))
    s.remove_suffix(1);
  return std::string{s};
}

header_line read_header_line(std::string_view line, long& status,
                             std::string& name, std::string& value) {
  if (line.rfind("HTTP/", 0) == 0) {
    auto sp = line.find(' ');
    status = sp == std::string_view::npos
               ? 0
               : std::strtol(std::string{line.substr(sp + 1, 3)}.c_str(),
                             nullptr, 10);
    return header_line::status;
  }
  auto colon = line.find(':');
  if (colon == std::string_view::npos)
    return header_line::other;
  name = ascii_lower(trim_space(line.substr(0, colon)));
  value = trim_space(line.substr(colon + 1));
  return header_line::field;
}

} // namespace jobd
