// Percent-decoding (RFC 3986 %XX escapes), for the PostgreSQL URL reader
// here and the HTTP module above (paths, query strings).
#pragma once

#include <string>
#include <string_view>

namespace jobd {

/// Decodes %XX escapes (and '+' as space when `plus_is_space`, as in query
/// strings). Returns false on a malformed escape.
bool percent_decode(std::string_view in, std::string& out,
                    bool plus_is_space = false);

} // namespace jobd
