// Helpers shared by the fuzz targets: the invariant check that aborts (so
// libFuzzer saves the input as a crash and a replay fails), and the input
// as text.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace jobd::fuzz {

/// Aborts with `what` and the offending detail when `ok` is false.
inline void require(bool ok, const char* what, const std::string& detail = {}) {
  if (ok)
    return;
  std::fprintf(stderr, "fuzz invariant violated: %s\n%s\n", what,
               detail.c_str());
  std::fflush(stderr);
  std::abort();
}

inline std::string_view text_of(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

} // namespace jobd::fuzz
