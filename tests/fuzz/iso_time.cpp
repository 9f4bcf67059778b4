// Fuzz target: the ISO-8601 time parser (scheduledFor, --at).
// Input: any bytes, taken as the time text.
// Invariants: no crash or UB; a time parse_time accepts is shown by
// format_time (what the API and CLI print) as text that parse_time reads
// back as the same instant.
#include <cstdlib>

#include "fuzz/fuzz_check.hpp"
#include "storage/job.hpp"

using namespace jobd;
using jobd::fuzz::require;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto text = fuzz::text_of(data, size);
  ms_t t = 0;
  if (!parse_time(text, t))
    return 0;
  // The epoch (ms 0) reads as "not set", i.e. now (storage/job.hpp): a
  // time in the past is due at once either way, so it is not shown back.
  if (t == 0)
    return 0;
  auto shown = format_time(t);
  ms_t again = 0;
  require(parse_time(shown, again) && again == t,
          "a time parse_time accepts must format back to the same instant",
          "input '" + std::string{text} + "' -> " + std::to_string(t)
            + " ms -> '" + shown + "' -> " + std::to_string(again) + " ms");
  return 0;
}
