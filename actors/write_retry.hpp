// How the runtime keeps an outcome whose write met a transient store error
// (the database restarting, the file locked): the pool's completions and
// the retry actor's failures are written again with backoff, and fencing
// makes a repeat harmless. If every try fails, the lease runs out and the
// job runs again: at least once.
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>

namespace jobd {

/// How often an outcome (completion or failure) is written again after a
/// transient store error, and the wait before try n (1 s doubling, at most
/// 16 s: about a minute in all, within a default lease).
constexpr int32_t outcome_write_tries = 6;
inline std::chrono::milliseconds outcome_retry_delay(int32_t tries) {
  return std::chrono::milliseconds(1000LL << std::min(tries, 4));
}

} // namespace jobd
