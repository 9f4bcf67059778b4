#include "handlers/handler.hpp"

#include "storage/json_text.hpp"

namespace jobd {

std::optional<field_error> job_handler::validate(std::string_view payload) const {
  if (!is_json_object(payload))
    return field_error{"payload", "must be a JSON object"};
  return std::nullopt;
}

std::string handler_registry::type_list() const {
  std::string out;
  for (auto& kv : handlers_)
    out += (out.empty() ? "" : ", ") + kv.first;
  return out;
}

std::optional<field_error>
handler_registry::validate(const std::string& type,
                           std::string_view payload) const {
  auto h = find(type);
  if (!h)
    return field_error{"type", "unknown job type '" + type
                                 + "'; known types: " + type_list()};
  return h->validate(payload);
}

} // namespace jobd
