// handler = webhook: a job type defined in the config file ([types.NAME])
// whose jobs are POSTed to a URL. No code: the receiver does the work.
//
// Request: POST <url>, the job's payload as the body, exactly as stored,
// with headers
//   Content-Type: application/json
//   X-Jobd-Job-Id: <job id>
//   X-Jobd-Attempt: <attempt, 1 for the first>
//   X-Jobd-Type: <NAME>
//   X-Jobd-Timestamp: <Unix time of sending, whole seconds>
// and, when the type has a secret,
//   X-Jobd-Signature: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<body>")>
// i.e. the timestamp header's value, a full stop, then the body's exact
// bytes. A receiver recomputes it, compares in constant time, and refuses
// a timestamp far from its clock (a replayed request).
//
// Answer:
// - 2xx: done. The body is the job's result: JSON of any kind (an empty
//   or all-blank body is stored as null); at most webhook_max_reply_bytes.
//   A 2xx body that is not JSON fails the job permanently (the receiver
//   took the job; sending it again would do the work twice).
// - 429 and 5xx: a retryable failure; Retry-After (seconds, or an HTTP
//   date) sets the earliest retry, at most webhook_max_retry_after_ms.
// - Any other status (3xx: redirects are not followed; 4xx): permanent.
// - No answer (connect error, reset, timeout_ms passed): retryable.
// - Cancellation (shutdown, the pool's timeout) aborts the transfer.
//
// The secret is never logged and never put in a result or an error: every
// string from the receiver (body, headers, libcurl's message quoting them)
// is an upstream_text and leaves sanitised, with any piece of the secret
// redacted (handlers/upstream_text.hpp).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "handlers/handler.hpp"
#include "handlers/payload_schema.hpp"
#include "storage/clock.hpp"

namespace jobd {

/// The largest reply body read; a larger one fails the job.
constexpr int64_t webhook_max_reply_bytes = 1024 * 1024;
/// A Retry-After longer than this counts as this (a broken receiver must
/// not park a job for days).
constexpr ms_t webhook_max_retry_after_ms = 3'600'000;
/// Connecting may take at most this long (or timeout_ms if shorter).
constexpr int32_t webhook_connect_timeout_ms = 10'000;

/// One webhook type's settings ([types.NAME] with handler = webhook).
struct webhook_config {
  /// Where jobs are POSTed; http:// or https://, no user:password@.
  std::string url;
  /// The whole exchange must end within this many ms, else the attempt
  /// fails (retryably). Default 30000.
  int32_t timeout_ms = 30'000;
  /// The signing key; empty = requests are not signed. Never logged.
  std::string secret;
  /// Jobs of this type running at once per process; 0 = only the pool
  /// size limits them. Default 0.
  int32_t max_concurrency = 0;
};

/// The URL as messages show it: without its query string (which may hold
/// a token).
std::string url_for_messages(const std::string& url);

/// Thread-safe: run() may be called from several handler actors at once.
class webhook_handler final : public job_handler {
public:
  /// `type` is the job type (sent as X-Jobd-Type); `schema` may be null
  /// (any JSON object is accepted); `clock` gives X-Jobd-Timestamp and the
  /// base of a Retry-After date.
  /// REQUIRES: cfg passed validate_type_config; clock != null.
  webhook_handler(std::string type, webhook_config cfg,
                  std::optional<payload_schema> schema,
                  std::shared_ptr<const clock_source> clock);

  /// A JSON object that satisfies the schema, if any.
  std::optional<field_error> validate(std::string_view payload) const override;
  /// One POST; outcomes as in the file comment.
  outcome run(const job& j, run_context& ctx) override;
  int32_t max_concurrency() const override { return cfg_.max_concurrency; }

private:
  std::string type_;
  webhook_config cfg_;
  std::optional<payload_schema> schema_;
  std::shared_ptr<const clock_source> clock_;
};

/// The Retry-After header's value as a delay from `now_ms`: whole or
/// fractional seconds, or an HTTP date; 0 if absent, past or unreadable;
/// at most webhook_max_retry_after_ms.
ms_t retry_after_ms_of(const std::string& value, ms_t now_ms);

} // namespace jobd
