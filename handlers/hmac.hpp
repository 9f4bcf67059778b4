// HMAC-SHA256 (RFC 2104 with SHA-256), through OpenSSL's libcrypto: what a
// webhook's X-Jobd-Signature carries (handlers/webhook.hpp).
#pragma once

#include <string>
#include <string_view>

namespace jobd {

/// HMAC-SHA256 of `data` under `key`, as 64 lower-case hex digits. Any key
/// length works (longer than 64 bytes is hashed first, per RFC 2104).
/// Thread-safe.
std::string hmac_sha256_hex(std::string_view key, std::string_view data);

} // namespace jobd
