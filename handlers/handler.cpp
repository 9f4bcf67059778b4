#include "handlers/handler.hpp"

#include "storage/json_text.hpp"
#include "storage/rules.hpp"

namespace jobd {

std::optional<field_error> job_handler::validate(std::string_view payload) const {
  if (!is_json_object(payload))
    return field_error{"payload", "must be a JSON object"};
  return std::nullopt;
}

void progress_slot::report(double fraction, std::string_view message) {
  auto f = progress_fraction(fraction);
  auto text = progress_text(message);
  std::lock_guard<std::mutex> guard{mutex_};
  fraction_ = f;
  message_ = std::move(text);
  fresh_ = true;
}

std::optional<std::pair<double, std::string>> progress_slot::take() {
  std::lock_guard<std::mutex> guard{mutex_};
  if (!fresh_)
    return std::nullopt;
  fresh_ = false;
  return std::make_pair(fraction_, message_);
}

void progress_slot::reset() {
  std::lock_guard<std::mutex> guard{mutex_};
  fraction_ = -1;
  message_.clear();
  fresh_ = false;
}

std::vector<std::string> handler_registry::in_process_types() const {
  std::vector<std::string> out;
  for (auto& kv : handlers_)
    if (kv.second->in_process())
      out.push_back(kv.first);
  return out;
}

std::vector<std::string> handler_registry::external_types() const {
  std::vector<std::string> out;
  for (auto& kv : handlers_)
    if (!kv.second->in_process())
      out.push_back(kv.first);
  return out;
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
