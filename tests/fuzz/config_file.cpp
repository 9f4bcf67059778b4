// Fuzz target: the config file reader (INI), as `jobd serve --config FILE`
// runs it: settings::load_file through load_config, then validate_config.
// Input: the file's bytes.
// Invariants: no crash or UB; a refusal is one non-empty line; an accepted
// file leaves every setting in its documented range, and what
// `settings::render` prints for it is accepted again, with the same values.
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>

#include "app/cli.hpp"
#include "app/config.hpp"
#include "fuzz/fuzz_check.hpp"
#include "http/server.hpp"

using namespace jobd;
using jobd::fuzz::require;

namespace {

// One scratch file per process, in memory where the system allows.
const std::string& scratch_path() {
  static const std::string path = [] {
    std::string dir = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
    std::string tmpl = dir + "/jobd-fuzz-config-XXXXXX";
    int fd = mkstemp(tmpl.data());
    require(fd >= 0, "cannot create a scratch file", tmpl);
    close(fd);
    std::atexit([] { unlink(scratch_path().c_str()); });
    return tmpl;
  }();
  return path;
}

struct loaded {
  jobd_config cfg;
  http_config http;
  settings s;
  std::string error;

  explicit loaded(const std::string& text) {
    {
      std::ofstream out{scratch_path(), std::ios::binary | std::ios::trunc};
      out << text;
    }
    add_core_settings(s, cfg);
    add_http_settings(s, http);
    command_line cl;
    cl.flags["config"] = scratch_path();
    error = load_config(cl, s, cfg);
  }
};

bool in(double x, double lo, double hi) { return x >= lo && x <= hi; }

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text{fuzz::text_of(data, size)};
  loaded first{text};
  if (!first.error.empty()) {
    require(first.error.find('\n') == std::string::npos,
            "a config error must be one line", first.error);
    return 0;
  }
  auto& rt = first.cfg.runtime;
  auto& h = first.cfg.handlers;
  // The ranges the settings declare (and the rest of jobd relies on).
  require(in(rt.retry.jitter, 0, 1), "retry.jitter must be 0..1",
          std::to_string(rt.retry.jitter));
  require(in(h.preview.temperature, 0, 2) && in(h.recap.temperature, 0, 2),
          "temperatures must be 0..2");
  require(rt.scheduler.poll_interval_ms >= 10
            && rt.scheduler.poll_interval_ms <= 60'000,
          "worker.poll_interval must be 10ms..1m",
          std::to_string(rt.scheduler.poll_interval_ms));
  require(rt.store.lease_ms >= 1000 && rt.store.lease_ms <= 86'400'000,
          "worker.lease must be 1s..1d", std::to_string(rt.store.lease_ms));
  require(rt.retry.base_ms >= 1 && rt.retry.base_ms <= rt.retry.cap_ms,
          "retry.base must be 1ms..retry.cap");
  require(rt.retention.max_age_ms >= 0, "retention.max_age must be >= 0");
  require(!first.cfg.storage.url.empty(), "storage.db must not be empty");

  // What jobd prints for this configuration reads back the same.
  auto shown = first.s.render();
  loaded second{shown};
  require(second.error.empty(),
          "the rendering of an accepted config must be accepted",
          second.error + "\n--- input:\n" + text + "\n--- rendered:\n" + shown);
  require(second.s.render() == shown,
          "an accepted config must read back with the same values",
          "--- input:\n" + text + "\n--- rendered:\n" + shown
            + "\n--- rendered again:\n" + second.s.render());
  return 0;
}
