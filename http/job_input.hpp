// Reading and validating what clients send: job bodies (single, batch) and
// patches, and the list query. Every refusal names the field and what is
// accepted, e.g. field "jobs[2].priority", message
// "jobs[2].priority must be a whole number, got \"high\"".
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "handlers/handler.hpp"
#include "storage/job.hpp"

namespace jobd {

/// Why input was refused: HTTP status, error code, message, field.
struct input_error {
  unsigned status = 400;
  std::string code = "invalid_field";
  std::string message;
  /// The offending field's path ("jobs[2].priority", "status"), or "" when
  /// the request body as a whole is wrong (not JSON, not an object, no job).
  /// Sent as error.field either way.
  std::string field;
};

struct job_input_limits {
  size_t max_depth = 64;
  size_t max_batch_jobs = 10'000;
};

/// Parses a POST /api/jobs or /api/jobs/batch body into jobs, validating
/// each payload with the registry. `batch_route` is true for
/// /api/jobs/batch (body {"jobs":[...]}); for /api/jobs the body is one job
/// object or an array of them. Sets `many` when the reply must be a list.
std::optional<input_error> parse_jobs_body(std::string_view body,
                                           bool batch_route,
                                           const handler_registry& handlers,
                                           const job_input_limits& limits,
                                           std::vector<new_job>& out,
                                           bool& many);

/// Parses a PATCH /api/jobs/{id} body.
std::optional<input_error> parse_patch_body(std::string_view body,
                                            const job_input_limits& limits,
                                            job_patch& out);

/// Parses a POST /api/jobs/{id}/cancel body: empty, or {"reason": "...",
/// "by": "..."} (both optional; text without control characters, at most
/// max_cancel_reason_bytes and max_cancel_by_bytes, storage/rules.hpp). Sets `note` to the cancelled job's error text
/// (cancel_note).
std::optional<input_error> parse_cancel_body(std::string_view body,
                                             const job_input_limits& limits,
                                             std::string& note);

/// Parses a POST /api/types/{type}/pause body, as a cancel body; sets
/// `note` to the pause's note (pause_note).
std::optional<input_error> parse_pause_body(std::string_view body,
                                            const job_input_limits& limits,
                                            std::string& note);

/// Parses a POST /api/jobs/bulk body: {"action": "retry" | "cancel" |
/// "delete" (required), "status", "type", "finishedBefore" (ISO time;
/// delete only), "max" (1..max_bulk_max, default default_bulk_max),
/// "reason" and "by" (cancel only, as a cancel body)}. Checks each field's
/// shape; what a field may say for the action (validate_bulk) the caller
/// checks with the server's types.
std::optional<input_error> parse_bulk_body(std::string_view body,
                                           const job_input_limits& limits,
                                           bulk_request& out);

/// Parses a PUT /api/schedules/{name} body into `out` (whose name the
/// caller sets): {"cron", "type", "payload"?, "timeZone"?, "priority"?,
/// "maxRetries"?, "missed"?, "catchUpMs"?}. The cron expression must parse,
/// the zone load, the type be one the registry runs and the payload pass
/// its validation; each refusal names the field.
std::optional<input_error> parse_schedule_body(std::string_view body,
                                               const handler_registry& handlers,
                                               const job_input_limits& limits,
                                               schedule& out);

// -- the worker protocol (http/worker_api.hpp) --------------------------------

/// The longest worker id (bytes).
constexpr size_t max_worker_id_bytes = 100;
/// The longest error an external worker may report (bytes; longer is cut).
constexpr size_t max_worker_error_bytes = 2000;
/// Fetch limits: jobs per fetch, the longest wait, the lease range.
constexpr int32_t max_worker_fetch = 100;
constexpr int64_t max_worker_wait_ms = 60'000;
constexpr int64_t min_worker_lease_ms = 1'000;
constexpr int64_t max_worker_lease_ms = 3'600'000;

/// POST /api/worker/fetch: {"worker", "types": [...], "max"?, "waitMs"?,
/// "leaseMs"?, "host"?}.
struct worker_fetch {
  std::string worker;              ///< 1..100 bytes, no control characters
  /// Where the worker runs, for the dashboard: 1..max_worker_host_bytes
  /// without control characters; "" = not said.
  std::string host;
  std::vector<std::string> types;  ///< 1..50 names, each checked by the caller
  int32_t max = 1;                 ///< 1..100
  int64_t wait_ms = 0;             ///< 0..60000: long-poll up to this long
  int64_t lease_ms = 0;            ///< 1000..3600000; 0 = the server's lease
};

/// POST /api/worker/complete and /fail: {"worker", "id", "attempt", and
/// "result"? (complete) or "error", "retryable"?, "retryAfterMs"? (fail)}.
struct worker_report {
  std::string worker;
  lease_ref ref;
  std::string result = "null"; ///< JSON text (complete)
  std::string error;           ///< cleaned, cut to max_worker_error_bytes
  bool retryable = true;
  int64_t retry_after_ms = 0;  ///< 0..86400000
};

/// POST /api/worker/heartbeat: {"worker", "jobs": [{"id", "attempt"}],
/// "leaseMs"?}.
struct worker_beat {
  std::string worker;
  std::vector<lease_ref> jobs; ///< 0..1000
  int64_t lease_ms = 0;        ///< as worker_fetch::lease_ms
};

/// POST /api/worker/complete-all: {"worker", "jobs": [{"id", "attempt",
/// "result"?}]} (1..1000 jobs).
struct worker_completions {
  std::string worker;
  std::vector<completion> jobs;
};

/// Parse the worker protocol's bodies; each refusal names its field.
std::optional<input_error>
parse_worker_completions(std::string_view body,
                         const job_input_limits& limits,
                         worker_completions& out);
std::optional<input_error> parse_worker_fetch(std::string_view body,
                                              const job_input_limits& limits,
                                              worker_fetch& out);
std::optional<input_error> parse_worker_report(std::string_view body,
                                               const job_input_limits& limits,
                                               bool fail, worker_report& out);
std::optional<input_error> parse_worker_beat(std::string_view body,
                                             const job_input_limits& limits,
                                             worker_beat& out);

/// Parses GET /api/jobs's query string (status, type, q, limit, cursor).
std::optional<input_error> parse_list_query(std::string_view query,
                                            job_filter& out);

/// Splits a query string into decoded (name, value) pairs. Returns an
/// error naming the parameter on a malformed escape.
std::optional<input_error>
parse_query(std::string_view query,
            std::vector<std::pair<std::string, std::string>>& out);

} // namespace jobd
