// ECHO: the built-in job type for smoke tests, demos and benchmarks.
// Payload (all optional): {"delayMs": N, "fail": true, "error": "text",
// "permanent": true}. Completes with result = payload after delayMs
// milliseconds (default 0); with fail: true it fails with `error` (default
// "ECHO asked to fail"), permanently if `permanent` is true. While it
// waits it reports progress: the fraction of delayMs waited, "waited N of
// M ms".
#pragma once

#include "handlers/handler.hpp"

namespace jobd {

/// The job type name.
constexpr const char* echo_type = "ECHO";

class echo_handler final : public job_handler {
public:
  std::optional<field_error> validate(std::string_view payload) const override;
  outcome run(const job& j, run_context& ctx) override;
};

} // namespace jobd
