// HMAC-SHA256 against the test vectors of RFC 4231 (section 4).
#include <catch2/catch.hpp>

#include "handlers/hmac.hpp"

using namespace jobd;

namespace {

std::string from_hex(const std::string& hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2)
    out += static_cast<char>(std::stoi(hex.substr(i, 2), nullptr, 16));
  return out;
}

} // namespace

TEST_CASE("hmac_sha256_hex matches RFC 4231", "[handlers][hmac]") {
  // Test case 1
  CHECK(hmac_sha256_hex(std::string(20, '\x0b'), "Hi There")
        == "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // Test case 2: a key shorter than the block
  CHECK(hmac_sha256_hex("Jefe", "what do ya want for nothing?")
        == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  // Test case 3
  CHECK(hmac_sha256_hex(std::string(20, '\xaa'), std::string(50, '\xdd'))
        == "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  // Test case 4
  CHECK(hmac_sha256_hex(from_hex("0102030405060708090a0b0c0d0e0f10111213141516171819"),
                        std::string(50, '\xcd'))
        == "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
  // Test case 6: a key longer than the block (hashed first)
  CHECK(hmac_sha256_hex(std::string(131, '\xaa'),
                        "Test Using Larger Than Block-Size Key - Hash Key First")
        == "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  // Test case 7
  CHECK(hmac_sha256_hex(
          std::string(131, '\xaa'),
          "This is a test using a larger than block-size key and a larger "
          "than block-size data. The key needs to be hashed before being "
          "used by the HMAC algorithm.")
        == "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}
