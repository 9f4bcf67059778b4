// The whole configuration of a jobd process: one struct per service, filled
// from conf/jobd.ini (or --config FILE) and then from command-line flags,
// and validated before anything starts.
#pragma once

#include <string>

#include "actors/retention.hpp"
#include "actors/runtime.hpp"
#include "actors/settings.hpp"
#include "handlers/builtin.hpp"
#include "storage/store.hpp"

namespace jobd {

struct jobd_config {
  store_options storage;     ///< [storage]
  runtime_config runtime;    ///< [worker], [retry] and [retention]
  builtin_config handlers;   ///< [openai] [export] [preview] [recap]
};

/// Declares every setting of `cfg` (bound to its fields) in `s`.
void add_core_settings(settings& s, jobd_config& cfg);

/// Checks settings that depend on each other. Returns "" or a message that
/// names the settings and the fix.
std::string validate_config(const jobd_config& cfg);

} // namespace jobd
