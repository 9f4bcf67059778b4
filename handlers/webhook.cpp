#include "handlers/webhook.hpp"

#include "handlers/http_text.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <utility>
#include <vector>

#include <curl/curl.h>

#include "handlers/hmac.hpp"
#include "handlers/upstream_text.hpp"

namespace jobd {

namespace {

// How much of a receiver's words an error quotes, in bytes (after the
// secret is removed). A hostile receiver must not fill the error column.
constexpr size_t body_quote_bytes = 300;
constexpr size_t curl_detail_quote_bytes = 300;

// What one transfer collects; the curl callbacks write into it.
struct transfer {
  const run_context* ctx = nullptr;
  std::string body;
  bool body_too_big = false;
  long status = 0;            ///< from the last status line
  std::string retry_after;    ///< raw header value (read only as a number/date)
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto& t = *static_cast<transfer*>(user);
  auto len = size * n;
  if (static_cast<int64_t>(t.body.size() + len) > webhook_max_reply_bytes) {
    t.body_too_big = true;
    return 0; // aborts the transfer with CURLE_WRITE_ERROR
  }
  t.body.append(data, len);
  return len;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto& t = *static_cast<transfer*>(user);
  auto len = size * n;
  std::string name, value;
  switch (read_header_line({data, len}, t.status, name, value)) {
    case header_line::status: // a new response (after a 100)
      t.retry_after.clear();
      break;
    case header_line::field:
      if (name == "retry-after")
        t.retry_after = value.substr(0, 100);
      break;
    case header_line::other:
      break;
  }
  return len;
}

int on_progress(void* user, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  auto& t = *static_cast<transfer*>(user);
  return t.ctx->is_cancelled() ? 1 : 0; // non-zero aborts the transfer
}

} // namespace

std::string url_for_messages(const std::string& url) {
  return url.substr(0, url.find_first_of("?#"));
}

ms_t retry_after_ms_of(const std::string& value, ms_t now_ms) {
  auto v = trim_space(value);
  if (v.empty())
    return 0;
  char* end = nullptr;
  double secs = std::strtod(v.c_str(), &end);
  if (end != v.c_str() && *end == '\0') {
    if (!(secs > 0))
      return 0;
    return static_cast<ms_t>(std::min<double>(
      std::ceil(secs * 1000), static_cast<double>(webhook_max_retry_after_ms)));
  }
  // An HTTP date ("Wed, 21 Oct 2026 07:28:00 GMT"), read by libcurl.
  auto at = curl_getdate(v.c_str(), nullptr);
  if (at < 0)
    return 0;
  auto delay = static_cast<ms_t>(at) * 1000 - now_ms;
  return std::clamp<ms_t>(delay, 0, webhook_max_retry_after_ms);
}

webhook_handler::webhook_handler(std::string type, webhook_config cfg,
                                 std::optional<payload_schema> schema,
                                 std::shared_ptr<const clock_source> clock)
  : type_(std::move(type)),
    cfg_(std::move(cfg)),
    schema_(std::move(schema)),
    clock_(std::move(clock)) {
  init_curl_once();
}

std::optional<field_error>
webhook_handler::validate(std::string_view payload) const {
  if (auto err = job_handler::validate(payload))
    return err;
  return schema_ ? schema_->check(payload) : std::nullopt;
}

outcome webhook_handler::run(const job& j, run_context& ctx) {
  if (auto fe = validate(j.payload))
    return outcome::failure(fe->field + ": " + fe->message, true);
  const auto& secret = cfg_.secret;
  const auto shown_url = url_for_messages(cfg_.url);
  const auto timestamp = std::to_string(clock_->now_ms() / 1000);

  std::unique_ptr<CURL, curl_easy_deleter> curl{curl_easy_init()};
  if (!curl)
    return outcome::failure("cannot initialise libcurl (out of memory?)");
  std::vector<std::string> lines = {
    "Content-Type: application/json",
    "Accept: application/json",
    "Expect:", // no 100-continue round trip
    "X-Jobd-Job-Id: " + j.id,
    "X-Jobd-Attempt: " + std::to_string(j.attempt),
    "X-Jobd-Type: " + type_,
    "X-Jobd-Timestamp: " + timestamp,
  };
  if (!secret.empty())
    lines.push_back("X-Jobd-Signature: sha256="
                    + hmac_sha256_hex(secret, timestamp + "." + j.payload));
  std::unique_ptr<curl_slist, curl_slist_deleter> headers;
  for (auto& h : lines) {
    auto l = curl_slist_append(headers.get(), h.c_str());
    if (l == nullptr)
      return outcome::failure("cannot build the request headers (out of "
                              "memory?)");
    headers.release();
    headers.reset(l);
  }
  transfer t;
  t.ctx = &ctx;
  char errbuf[CURL_ERROR_SIZE] = {0};
  auto* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, cfg_.url.c_str());
  // Only HTTP(S), and no redirects (curl's default): the signed payload
  // goes to the configured receiver only.
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, j.payload.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(j.payload.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_USERAGENT, "jobd");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); // we run in many threads
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(
                     std::min(cfg_.timeout_ms, webhook_connect_timeout_ms)));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, static_cast<long>(cfg_.timeout_ms));
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
  curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
  curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
  curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
  curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
  curl_easy_setopt(h, CURLOPT_XFERINFODATA, &t);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  auto rc = curl_easy_perform(h);

  const auto where = "the webhook " + shown_url;
  if (rc != CURLE_OK) {
    // libcurl's message may quote what the receiver sent: upstream text.
    auto detail
      = upstream_text{errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc)}
          .sanitised(secret, curl_detail_quote_bytes);
    if (rc == CURLE_ABORTED_BY_CALLBACK)
      return outcome::failure("cancelled during the call to " + where);
    if (rc == CURLE_OPERATION_TIMEDOUT)
      return outcome::failure(where + " did not answer within "
                              + std::to_string(cfg_.timeout_ms) + " ms ("
                              + detail + "); raise types." + type_
                              + ".timeout_ms if it is just slow");
    if (rc == CURLE_WRITE_ERROR && t.body_too_big)
      // After a 2xx the receiver has done the work: do not send it again.
      return outcome::failure(
        where + " answered HTTP " + std::to_string(t.status)
          + " with a body over "
          + std::to_string(webhook_max_reply_bytes) + " bytes",
        t.status >= 200 && t.status <= 299);
    return outcome::failure("cannot reach " + where + " (" + detail + ")");
  }
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  upstream_text body{std::move(t.body)};
  auto code = std::to_string(status);
  if (status >= 200 && status <= 299) {
    std::string why;
    auto result = result_json_of(body, secret, why);
    if (!result)
      return outcome::failure(where + " answered HTTP " + code
                                + " with a body that is not JSON (" + why
                                + "); the receiver must reply with JSON or "
                                  "an empty body",
                              true);
    return outcome::success(std::move(*result));
  }
  auto quote = body.empty() ? std::string{"(empty body)"}
                            : body.sanitised(secret, body_quote_bytes);
  auto msg = where + " answered HTTP " + code + ": " + quote;
  if (status == 429 || (status >= 500 && status <= 599))
    return outcome::failure(
      msg, false, retry_after_ms_of(t.retry_after, clock_->now_ms()));
  if (status >= 300 && status <= 399)
    return outcome::failure(msg + "; redirects are not followed: set types."
                              + type_ + ".url to the final address",
                            true);
  return outcome::failure(msg, true);
}

} // namespace jobd
