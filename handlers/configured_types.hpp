// Job types defined in the config file, without code: one [types.NAME]
// section each, NAME being the job type (upper-case letters, digits and
// underscores, starting with a letter; not a built-in type's name).
//
//   [types.SEND_EMAIL]
//   handler = webhook                  # or exec
//   url = https://mail.internal/jobs   # webhook: where jobs are POSTed
//   secret_env = SEND_EMAIL_SECRET     # webhook: signing key, from the env
//   schema = {"required":["to"],"properties":{"to":{"type":"string"}}}
//   timeout_ms = 10000
//   max_concurrency = 4
//
//   [types.THUMBNAIL]
//   handler = exec
//   command = ["/usr/bin/python3", "/opt/jobs/thumbnail.py"]
//   cwd = /opt/jobs
//   max_output_bytes = 65536
//
// Keys: handler (required: webhook, exec or external); schema (optional, see
// handlers/payload_schema.hpp); timeout_ms (1..3600000; default 30000 for
// webhook, 60000 for exec); max_concurrency (0..1024, default 0 = only the
// pool size limits it); webhook only: url (required), secret or
// secret_env (optional, not both); exec only: command (required), cwd,
// max_output_bytes (1..1073741824, default 1048576).
//
//   [types.SEND_SMS]
//   handler = external                 # run by workers outside jobd
//   schema = {"required":["to"]}
//
// handler = external: jobs of the type are enqueued and validated here but
// run by workers in any language over HTTP (POST /api/worker/fetch, see
// http/worker_api.hpp); no process of jobd claims them itself. Only
// `schema` applies.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "handlers/builtin.hpp"
#include "handlers/exec.hpp"
#include "handlers/handler.hpp"
#include "handlers/payload_schema.hpp"
#include "handlers/webhook.hpp"
#include "storage/clock.hpp"

namespace jobd {

/// The handler of a type served by external workers: validates payloads
/// (the type's schema, if any) so enqueues are checked as for any type;
/// in_process() is false, so no worker of jobd claims its jobs and run()
/// is never called (it fails permanently, saying why, should it be).
class external_handler final : public job_handler {
public:
  external_handler(std::string type, std::optional<payload_schema> schema)
    : type_(std::move(type)), schema_(std::move(schema)) {}
  std::optional<field_error> validate(std::string_view payload) const override;
  outcome run(const job& j, run_context& ctx) override;
  bool in_process() const override { return false; }

private:
  std::string type_;
  std::optional<payload_schema> schema_;
};

/// The keys a [types.NAME] section may have, in the order the docs list
/// them.
const std::vector<std::string>& type_setting_keys();

/// One [types.NAME] section as read. Values are checked one by one as they
/// are set (set_type_setting), and together by validate_type_config.
struct type_config {
  /// "webhook", "exec" or "external"; "" = not given (refused).
  std::string handler;
  /// The payload schema as written; "" = none.
  std::string schema;
  /// Attempt timeout in ms; nullopt = the handler's default.
  std::optional<int32_t> timeout_ms;
  /// 0 = no limit but the pool size.
  int32_t max_concurrency = 0;
  /// webhook
  std::string url;
  std::string secret;     ///< never logged, never quoted in an error
  std::string secret_env; ///< the variable holding the secret
  /// exec
  std::vector<std::string> command;
  std::string cwd;
  std::optional<int64_t> max_output_bytes;
  /// The keys given, in order (a key of the other handler is refused).
  std::vector<std::string> keys;
};

/// Sets `key` of `t` from its text. Returns "" or why the value is
/// refused (never quoting a secret; a secret is only checked by
/// validate_type_config).
std::string set_type_setting(type_config& t, const std::string& key,
                             const std::string& value);

/// The attempt timeout of the type: its timeout_ms, else 30000 (webhook)
/// or 60000 (exec). Not for handler = external (no attempt of it runs in
/// jobd).
int32_t type_timeout_ms(const type_config& t);

/// Reads the environment (injectable for tests).
using getenv_fn = std::function<const char*(const char*)>;

/// Checks one section as a whole. Returns nullopt or one line naming the
/// setting: "types.SEND_EMAIL.url: must start with http:// or https://".
/// Reads the environment for secret_env (the variable must be set and not
/// empty), and the file system for cwd (a directory) and an absolute
/// command[0] (an executable file).
std::optional<std::string> validate_type_config(const std::string& name,
                                                const type_config& t,
                                                const getenv_fn& getenv = {});

/// Registers the built-in types (register_builtin_handlers) and then each
/// configured type: the one way a jobd process builds its registry.
/// REQUIRES: validate_builtin_config(builtin) and validate_type_config of
/// each type returned nullopt; clock != null.
void register_handlers(handler_registry& registry,
                       const builtin_config& builtin,
                       const std::map<std::string, type_config>& types,
                       std::shared_ptr<const clock_source> clock,
                       const getenv_fn& getenv = {});

} // namespace jobd
