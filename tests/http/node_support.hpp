// Running the JavaScript tests of tests/http/node from Catch2: installing
// their npm packages (exactly the lock file's, with `npm ci`) and quoting
// arguments for the shell.
#pragma once

#include <string>

#include <catch2/catch.hpp>
#include <sys/stat.h>

#include "support/http_fixture.hpp"

namespace jobd::test {

inline const std::string node_dir = JOBD_SOURCE_DIR "/tests/http/node";

inline std::string shell_quote(const std::string& s) {
  std::string out = "'";
  for (char c : s)
    out += c == '\'' ? std::string{"'\\''"} : std::string(1, c);
  return out + "'";
}

inline int64_t mtime_of(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? static_cast<int64_t>(st.st_mtime) : -1;
}

/// Installs the npm packages once per run, when missing or older than the
/// lock file (a fresh machine, or a lock file that changed).
inline void ensure_node_modules() {
  static bool done = false;
  if (done)
    return;
  auto marker = node_dir + "/node_modules/.package-lock.json";
  if (mtime_of(marker) < mtime_of(node_dir + "/package-lock.json")) {
    std::string out;
    auto rc = run_command("cd " + shell_quote(node_dir)
                            + " && npm ci --no-audit --no-fund", out);
    INFO(out);
    REQUIRE(rc == 0);
  }
  done = true;
}

} // namespace jobd::test
