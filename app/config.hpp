// The whole configuration of a jobd process: one struct per service, filled
// from conf/jobd.ini (or --config FILE) and then from command-line flags,
// and validated before anything starts.
#pragma once

#include <map>
#include <string>

#include "app/caf_tuning.hpp"
#include "actors/runtime.hpp"
#include "app/settings.hpp"
#include "handlers/builtin.hpp"
#include "handlers/configured_types.hpp"
#include "http/config.hpp"
#include "storage/store.hpp"

namespace jobd {

struct jobd_config {
  store_options storage;     ///< [storage]
  runtime_config runtime;    ///< [worker], [retry] and [retention]
  builtin_config handlers;   ///< [openai] [export] [preview] [recap]
  http_config http;          ///< [http] (serve only)
  caf_tuning caf;            ///< [runtime]: CAF scheduler threads
  /// [schedule.NAME] sections: recurring schedules this process writes to
  /// the store at start (source "config"), by name.
  std::map<std::string, schedule> schedules;
  /// [types.NAME] sections: job types defined without code (webhook,
  /// exec), by name. See handlers/configured_types.hpp.
  std::map<std::string, type_config> types;
  /// [log] (see actors/log.hpp).
  struct log_settings {
    /// "text" or "json". Default "text".
    std::string format = "text";
    /// "debug", "info", "warn" or "error". Default "info".
    std::string level = "info";
    /// Whether job lines (claimed, failed) carry the payload. Default
    /// false.
    bool payloads = false;
  } log;
  /// worker.heartbeat_interval is "auto" (the default): derive_settings
  /// sets it from worker.lease. False once a file, flag or --set gives a
  /// duration.
  bool auto_heartbeat_interval = true;
  /// worker.rescue_interval is "auto" (the default), as above.
  bool auto_rescue_interval = true;
};

/// The automatic worker.heartbeat_interval: a third of the lease, so two
/// heartbeats can be missed before the lease runs out; at most 10 s (the
/// fixed default of old, reached at the default 30 s lease), at least
/// 100 ms.
int64_t auto_heartbeat_interval_ms(int64_t lease_ms);

/// The automatic worker.rescue_interval: a sixth of the lease, so a dead
/// worker's job waits at most about 1.17 leases; at most 5 s (the fixed
/// default of old, reached at the default 30 s lease), at least 100 ms.
int64_t auto_rescue_interval_ms(int64_t lease_ms);

/// Declares every setting of `cfg` but [http] (bound to its fields) in `s`.
void add_core_settings(settings& s, jobd_config& cfg);

/// Declares the [http] settings (http.port, http.bind, ...), bound to `cfg`.
/// Declared after add_core_settings, so `jobd config defaults` lists them
/// last.
void add_http_settings(settings& s, http_config& cfg);

/// Fills in the settings left "auto" (worker.heartbeat_interval,
/// worker.rescue_interval) from worker.lease, using the functions above.
/// Call it after the file and the flags are applied, before
/// validate_config: load_config (app/cli.hpp) does both.
void derive_settings(jobd_config& cfg);

/// Builds a process's handler registry: the built-in types, then the
/// [types.NAME] ones (register_handlers). Every command that needs the job
/// types calls this. REQUIRES: validate_config(cfg) returned "".
void register_configured_handlers(handler_registry& registry,
                                  const jobd_config& cfg,
                                  std::shared_ptr<const clock_source> clock);

/// Checks settings that depend on each other. Returns "" or a message that
/// names the settings and the fix.
std::string validate_config(const jobd_config& cfg);

} // namespace jobd
