#include "handlers/echo.hpp"

#include <chrono>
#include <thread>

#include <simdjson.h>

namespace jobd {

namespace {

struct echo_args {
  int64_t delay_ms = 0;
  bool fail = false;
  bool permanent = false;
  std::string error = "ECHO asked to fail";
};

std::optional<field_error> parse_args(std::string_view payload,
                                      echo_args& out) {
  simdjson::dom::parser parser;
  simdjson::padded_string padded{payload};
  simdjson::dom::element doc;
  if (parser.parse(padded).get(doc) || !doc.is_object())
    return field_error{"payload", "must be a JSON object"};
  auto obj = doc.get_object().value();
  for (auto field : obj) {
    auto key = field.key;
    auto val = field.value;
    if (key == "delayMs") {
      int64_t v;
      if (val.get_int64().get(v) || v < 0 || v > 3'600'000)
        return field_error{"payload.delayMs",
                           "must be a whole number of milliseconds, 0..3600000"};
      out.delay_ms = v;
    } else if (key == "fail") {
      if (val.get_bool().get(out.fail))
        return field_error{"payload.fail", "must be true or false"};
    } else if (key == "permanent") {
      if (val.get_bool().get(out.permanent))
        return field_error{"payload.permanent", "must be true or false"};
    } else if (key == "error") {
      std::string_view s;
      if (val.get_string().get(s))
        return field_error{"payload.error", "must be a string"};
      out.error = std::string{s};
    }
  }
  return std::nullopt;
}

} // namespace

std::optional<field_error>
echo_handler::validate(std::string_view payload) const {
  echo_args args;
  return parse_args(payload, args);
}

outcome echo_handler::run(const job& j, run_context& ctx) {
  echo_args args;
  if (auto err = parse_args(j.payload, args))
    return outcome::failure(err->field + " " + err->message, true);
  // Sleep in slices so a shutdown does not wait for the whole delay, and
  // report the time waited as progress.
  auto start = std::chrono::steady_clock::now();
  auto until = start + std::chrono::milliseconds(args.delay_ms);
  while (std::chrono::steady_clock::now() < until) {
    if (ctx.is_cancelled())
      return outcome::failure("cancelled by shutdown");
    auto now = std::chrono::steady_clock::now();
    auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(
                    now - start)
                    .count();
    ctx.report_progress(static_cast<double>(waited)
                          / static_cast<double>(args.delay_ms),
                        "waited " + std::to_string(waited) + " of "
                          + std::to_string(args.delay_ms) + " ms");
    auto left = until - now;
    std::this_thread::sleep_for(
      std::min<std::chrono::steady_clock::duration>(
        left, std::chrono::milliseconds(20)));
  }
  if (args.fail)
    return outcome::failure(args.error, args.permanent);
  return outcome::success(j.payload);
}

} // namespace jobd
