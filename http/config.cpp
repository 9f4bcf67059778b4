#include "http/config.hpp"

#include <cctype>

#include <boost/asio/ip/address.hpp>

namespace jobd {

std::string bind_address_error(const std::string& address) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(address, ec);
  return ec ? "not an IP address such as 127.0.0.1 or ::1" : "";
}

std::vector<std::string> parse_cors_origins(const std::string& list) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= list.size()) {
    auto end = list.find(',', start);
    if (end == std::string::npos)
      end = list.size();
    auto item = list.substr(start, end - start);
    auto b = item.find_first_not_of(" \t");
    auto e = item.find_last_not_of(" \t");
    if (b != std::string::npos)
      out.push_back(item.substr(b, e - b + 1));
    start = end + 1;
  }
  return out;
}

namespace {

// scheme://host[:port], as a browser sends it in Origin: lower-case
// http or https, a host of letters, digits, '.', '-' (or [IPv6]), no path.
bool is_origin(const std::string& o) {
  std::string rest;
  if (o.rfind("http://", 0) == 0)
    rest = o.substr(7);
  else if (o.rfind("https://", 0) == 0)
    rest = o.substr(8);
  else
    return false;
  if (rest.empty())
    return false;
  size_t i = 0;
  if (rest[0] == '[') {
    auto close = rest.find(']');
    if (close == std::string::npos || close == 1)
      return false;
    for (size_t k = 1; k < close; ++k)
      if (!std::isxdigit(static_cast<unsigned char>(rest[k])) && rest[k] != ':'
          && rest[k] != '.')
        return false;
    i = close + 1;
  } else {
    while (i < rest.size() && rest[i] != ':') {
      auto c = static_cast<unsigned char>(rest[i]);
      if (!(std::islower(c) || std::isdigit(c) || c == '.' || c == '-'))
        return false;
      ++i;
    }
    if (i == 0)
      return false;
  }
  if (i == rest.size())
    return true;
  if (rest[i] != ':' || i + 1 == rest.size() || rest.size() - i - 1 > 5)
    return false;
  for (size_t k = i + 1; k < rest.size(); ++k)
    if (!std::isdigit(static_cast<unsigned char>(rest[k])))
      return false;
  return true;
}

} // namespace

std::string cors_origins_error(const std::string& list) {
  auto items = parse_cors_origins(list);
  if (list.find_first_not_of(" \t") != std::string::npos && items.empty())
    return "no origin in the list";
  for (auto& o : items) {
    if (o == "*") {
      if (items.size() > 1)
        return "'*' stands alone: it already allows every origin";
      continue;
    }
    if (!is_origin(o))
      return "'" + o + "' is not an origin: write scheme://host or "
             "scheme://host:port (http or https, lower case, no path or "
             "trailing slash), e.g. https://app.example.com";
  }
  return "";
}

} // namespace jobd
