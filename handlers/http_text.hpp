// Small pieces both HTTP-calling handlers (chat_completion, webhook) use on
// the wire: libcurl's one-time set-up and handles, and header lines.
#pragma once

#include <string>
#include <string_view>

#include <curl/curl.h>

namespace jobd {

/// curl_global_init, once per process (thread safe).
void init_curl_once();

/// `s` in ASCII lower case (header names compare case-insensitively).
std::string ascii_lower(std::string_view s);

/// `s` without leading and trailing white space.
std::string trim_space(std::string_view s);

/// Owners of libcurl handles (std::unique_ptr deleters).
struct curl_easy_deleter {
  void operator()(CURL* h) const { curl_easy_cleanup(h); }
};
struct curl_slist_deleter {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

/// What one header line from libcurl's header callback is.
enum class header_line {
  status, ///< "HTTP/1.1 429 ...": a new response begins (after a 100
          ///< Continue or a redirect): the headers so far no longer count
  field,  ///< "Name: value"
  other,  ///< the blank line that ends the headers, or anything else
};

/// Reads `line`: sets `status` (0 if unreadable) for a status line, or
/// `name` (lower case) and `value` (trimmed) for a field.
header_line read_header_line(std::string_view line, long& status,
                             std::string& name, std::string& value);

} // namespace jobd
