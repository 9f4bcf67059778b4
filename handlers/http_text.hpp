// Small pieces both HTTP-calling handlers (chat_completion, webhook) use on
// the wire: libcurl's one-time set-up, and header names and values.
#pragma once

#include <string>
#include <string_view>

namespace jobd {

/// curl_global_init, once per process (thread safe).
void init_curl_once();

/// `s` in ASCII lower case (header names compare case-insensitively).
std::string ascii_lower(std::string_view s);

/// `s` without leading and trailing white space.
std::string trim_space(std::string_view s);

} // namespace jobd
