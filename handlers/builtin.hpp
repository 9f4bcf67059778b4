// The job types jobd ships with, and the settings they read from the config
// file. The lead's config loader fills a builtin_config from conf/jobd.ini
// (sections [openai], [export], [preview], [recap]), checks it with
// validate_builtin_config, then calls register_builtin_handlers once at
// start-up.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "handlers/chat_completion.hpp"
#include "handlers/fine_tune_export.hpp"
#include "handlers/handler.hpp"
#include "storage/clock.hpp"

namespace jobd {

/// Settings of all built-in handlers, one member per INI section.
struct builtin_config {
  openai_config openai;                          ///< [openai]
  export_config fine_tune_export;                ///< [export]
  chat_config preview = preview_config_defaults(); ///< [preview]
  chat_config recap = recap_config_defaults();     ///< [recap]
};

/// Checks every section; returns the first problem, naming the setting
/// ("recap.timeout_ms must be ..."), or nullopt. Checks `cfg.openai` as
/// given: call it on the result of with_openai_env to check the
/// environment's values too.
std::optional<std::string> validate_builtin_config(const builtin_config& cfg);

/// The built-in job types' names, sorted: ECHO, FINE_TUNE_EXPORT,
/// PREVIEW_GENERATION, RECAP_GENERATION. A configured type
/// ([types.NAME]) may not take one of them.
const std::vector<std::string>& builtin_type_names();

/// Registers ECHO, FINE_TUNE_EXPORT, PREVIEW_GENERATION and
/// RECAP_GENERATION. The OpenAI settings are completed from the environment
/// first (with_openai_env: OPENAI_API_KEY, OPENAI_BASE_URL), so a key set
/// only in the environment works. `clock` drives the rate limiters.
/// REQUIRES: validate_builtin_config(cfg) returned nullopt; clock != null.
void register_builtin_handlers(handler_registry& registry,
                               const builtin_config& cfg,
                               std::shared_ptr<const clock_source> clock);

} // namespace jobd
