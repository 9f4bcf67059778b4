#include "storage/errors.hpp"

#include <caf/deep_to_string.hpp>

namespace jobd {

const char* to_string(errc x) {
  switch (x) {
    case errc::none:
      return "none";
    case errc::not_found:
      return "not_found";
    case errc::conflict:
      return "conflict";
    case errc::invalid:
      return "invalid";
    case errc::busy:
      return "busy";
    case errc::io:
      return "io";
    case errc::schema:
      return "schema";
    case errc::unavailable:
      return "unavailable";
    case errc::shutting_down:
      return "shutting_down";
    case errc::full:
      return "full";
  }
  return "io";
}

bool is_transient(errc code) {
  return code == errc::busy || code == errc::io || code == errc::unavailable
         || code == errc::full;
}

errc code_of(const caf::error& e) {
  if (!e)
    return errc::none;
  if (e.category() != error_category())
    return errc::io;
  return static_cast<errc>(e.code());
}

std::string message_of(const caf::error& e) {
  if (!e)
    return {};
  if (e.category() == error_category() && e.context().match_elements<std::string>())
    return e.context().get_as<std::string>(0);
  return caf::to_string(e);
}

} // namespace jobd
