// The header lines both HTTP-calling handlers read (handlers/http_text).
#include <catch2/catch.hpp>

#include "handlers/http_text.hpp"

using namespace jobd;

TEST_CASE("a header line is a status line, a field (name in lower case, "
          "value trimmed) or neither",
          "[handlers][http_text]") {
  long status = -1;
  std::string name = "x", value = "y";
  CHECK(read_header_line("HTTP/1.1 429 Too Many Requests\r\n", status, name,
                         value)
        == header_line::status);
  CHECK(status == 429);
  CHECK(read_header_line("HTTP/2 200\r\n", status, name, value)
        == header_line::status);
  CHECK(status == 200);
  CHECK(read_header_line("HTTP/1.1\r\n", status, name, value)
        == header_line::status);
  CHECK(status == 0);
  CHECK(read_header_line("Retry-After:  7 \r\n", status, name, value)
        == header_line::field);
  CHECK(name == "retry-after");
  CHECK(value == "7");
  CHECK(read_header_line("X-Empty:\r\n", status, name, value)
        == header_line::field);
  CHECK(name == "x-empty");
  CHECK(value.empty());
  // A value may hold colons (an HTTP date, a URL).
  CHECK(read_header_line("Date: Wed, 21 Oct 2026 07:28:00 GMT\r\n", status,
                         name, value)
        == header_line::field);
  CHECK(value == "Wed, 21 Oct 2026 07:28:00 GMT");
  name = "kept";
  CHECK(read_header_line("\r\n", status, name, value) == header_line::other);
  CHECK(name == "kept");
}
