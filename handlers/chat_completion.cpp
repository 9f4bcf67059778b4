#include "handlers/chat_completion.hpp"

#include "handlers/http_text.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <mutex>
#include <utility>
#include <vector>

#include <curl/curl.h>
#include <simdjson.h>

#include "handlers/upstream_text.hpp"
#include "storage/json_text.hpp"

namespace jobd {

namespace {

constexpr double max_temperature = 2.0;
constexpr int64_t max_max_tokens = 128'000;
constexpr int32_t max_timeout_ms = 3'600'000;
// A Retry-After longer than this is treated as this: a broken or hostile
// server should not park a job for days.
constexpr ms_t max_retry_after_ms = 3'600'000;
// How much of the API's words a job's error quotes, in bytes (after the
// key is removed: see handlers/upstream_text.hpp). A hostile server must not
// fill the job table through the error column.
constexpr size_t error_body_quote_bytes = 200; // a body that is not JSON
constexpr size_t error_message_quote_bytes = 500; // error.message
constexpr size_t error_code_quote_bytes = 100; // error.code / error.type
constexpr size_t finish_reason_quote_bytes = 100;
constexpr size_t curl_detail_quote_bytes = 300; // libcurl's message
constexpr size_t model_quote_bytes = 200; // the result's "model"

// -- payload ------------------------------------------------------------------

struct chat_args {
  std::string prompt;
  std::string model;
  double temperature = 0;
  int64_t max_tokens = 0;
};

std::optional<field_error> parse_args(std::string_view payload,
                                      const chat_config& cfg,
                                      const openai_config& openai,
                                      chat_args& out) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded{payload};
  simdjson::dom::element doc;
  simdjson::dom::object obj;
  if (parser.parse(padded).get(doc) || doc.get_object().get(obj))
    return field_error{"payload", "must be a JSON object like "
                                  "{\"prompt\": \"...\"}"};
  out.model = cfg.model.empty() ? openai.model : cfg.model;
  out.temperature = cfg.temperature;
  out.max_tokens = cfg.max_tokens;
  bool has_prompt = false;
  for (auto field : obj) {
    auto key = field.key;
    auto val = field.value;
    if (key == "prompt") {
      std::string_view s;
      if (val.get_string().get(s) || s.empty())
        return field_error{"payload.prompt", "must be a non-empty string"};
      out.prompt = std::string{s};
      has_prompt = true;
    } else if (val.is_null()) {
      continue; // null optional fields mean "use the default"
    } else if (key == "model") {
      std::string_view s;
      if (val.get_string().get(s) || s.empty())
        return field_error{"payload.model",
                           "must be a non-empty string such as "
                           "\"gpt-4o-mini\", or left out"};
      out.model = std::string{s};
    } else if (key == "temperature") {
      double t;
      if (!val.is_number() || val.get_double().get(t) || !(t >= 0)
          || t > max_temperature)
        return field_error{"payload.temperature",
                           "must be a number from 0 to 2, or left out"};
      out.temperature = t;
    } else if (key == "maxTokens") {
      int64_t n;
      if (val.get_int64().get(n) || n < 1 || n > max_max_tokens)
        return field_error{"payload.maxTokens",
                           "must be a whole number from 1 to 128000, or "
                           "left out"};
      out.max_tokens = n;
    }
  }
  if (!has_prompt)
    return field_error{"payload.prompt", "must be a non-empty string"};
  return std::nullopt;
}

std::string format_double(double x) {
  char buf[32];
  auto res = std::to_chars(buf, buf + sizeof(buf), x);
  return std::string(buf, res.ptr);
}

std::string request_body(const chat_args& a, const std::string& system,
                         bool stream) {
  std::string out;
  out.reserve(a.prompt.size() + system.size() + 160);
  out += "{\"model\":";
  append_json_string(out, a.model);
  out += ",\"messages\":[";
  if (!system.empty()) {
    out += "{\"role\":\"system\",\"content\":";
    append_json_string(out, system);
    out += "},";
  }
  out += "{\"role\":\"user\",\"content\":";
  append_json_string(out, a.prompt);
  out += "}],\"temperature\":" + format_double(a.temperature);
  out += ",\"max_tokens\":" + std::to_string(a.max_tokens);
  if (stream)
    out += ",\"stream\":true,\"stream_options\":{\"include_usage\":true}";
  out += '}';
  return out;
}

// -- secrets ------------------------------------------------------------------

bool has_control_or_space(const std::string& s) {
  return std::any_of(s.begin(), s.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c <= 0x20 || c == 0x7f;
  });
}

// -- HTTP ---------------------------------------------------------------------

struct usage {
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t total_tokens = 0;
  bool known = false;
};

// Reads usage {prompt_tokens, completion_tokens, total_tokens} if the
// document has one. Returns what is wrong, if anything.
std::optional<std::string> read_usage(const upstream_json& doc, usage& out) {
  if (!doc.is_object("/usage"))
    return std::nullopt;
  // Bounded, so sums and the rate limiter's arithmetic cannot overflow.
  constexpr int64_t max_tokens = 1'000'000'000'000;
  auto p = doc.int_at("/usage/prompt_tokens");
  auto c = doc.int_at("/usage/completion_tokens");
  if (!p || !c || *p < 0 || *c < 0 || *p > max_tokens || *c > max_tokens)
    return std::string{"usage.prompt_tokens and usage.completion_tokens "
                       "must be whole numbers 0..10^12"};
  auto tot = doc.int_at("/usage/total_tokens");
  int64_t total = tot && *tot >= 0 && *tot <= 2 * max_tokens ? *tot : *p + *c;
  out = usage{*p, *c, total, true};
  return std::nullopt;
}

// A streamed completion (text/event-stream), read as it arrives. Lines end
// with \n (a \r before it is dropped); "data: X" lines carry the events;
// comments (":...") and other fields (event:, id:, retry:) are skipped.
// Everything it keeps from the server is upstream_text.
struct stream_reader {
  std::string pending;      ///< the last line, not finished yet
  upstream_text content;    ///< the delta contents, joined
  upstream_text model;      ///< the first model named
  usage use;
  bool done = false;        ///< "data: [DONE]" seen
  bool finished = false;    ///< a finish_reason seen
  int64_t pieces = 0;       ///< delta contents seen (about one token each)
  std::optional<std::string> problem;       ///< a malformed event: what
  std::optional<upstream_text> error_event; ///< an {"error": ...} event

  void feed(std::string_view bytes, const run_context& ctx,
            int32_t max_tokens) {
    size_t start = 0;
    for (size_t i = 0; i < bytes.size(); ++i)
      if (bytes[i] == '\n') {
        pending.append(bytes.substr(start, i - start));
        line(ctx, max_tokens);
        start = i + 1;
      }
    pending.append(bytes.substr(start));
  }

  /// The end of the body: a last line without its \n counts too.
  void finish(const run_context& ctx, int32_t max_tokens) {
    if (!pending.empty())
      line(ctx, max_tokens);
  }

private:
  void line(const run_context& ctx, int32_t max_tokens) {
    std::string l = std::move(pending);
    pending.clear();
    if (!l.empty() && l.back() == '\r')
      l.pop_back();
    if (done || problem || error_event || l.rfind("data:", 0) != 0)
      return;
    std::string_view data{l};
    data.remove_prefix(5);
    if (!data.empty() && data.front() == ' ')
      data.remove_prefix(1);
    if (data == "[DONE]") {
      done = true;
      return;
    }
    upstream_text event{std::string{data}};
    upstream_json doc{event};
    if (!doc.ok()) {
      problem = "a stream event is not JSON: " + doc.parse_error();
      return;
    }
    if (doc.is_object("/error")) {
      error_event = std::move(event);
      return;
    }
    if (auto m = doc.string_at("/model"); m && !m->empty() && model.empty())
      model = *m;
    if (auto c = doc.string_at("/choices/0/delta/content"); c && !c->empty()) {
      content.append(*c);
      ++pieces;
      ctx.report_progress(
        std::min(0.99, static_cast<double>(pieces) / std::max(1, max_tokens)),
        std::to_string(pieces) + " tokens received");
    }
    if (auto r = doc.string_at("/choices/0/finish_reason"); r && !r->empty())
      finished = true;
    if (auto bad = read_usage(doc, use))
      problem = *bad;
  }
};

// What one transfer collects; the curl callbacks write into it. Its body
// and headers are read only to build a `reply` (below), in which every
// string from the server is an upstream_text.
struct transfer {
  const run_context* ctx = nullptr;
  int64_t max_body = 0;
  bool body_too_big = false;
  std::string body;
  long status = 0;          ///< from the last status line
  int64_t received = 0;     ///< body bytes so far (max_body bounds them)
  bool streamed = false;    ///< a 2xx text/event-stream reply (body unused)
  int32_t max_tokens = 1;   ///< the request's, for the progress fraction
  stream_reader events;     ///< when streamed
  std::vector<std::pair<std::string, std::string>> headers; // lower-case names

  const std::string* header(const std::string& name) const {
    for (auto& kv : headers)
      if (kv.first == name)
        return &kv.second;
    return nullptr;
  }
};

size_t on_body(char* data, size_t size, size_t n, void* user) {
  auto& t = *static_cast<transfer*>(user);
  auto len = size * n;
  if (t.received + static_cast<int64_t>(len) > t.max_body) {
    t.body_too_big = true;
    return 0; // aborts the transfer with CURLE_WRITE_ERROR
  }
  if (t.received == 0) {
    // The headers are in: is this the event stream asked for?
    auto type = t.header("content-type");
    t.streamed = t.status >= 200 && t.status <= 299 && type != nullptr
                 && ascii_lower(*type).rfind("text/event-stream", 0) == 0;
  }
  t.received += static_cast<int64_t>(len);
  // An event stream is read as it comes, never held whole.
  if (t.streamed)
    t.events.feed(std::string_view{data, len}, *t.ctx, t.max_tokens);
  else
    t.body.append(data, len);
  return len;
}

size_t on_header(char* data, size_t size, size_t n, void* user) {
  auto& t = *static_cast<transfer*>(user);
  auto len = size * n;
  std::string name, value;
  switch (read_header_line({data, len}, t.status, name, value)) {
    case header_line::status:
      // A new response (after a 100 Continue or a redirect): only the last
      // response's headers count.
      t.headers.clear();
      break;
    case header_line::field:
      t.headers.emplace_back(std::move(name), std::move(value));
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

// Retry-After as milliseconds: OpenAI's "retry-after-ms", else the standard
// "retry-after" in (possibly fractional) seconds. An HTTP-date is not
// understood and counts as absent (0).
ms_t retry_after_of(const transfer& t) {
  auto parse = [](const std::string& v, double scale) -> ms_t {
    char* end = nullptr;
    double x = std::strtod(v.c_str(), &end);
    if (end == v.c_str() || *end != '\0' || !(x > 0))
      return 0;
    return static_cast<ms_t>(
      std::min<double>(std::ceil(x * scale), max_retry_after_ms));
  };
  if (auto v = t.header("retry-after-ms"))
    if (auto ms = parse(*v, 1))
      return ms;
  if (auto v = t.header("retry-after"))
    return parse(*v, 1000);
  return 0;
}

// A complete answer from the server, as the reply handling sees it.
struct reply {
  long status = 0;
  upstream_text body;
  ms_t retry_after_ms = 0;
};

// The API's own words for an error: error.message and error.code (else
// error.type), else the start of the body. Sanitised here, as they are
// read: nothing else of the body is quoted.
struct api_error {
  std::string message;
  std::string code; ///< "" if none
  bool insufficient_quota = false;
};

api_error api_error_of(const upstream_text& body, const std::string& key) {
  api_error out;
  upstream_json doc{body};
  if (auto m = doc.string_at("/error/message"); m && !m->empty())
    out.message = m->sanitised(key, error_message_quote_bytes);
  auto code = doc.string_at("/error/code");
  if (!code || code->empty())
    code = doc.string_at("/error/type");
  if (code && !code->empty()) {
    out.code = code->sanitised(key, error_code_quote_bytes);
    out.insufficient_quota = code->is("insufficient_quota");
  }
  if (out.message.empty()) // not the usual shape: the start of the body
    out.message = body.empty()
                    ? std::string{"(empty body)"}
                    : body.sanitised(key, error_body_quote_bytes);
  return out;
}

outcome transport_outcome(CURLcode rc, const char* errbuf, const transfer& t,
                          const std::string& url, const std::string& section,
                          const openai_config& openai) {
  // libcurl's message can quote what the server sent (a bad status line or
  // header), so it is upstream text too.
  std::string detail
    = upstream_text{errbuf[0] != '\0' ? errbuf : curl_easy_strerror(rc)}
        .sanitised(openai.api_key, curl_detail_quote_bytes);
  if (rc == CURLE_ABORTED_BY_CALLBACK)
    return outcome::failure("cancelled by shutdown during the API call");
  if (rc == CURLE_OPERATION_TIMEDOUT)
    return outcome::failure("the OpenAI API at " + url
                            + " did not answer in time (" + detail
                            + "); if it is just slow, raise " + section
                            + ".timeout_ms or openai.connect_timeout_ms");
  if (rc == CURLE_WRITE_ERROR && t.body_too_big)
    return outcome::failure(
      "the OpenAI API response is larger than openai.max_response_bytes ("
      + std::to_string(openai.max_response_bytes)
      + " bytes); raise it if such replies are expected");
  if (rc == CURLE_URL_MALFORMAT || rc == CURLE_UNSUPPORTED_PROTOCOL)
    return outcome::failure("the API URL " + url + " is not usable (" + detail
                              + "); check openai.base_url or OPENAI_BASE_URL",
                            true);
  return outcome::failure("cannot reach the OpenAI API at " + url + " ("
                          + detail
                          + "); check openai.base_url or OPENAI_BASE_URL and "
                            "the network");
}

// A non-2xx answer. Which statuses are worth retrying follows OpenAI's
// SDKs: 408, 409, 429 and 5xx; other 4xx mean the request itself is wrong.
// The message never promises a retry: whether one happens is the retry
// actor's decision (maxRetries), not the handler's.
outcome status_outcome(const reply& r, const std::string& key,
                       const std::string& section) {
  auto err = api_error_of(r.body, key);
  const auto status = r.status;
  std::string msg = "the OpenAI API answered HTTP " + std::to_string(status);
  if (!err.code.empty())
    msg += " (" + err.code + ")";
  msg += ": " + err.message;
  if (status == 429) {
    // OpenAI reports an exhausted quota as 429 too, but waiting cannot fix
    // it: somebody has to pay.
    if (err.insufficient_quota)
      return outcome::failure(msg + "; check the account's plan and billing",
                              true);
    return outcome::failure(msg + "; lower " + section
                              + ".requests_per_minute or " + section
                              + ".tokens_per_minute to stay under the limit",
                            false, r.retry_after_ms);
  }
  if (status >= 500 && status <= 599)
    return outcome::failure(msg + "; the API had a problem on its side",
                            false, r.retry_after_ms);
  if (status == 408 || status == 409)
    return outcome::failure(msg + "; a temporary problem on the API's side",
                            false, r.retry_after_ms);
  if (status >= 400 && status <= 499) {
    std::string fix;
    switch (status) {
      case 401:
        fix = "; check OPENAI_API_KEY or openai.api_key";
        break;
      case 403:
        fix = "; the key may lack access to this model: check payload.model, "
              + section + ".model, openai.model and the key's permissions";
        break;
      case 404:
        fix = "; check the model name (payload.model, " + section
              + ".model, openai.model) and openai.base_url";
        break;
      default:
        fix = "; check payload.prompt, payload.model, payload.temperature and "
              "payload.maxTokens";
    }
    return outcome::failure(msg + fix, true);
  }
  // 1xx (after the final response?) or 3xx: we do not follow redirects, an
  // API has no reason to send them.
  return outcome::failure(msg + "; unexpected status, check openai.base_url");
}

// A chat completion, every string in it sanitised.
struct chat_reply {
  std::string content;
  std::string model; ///< "" if the API named none
  usage use;
};

// Reads a chat completion: content (required), model and usage (optional:
// some OpenAI-compatible servers omit them). Returns what is wrong, if
// anything.
std::optional<std::string> parse_completion(const upstream_text& body,
                                            const std::string& key,
                                            chat_reply& out) {
  upstream_json doc{body};
  if (!doc.ok())
    return "not JSON: " + doc.parse_error();
  if (!doc.is_object(""))
    return std::string{"not a JSON object"};
  auto choices = doc.array_size("/choices");
  if (!choices || *choices == 0)
    return std::string{"no choices"};
  auto content = doc.string_at("/choices/0/message/content");
  if (!content) {
    auto reason = doc.string_at("/choices/0/finish_reason");
    return "choices[0].message.content is not a string (finish_reason: "
           + (reason ? reason->sanitised(key, finish_reason_quote_bytes)
                     : std::string{"unknown"})
           + ")";
  }
  // The completion keeps its lines; a server that echoes the key (or a
  // prompt that made the model repeat it) loses it here.
  out.content = content->sanitised(key, no_length_limit,
                                   line_mode::multi_line);
  if (auto model = doc.string_at("/model"); model && !model->empty())
    out.model = model->sanitised(key, model_quote_bytes);
  return read_usage(doc, out.use);
}

// Reads a finished event stream into a chat completion, sanitising every
// string. Returns the failure, if any.
std::optional<outcome> streamed_completion(const stream_reader& ev,
                                           const std::string& key,
                                           const std::string& url,
                                           chat_reply& out) {
  if (ev.error_event) {
    auto err = api_error_of(*ev.error_event, key);
    return outcome::failure(
      "the OpenAI API reported an error in its stream"
      + (err.code.empty() ? std::string{} : " (" + err.code + ")") + ": "
      + err.message);
  }
  if (ev.problem)
    return outcome::failure("the OpenAI API at " + url
                            + " sent an unexpected response (HTTP 200 event "
                              "stream: "
                            + *ev.problem
                            + "); check openai.base_url points at an "
                              "OpenAI-compatible API");
  if (!ev.done && !ev.finished)
    return outcome::failure("the OpenAI API at " + url
                            + " ended its event stream before the completion "
                              "did (no finish_reason, no [DONE])");
  out.content = ev.content.sanitised(key, no_length_limit,
                                     line_mode::multi_line);
  if (!ev.model.empty())
    out.model = ev.model.sanitised(key, model_quote_bytes);
  out.use = ev.use;
  return std::nullopt;
}

} // namespace

// -- config -------------------------------------------------------------------

openai_config
with_openai_env(openai_config cfg,
                const std::function<const char*(const char*)>& getenv) {
  auto get = [&](const char* name) -> std::string {
    const char* v = getenv ? getenv(name) : std::getenv(name);
    return v == nullptr ? std::string{} : std::string{v};
  };
  if (cfg.api_key.empty())
    cfg.api_key = get("OPENAI_API_KEY");
  if (cfg.base_url.empty())
    cfg.base_url = get("OPENAI_BASE_URL");
  if (cfg.base_url.empty())
    cfg.base_url = openai_default_base_url;
  return cfg;
}

std::optional<std::string> validate_openai_config(const openai_config& cfg) {
  if (has_control_or_space(cfg.api_key))
    return std::string{"openai.api_key (or OPENAI_API_KEY) must not contain "
                       "spaces or control characters; paste the key alone"};
  if (!cfg.base_url.empty() && cfg.base_url.rfind("http://", 0) != 0
      && cfg.base_url.rfind("https://", 0) != 0)
    return "openai.base_url (or OPENAI_BASE_URL) must start with http:// or "
           "https://, e.g. \""
           + std::string{openai_default_base_url} + "\"";
  if (cfg.model.empty())
    return std::string{"openai.model must not be empty; set a model such as "
                       "\"gpt-4o-mini\""};
  if (cfg.connect_timeout_ms < 1 || cfg.connect_timeout_ms > max_timeout_ms)
    return "openai.connect_timeout_ms must be 1..3600000 (milliseconds); got "
           + std::to_string(cfg.connect_timeout_ms);
  if (cfg.max_response_bytes < 1024
      || cfg.max_response_bytes > int64_t{1} << 30)
    return "openai.max_response_bytes must be 1024..1073741824; got "
           + std::to_string(cfg.max_response_bytes);
  return std::nullopt;
}

chat_config preview_config_defaults() {
  chat_config c;
  c.system_prompt = "You write a short, engaging preview of the content the "
                    "user describes: two or three sentences of plain text.";
  c.temperature = 0.7;
  c.max_tokens = 512;
  c.timeout_ms = 60'000;
  c.max_concurrency = 4;
  return c;
}

chat_config recap_config_defaults() {
  chat_config c;
  c.system_prompt = "You write a concise recap of the text the user gives: "
                    "its key points in one short paragraph of plain text.";
  c.temperature = 0.3;
  c.max_tokens = 1024;
  c.timeout_ms = 120'000;
  c.max_concurrency = 2;
  return c;
}

std::optional<std::string> validate_chat_config(const chat_config& cfg,
                                                const std::string& section) {
  auto name = [&](const char* field) { return section + "." + field; };
  if (!(cfg.temperature >= 0) || cfg.temperature > max_temperature)
    return name("temperature") + " must be a number from 0 to 2; got "
           + format_double(cfg.temperature);
  if (cfg.max_tokens < 1 || cfg.max_tokens > max_max_tokens)
    return name("max_tokens") + " must be 1..128000; got "
           + std::to_string(cfg.max_tokens);
  if (cfg.timeout_ms < 1 || cfg.timeout_ms > max_timeout_ms)
    return name("timeout_ms") + " must be 1..3600000 (milliseconds); got "
           + std::to_string(cfg.timeout_ms);
  if (cfg.max_concurrency < 0 || cfg.max_concurrency > 1024)
    return name("max_concurrency") + " must be 0 (no limit) ..1024; got "
           + std::to_string(cfg.max_concurrency);
  if (cfg.requests_per_minute < 0)
    return name("requests_per_minute") + " must be 0 (unlimited) or more; got "
           + std::to_string(cfg.requests_per_minute);
  if (cfg.tokens_per_minute < 0)
    return name("tokens_per_minute") + " must be 0 (unlimited) or more; got "
           + std::to_string(cfg.tokens_per_minute);
  return std::nullopt;
}

// -- handler ------------------------------------------------------------------

chat_completion_handler::chat_completion_handler(
  std::string type, std::string section, openai_config openai, chat_config cfg,
  std::shared_ptr<const clock_source> clock, sleep_fn sleep)
  : type_(std::move(type)),
    section_(std::move(section)),
    openai_(std::move(openai)),
    cfg_(std::move(cfg)),
    limiter_(rate_limits{cfg_.requests_per_minute, cfg_.tokens_per_minute},
             std::move(clock), std::move(sleep)) {
  init_curl_once();
  if (openai_.base_url.empty())
    openai_.base_url = openai_default_base_url;
}

std::optional<field_error>
chat_completion_handler::validate(std::string_view payload) const {
  chat_args args;
  return parse_args(payload, cfg_, openai_, args);
}

outcome chat_completion_handler::run(const job& j, run_context& ctx) {
  // 1. Payload and key: problems retrying cannot fix.
  chat_args args;
  if (auto fe = parse_args(j.payload, cfg_, openai_, args))
    return outcome::failure(fe->field + " " + fe->message, true);
  const auto& key = openai_.api_key;
  if (key.empty())
    return outcome::failure("OPENAI_API_KEY is not set; set it or "
                            "openai.api_key in the config",
                            true);
  if (has_control_or_space(key))
    return outcome::failure("OPENAI_API_KEY (or openai.api_key) contains "
                            "spaces or control characters; set the key alone",
                            true);

  // 2. Budget. The estimate (about 4 bytes per token, plus all the reply
  //    may use) is corrected with the real usage below.
  const int64_t estimate
    = static_cast<int64_t>((args.prompt.size() + cfg_.system_prompt.size()) / 4)
      + args.max_tokens;
  if (!limiter_.acquire(estimate, [&] { return ctx.is_cancelled(); }))
    return outcome::failure("cancelled by shutdown while waiting for the "
                            + type_ + " rate limit");

  // 3. The call.
  std::string url = openai_.base_url;
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  url += "/chat/completions";
  const auto body = request_body(args, cfg_.system_prompt, openai_.stream);

  std::unique_ptr<CURL, curl_easy_deleter> curl{curl_easy_init()};
  if (!curl)
    return outcome::failure("cannot initialise libcurl (out of memory?)");
  std::unique_ptr<curl_slist, curl_slist_deleter> headers;
  for (auto h : {std::string{"Content-Type: application/json"},
                 std::string{"Accept: application/json"},
                 std::string{"Expect:"}, // no 100-continue round trip
                 "Authorization: Bearer " + key}) {
    auto l = curl_slist_append(headers.get(), h.c_str());
    if (l == nullptr)
      return outcome::failure("cannot build the request headers (out of "
                              "memory?)");
    headers.release();
    headers.reset(l);
  }
  transfer t;
  t.ctx = &ctx;
  t.max_body = openai_.max_response_bytes;
  t.max_tokens = args.max_tokens;
  char errbuf[CURL_ERROR_SIZE] = {0};
  auto* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  // Only HTTP(S), and no redirects (curl's default): the key must not be
  // sent anywhere but the configured API.
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE,
                   static_cast<curl_off_t>(body.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_USERAGENT, "jobd");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L); // we run in many threads
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   static_cast<long>(openai_.connect_timeout_ms));
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

  // 4. Transport failures. curl's messages never contain request headers,
  //    so the key cannot leak through them.
  if (rc != CURLE_OK)
    return transport_outcome(rc, errbuf, t, url, section_, openai_);
  // From here on the server's answer is only seen as a `reply`: its
  // strings are upstream_text and leave only sanitised.
  reply r;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &r.status);
  r.retry_after_ms = retry_after_of(t);
  r.body = upstream_text{std::move(t.body)};
  if (r.status < 200 || r.status > 299)
    return status_outcome(r, key, section_);

  // 5. The completion: streamed, or one JSON body.
  chat_reply c;
  if (t.streamed) {
    t.events.finish(ctx, args.max_tokens);
    if (auto failed = streamed_completion(t.events, key, url, c))
      return std::move(*failed);
  } else if (auto problem = parse_completion(r.body, key, c))
    return outcome::failure("the OpenAI API at " + url
                            + " sent an unexpected response (HTTP "
                            + std::to_string(r.status) + ": " + *problem
                            + "); check openai.base_url points at an "
                              "OpenAI-compatible API");
  const auto& use = c.use;
  if (use.known)
    limiter_.settle(estimate, use.total_tokens);
  std::string result = "{\"prompt\":";
  append_json_string(result, args.prompt);
  result += ",\"content\":";
  append_json_string(result, c.content);
  result += ",\"model\":";
  append_json_string(result, c.model.empty() ? args.model : c.model);
  result += ",\"usage\":{\"prompt_tokens\":" + std::to_string(use.prompt_tokens)
            + ",\"completion_tokens\":" + std::to_string(use.completion_tokens)
            + ",\"total_tokens\":" + std::to_string(use.total_tokens) + "}}";
  return outcome::success(std::move(result));
}

openai_probe probe_openai(const openai_config& cfg, long timeout_ms) {
  openai_probe out;
  std::string url = cfg.base_url;
  while (!url.empty() && url.back() == '/')
    url.pop_back();
  url += "/models";
  std::unique_ptr<CURL, curl_easy_deleter> curl{curl_easy_init()};
  if (!curl) {
    out.detail = "cannot initialise libcurl";
    return out;
  }
  std::unique_ptr<curl_slist, curl_slist_deleter> headers;
  if (!cfg.api_key.empty()) {
    auto h = "Authorization: Bearer " + cfg.api_key;
    headers.reset(curl_slist_append(nullptr, h.c_str()));
  }
  char errbuf[CURL_ERROR_SIZE] = {0};
  auto* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, url.c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_USERAGENT, "jobd doctor");
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                   std::min<long>(timeout_ms, cfg.connect_timeout_ms));
  curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
  // The body is not needed: drop it as it comes.
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION,
                   +[](char*, size_t size, size_t n, void*) { return size * n; });
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, errbuf);
  auto rc = curl_easy_perform(h);
  if (rc != CURLE_OK) {
    // curl's messages never contain request headers: no key in them.
    out.detail = "no answer from " + url + ": "
                 + (errbuf[0] ? std::string{errbuf}
                              : std::string{curl_easy_strerror(rc)});
    return out;
  }
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out.status);
  auto code = std::to_string(out.status);
  if (out.status == 401 || out.status == 403)
    out.detail = url + " refused the API key (HTTP " + code
                 + "): check openai.api_key or OPENAI_API_KEY";
  else if (out.status >= 200 && out.status <= 299)
    out.detail = url + " answered HTTP " + code;
  else
    out.detail = url + " answered HTTP " + code
                 + " (reachable; check openai.base_url if jobs fail)";
  return out;
}

} // namespace jobd
