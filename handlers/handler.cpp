#include "handlers/handler.hpp"

#include "storage/json_text.hpp"

namespace jobd {

std::optional<field_error> job_handler::validate(std::string_view payload) const {
  if (!is_json_object(payload))
    return field_error{"payload", "must be a JSON object"};
  return std::nullopt;
}

std::optional<field_error>
handler_registry::validate(const std::string& type,
                           std::string_view payload) const {
  auto h = find(type);
  if (!h) {
    std::string known;
    for (auto& t : types())
      known += (known.empty() ? "" : ", ") + t;
    return field_error{"type", "unknown job type '" + type
                                 + "'; known types: " + known};
  }
  return h->validate(payload);
}

} // namespace jobd
