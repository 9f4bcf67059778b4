// Settings and the config file: every error names the setting and the fix.
#include <catch2/catch.hpp>

#include <fstream>

#include "actors/config.hpp"
#include "http/server.hpp"
#include "support/temp_dir.hpp"

using namespace jobd;
using namespace jobd::test;

namespace {

std::string write_file(const temp_dir& dir, const std::string& text) {
  auto path = dir.file("jobd.ini");
  std::ofstream out{path};
  out << text;
  return path;
}

} // namespace

TEST_CASE("durations read ms, s, m, h, d", "[config]") {
  CHECK(parse_duration_ms("250ms") == 250);
  CHECK(parse_duration_ms("250") == 250);
  CHECK(parse_duration_ms("5s") == 5000);
  CHECK(parse_duration_ms("2m") == 120'000);
  CHECK(parse_duration_ms("1h") == 3'600'000);
  CHECK(parse_duration_ms("7d") == 7 * 86'400'000LL);
  CHECK_FALSE(parse_duration_ms("5 parsecs"));
  CHECK_FALSE(parse_duration_ms("-5s"));
  CHECK_FALSE(parse_duration_ms(""));
  CHECK(format_duration_ms(30'000) == "30s");
  CHECK(format_duration_ms(250) == "250ms");
}

TEST_CASE("a config file sets the fields it names", "[config]") {
  temp_dir dir;
  jobd_config cfg;
  settings s;
  add_core_settings(s, cfg);
  auto path = write_file(dir, "# comment\n[storage]\ndb = /tmp/x.db\n"
                              "[worker]\nworkers = 4  # four\nlease = 1m\n"
                              "[retry]\ncap = 10s\njitter = 0\n");
  CHECK(s.load_file(path).empty());
  CHECK(cfg.storage.url == "/tmp/x.db");
  CHECK(cfg.runtime.pool.workers == 4);
  CHECK(cfg.runtime.store.lease_ms == 60'000);
  CHECK(cfg.runtime.retry.cap_ms == 10'000);
  CHECK(cfg.runtime.retry.jitter == 0);
  CHECK(validate_config(cfg).empty());
}

TEST_CASE("a bad value names the file, line, setting and what is accepted",
          "[config]") {
  temp_dir dir;
  jobd_config cfg;
  settings s;
  add_core_settings(s, cfg);
  auto path = write_file(dir, "[worker]\n\nworkers = many\n");
  auto err = s.load_file(path);
  CHECK_THAT(err, Catch::Contains(path + ":3")
                    && Catch::Contains("worker.workers")
                    && Catch::Contains("'many'")
                    && Catch::Contains("whole number 0..1024"));
  CHECK(cfg.runtime.pool.workers == 10); // unchanged
}

TEST_CASE("an unknown setting is refused with the section's settings",
          "[config]") {
  temp_dir dir;
  jobd_config cfg;
  settings s;
  add_core_settings(s, cfg);
  auto err = s.load_file(write_file(dir, "[worker]\nwrokers = 3\n"));
  CHECK_THAT(err, Catch::Contains("unknown setting 'worker.wrokers'")
                    && Catch::Contains("worker.workers"));
  err = s.set("storage.synchronous", "SOMETIMES", "--set");
  CHECK_THAT(err, Catch::Contains("--set") && Catch::Contains("FULL, NORMAL, OFF"));
  err = s.load_file(write_file(dir, "workers = 3\n"));
  CHECK_THAT(err, Catch::Contains("outside any [section]"));
  err = s.load_file(write_file(dir, "[worker\n"));
  CHECK_THAT(err, Catch::Contains("[name]"));
  err = s.load_file(dir.file("missing.ini"));
  CHECK_THAT(err, Catch::Contains("missing.ini") && Catch::Contains("--config"));
}

TEST_CASE("settings that depend on each other are checked together",
          "[config]") {
  jobd_config cfg;
  cfg.runtime.store.lease_ms = 10'000;
  cfg.runtime.pool.heartbeat_interval_ms = 6'000;
  CHECK_THAT(validate_config(cfg), Catch::Contains("worker.heartbeat_interval")
                                     && Catch::Contains("worker.lease"));
  cfg.runtime.pool.heartbeat_interval_ms = 5'000;
  CHECK(validate_config(cfg).empty());
  cfg.runtime.retry.base_ms = 60'000;
  CHECK_THAT(validate_config(cfg), Catch::Contains("retry.base"));
}

TEST_CASE("conf/jobd.ini documents every setting and loads cleanly",
          "[config]") {
  jobd_config cfg;
  http_config hcfg;
  settings s;
  add_core_settings(s, cfg);
  add_http_settings(s, hcfg);
  std::string path = JOBD_SOURCE_DIR "/conf/jobd.ini";
  CHECK(s.load_file(path).empty());
  CHECK(validate_config(cfg).empty());
  std::ifstream in{path};
  std::string text((std::istreambuf_iterator<char>(in)),
                   std::istreambuf_iterator<char>());
  for (auto& name : s.names()) {
    auto key = name.substr(name.find('.') + 1);
    INFO(name);
    CHECK_THAT(text, Catch::Contains("\n" + key + " ="));
  }
}

// Found by fuzzing (tests/fuzz/config_file.cpp).
TEST_CASE("a duration too large to hold is refused, not wrapped into range",
          "[config]") {
  CHECK_FALSE(parse_duration_ms("9223372036854775807d"));
  CHECK_FALSE(parse_duration_ms("2562047788016h"));
  CHECK(parse_duration_ms("2562047788015h") == 2562047788015LL * 3600000);
  jobd_config cfg;
  settings s;
  add_core_settings(s, cfg);
  // 12560439280744594 days in ms wraps (mod 2^64) to 30720 ms, a valid lease.
  auto err = s.set("worker.lease", "12560439280744594d", "--lease");
  CHECK_THAT(err, Catch::Contains("worker.lease")
                    && Catch::Contains("12560439280744594d"));
  CHECK(cfg.runtime.store.lease_ms == 30'000); // unchanged
}

TEST_CASE("a number setting refuses nan", "[config]") {
  jobd_config cfg;
  settings s;
  add_core_settings(s, cfg);
  for (auto v : {"nan", "NaN", "-nan", "inf"}) {
    INFO(v);
    CHECK_THAT(s.set("retry.jitter", v, "--set"),
               Catch::Contains("retry.jitter") && Catch::Contains("0..1"));
  }
  CHECK(cfg.runtime.retry.jitter == 0.2); // unchanged
}

TEST_CASE("the rendering of a loaded config reads back the same", "[config]") {
  temp_dir dir;
  jobd_config cfg;
  settings s;
  add_core_settings(s, cfg);
  // Quotes keep what trimming would drop; the value itself may be quoted.
  REQUIRE(s.load_file(write_file(dir, "[export]\n"
                                      "system_prompt = \"  padded  \"\n"
                                      "[openai]\nmodel = \"\"quoted\"\"\n"))
            .empty());
  CHECK(cfg.handlers.fine_tune_export.system_prompt == "  padded  ");
  CHECK(cfg.handlers.openai.model == "\"quoted\"");
  auto shown = s.render();
  jobd_config again;
  settings s2;
  add_core_settings(s2, again);
  REQUIRE(s2.load_file(write_file(dir, shown)).empty());
  CHECK(again.handlers.fine_tune_export.system_prompt == "  padded  ");
  CHECK(again.handlers.openai.model == "\"quoted\"");
  CHECK(s2.render() == shown);
}
