#include "handlers/builtin.hpp"

#include "handlers/echo.hpp"

namespace jobd {

std::optional<std::string> validate_builtin_config(const builtin_config& cfg) {
  if (auto err = validate_openai_config(cfg.openai))
    return err;
  if (auto err = validate_export_config(cfg.fine_tune_export))
    return err;
  if (auto err = validate_chat_config(cfg.preview, "preview"))
    return err;
  return validate_chat_config(cfg.recap, "recap");
}

const std::vector<std::string>& builtin_type_names() {
  static const std::vector<std::string> names = {
    echo_type, fine_tune_export_type, preview_generation_type,
    recap_generation_type};
  return names;
}

void register_builtin_handlers(handler_registry& registry,
                               const builtin_config& cfg,
                               std::shared_ptr<const clock_source> clock) {
  auto openai = with_openai_env(cfg.openai);
  registry.add(echo_type, std::make_shared<echo_handler>());
  registry.add(fine_tune_export_type,
               std::make_shared<fine_tune_export_handler>(cfg.fine_tune_export));
  registry.add(preview_generation_type,
               std::make_shared<chat_completion_handler>(
                 preview_generation_type, "preview", openai, cfg.preview,
                 clock));
  registry.add(recap_generation_type,
               std::make_shared<chat_completion_handler>(
                 recap_generation_type, "recap", openai, cfg.recap,
                 std::move(clock)));
}

} // namespace jobd
