#include "http/config.hpp"

#include <boost/asio/ip/address.hpp>

namespace jobd {

std::string bind_address_error(const std::string& address) {
  boost::system::error_code ec;
  boost::asio::ip::make_address(address, ec);
  return ec ? "not an IP address such as 127.0.0.1 or ::1" : "";
}

} // namespace jobd
