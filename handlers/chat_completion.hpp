// PREVIEW_GENERATION and RECAP_GENERATION: one chat completion from an
// OpenAI-compatible API per job. One handler class; each job type is an
// instance with its own settings (system prompt, defaults, timeout,
// concurrency, rate limits).
//
// Payload: {"prompt": string (non-empty),
//           "model": string (non-empty; default from the config),
//           "temperature": number 0..2 (default from the config),
//           "maxTokens": whole number 1..128000 (default from the config)}
// Result:  {"prompt": ..., "content": <the reply>, "model": <the model the
//           API reports, else the one asked for>,
//           "usage": {"prompt_tokens": N, "completion_tokens": N,
//                     "total_tokens": N}}
//
// Request: POST {base_url}/chat/completions, "Authorization: Bearer <key>",
// body {"model", "messages": [system (if configured), user], "temperature",
// "max_tokens"}, plus "stream": true and "stream_options":
// {"include_usage": true} when openai.stream is on (the default).
//
// Streaming: a text/event-stream reply is read as it arrives, one
// "data: {chunk}" line per event, until "data: [DONE]": the content is the
// chunks' choices[0].delta.content joined, the model the chunks' model, the
// usage the last chunk's. After each piece of content the job reports
// progress "N tokens received" (N the pieces so far, about one token
// each; fraction N / maxTokens, at most 0.99). Any other reply (a server
// that ignores "stream") is read as one JSON completion, as without it.
//
// The API key is a secret: it is sent only in the Authorization header and
// never logged, never put in a result or an error. The server's answer is
// untrusted (it may echo the key in any field, or in its content): every
// string read from it is an upstream_text and reaches an error or a result
// only through its sanitiser, which replaces the key and any piece of it of
// 8+ characters with "[redacted]" before cutting the text to length (see
// handlers/upstream_text.hpp).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "handlers/handler.hpp"
#include "handlers/rate_limiter.hpp"
#include "storage/clock.hpp"

namespace jobd {

/// Job type names.
constexpr const char* preview_generation_type = "PREVIEW_GENERATION";
constexpr const char* recap_generation_type = "RECAP_GENERATION";

/// OpenAI's public endpoint, used when neither the config nor the
/// environment names another.
constexpr const char* openai_default_base_url = "https://api.openai.com/v1";

/// Settings shared by the OpenAI handlers (INI section [openai]).
struct openai_config {
  /// The API key. Default "": taken from the OPENAI_API_KEY environment
  /// variable (see with_openai_env). Never logged.
  std::string api_key;
  /// The API's base URL, without "/chat/completions". Default "": taken
  /// from OPENAI_BASE_URL, else "https://api.openai.com/v1".
  std::string base_url;
  /// The model when neither the payload nor the type's config names one.
  /// Default "gpt-4o-mini".
  std::string model = "gpt-4o-mini";
  /// How long to wait for the TCP/TLS connection, in ms. Default 10000.
  int32_t connect_timeout_ms = 10'000;
  /// The largest response body accepted, in bytes; a larger one is an
  /// error. For a streamed reply, all its events together. Default 8 MiB.
  int64_t max_response_bytes = 8 * 1024 * 1024;
  /// Ask for the completion as a stream of events ("stream": true, with
  /// the usage at the end), so a job reports the tokens received as they
  /// come. A server that answers with one JSON body anyway still works;
  /// set false for one that refuses the fields. Default true.
  bool stream = true;
};

/// Fills `api_key` and `base_url` left empty from the environment
/// (OPENAI_API_KEY, OPENAI_BASE_URL), then `base_url` from
/// openai_default_base_url, as OpenAI's SDKs do. Values set in the config
/// win. `getenv` is injectable for tests.
openai_config
with_openai_env(openai_config cfg,
                const std::function<const char*(const char*)>& getenv = {});

/// Checks an openai_config; the message names the setting ("openai.*").
/// An empty api_key is accepted here: jobs then fail with a clear message,
/// so a server without a key still runs its other job types.
std::optional<std::string> validate_openai_config(const openai_config& cfg);

/// What one GET {base_url}/models says about reaching the API with
/// `cfg`'s key (cfg as with_openai_env made it), for `jobd doctor`.
struct openai_probe {
  /// The HTTP status; 0 = no answer (detail says why).
  long status = 0;
  /// One line: what happened, never the key.
  std::string detail;
};
/// Sends the request (the key as a bearer token if there is one), waits at
/// most `timeout_ms`, reads no more than the status.
openai_probe probe_openai(const openai_config& cfg, long timeout_ms);

/// Settings of one chat job type (INI sections [preview] and [recap]).
/// Defaults differ per type: see preview_config_defaults() and
/// recap_config_defaults(); the values below are the preview defaults.
struct chat_config {
  /// System message sent before the prompt; empty = none.
  /// Default: a preview/recap instruction (see the defaults functions).
  std::string system_prompt;
  /// The model for this type when the payload names none; empty = the
  /// [openai] model. Default "".
  std::string model;
  /// Sampling temperature when the payload gives none, 0..2.
  /// Default 0.7 (preview), 0.3 (recap).
  double temperature = 0.7;
  /// max_tokens when the payload gives none, 1..128000.
  /// Default 512 (preview), 1024 (recap).
  int32_t max_tokens = 512;
  /// The whole HTTP exchange must finish within this, in ms; the transfer
  /// is aborted and the job retried. Default 60000 (preview), 120000 (recap).
  int32_t timeout_ms = 60'000;
  /// Jobs of this type running at once in one process; 0 = no limit but
  /// the pool size. Default 4 (preview), 2 (recap).
  int32_t max_concurrency = 4;
  /// Requests per minute for this type; 0 = unlimited. Default 0.
  int64_t requests_per_minute = 0;
  /// Tokens (prompt + completion) per minute for this type; 0 = unlimited.
  /// Default 0.
  int64_t tokens_per_minute = 0;
};

chat_config preview_config_defaults();
chat_config recap_config_defaults();

/// Checks a chat_config; the message names the setting as
/// "<section>.<name>", e.g. "preview.timeout_ms must be 1..3600000 ...".
std::optional<std::string> validate_chat_config(const chat_config& cfg,
                                                const std::string& section);

/// Thread-safe: run() may be called from several handler actors at once;
/// they share the type's rate limiter.
class chat_completion_handler final : public job_handler {
public:
  /// `type` names the job type in messages ("PREVIEW_GENERATION");
  /// `section` is the config section of `cfg` ("preview"), named in hints
  /// such as "raise preview.timeout_ms". `openai` is used as given (apply with_openai_env first for the
  /// environment). `clock` and `sleep` drive the rate limiter.
  /// REQUIRES: both configs passed their validate function; clock != null.
  chat_completion_handler(std::string type, std::string section,
                          openai_config openai, chat_config cfg,
                          std::shared_ptr<const clock_source> clock,
                          sleep_fn sleep = sleep_real);

  /// Refuses, naming the field: not a JSON object; "payload.prompt"
  /// missing, not a string or empty; "payload.model" not a non-empty
  /// string; "payload.temperature" not a number 0..2; "payload.maxTokens"
  /// not a whole number 1..128000. null counts as absent for the optional
  /// fields; unknown fields are ignored.
  std::optional<field_error> validate(std::string_view payload) const override;

  /// Waits for rate-limit budget (returns a retryable failure if cancelled
  /// meanwhile), then makes the call. Outcomes:
  /// - 2xx with a well-formed completion: success, result as above.
  /// - Permanent failure: bad payload; no API key; HTTP 4xx other than
  ///   408, 409 and 429 (the API's error.message and error.code are
  ///   quoted, sanitised and cut to length); 429 with
  ///   error code "insufficient_quota" (retrying cannot help until billing
  ///   is fixed).
  /// - Retryable failure: 429 (retry_after_ms from Retry-After seconds, or
  ///   retry-after-ms, if sent), 408, 409, 5xx, connect or total timeout,
  ///   connection errors, a malformed or unexpected response (a stream:
  ///   an event that is not JSON, an "error" event, or an end before
  ///   [DONE] or a finish_reason), cancellation.
  ///   The message says what happened, never that a retry will follow:
  ///   whether one does is decided by the retry actor (maxRetries).
  outcome run(const job& j, run_context& ctx) override;

  int32_t max_concurrency() const override { return cfg_.max_concurrency; }

  const std::string& type() const { return type_; }
  const chat_config& config() const { return cfg_; }
  rate_limiter& limiter() { return limiter_; }

private:
  std::string type_;
  std::string section_;
  openai_config openai_;
  chat_config cfg_;
  rate_limiter limiter_;
};

} // namespace jobd
