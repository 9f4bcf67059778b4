#include "handlers/hmac.hpp"

#include <stdexcept>

#include <openssl/evp.h>
#include <openssl/hmac.h>

namespace jobd {

std::string hmac_sha256_hex(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  // HMAC() with a null output buffer would use a static one; ours is local,
  // so concurrent calls are safe. An empty key is passed as a valid pointer.
  static const unsigned char empty = 0;
  auto* k = key.empty() ? &empty
                        : reinterpret_cast<const unsigned char*>(key.data());
  if (HMAC(EVP_sha256(), k, static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(),
           md, &len)
      == nullptr)
    throw std::runtime_error("HMAC-SHA256 failed in libcrypto");
  static const char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(len * 2);
  for (unsigned int i = 0; i < len; ++i) {
    out += digits[md[i] >> 4];
    out += digits[md[i] & 0x0f];
  }
  return out;
}

} // namespace jobd
