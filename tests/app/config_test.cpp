// Settings and the config file: every error names the setting and the fix.
#include <catch2/catch.hpp>

#include <fstream>

#include "app/config.hpp"
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

TEST_CASE("openai.stream and log.payloads read true or false; another "
          "value names the setting",
          "[config]") {
  temp_dir dir;
  jobd_config cfg;
  settings s;
  add_core_settings(s, cfg);
  CHECK(cfg.handlers.openai.stream);  // default on
  CHECK_FALSE(cfg.log.payloads);      // default off
  CHECK(s.load_file(write_file(dir, "[openai]\nstream = false\n[log]\n"
                                    "payloads = true\n"))
          .empty());
  CHECK_FALSE(cfg.handlers.openai.stream);
  CHECK(cfg.log.payloads);
  auto err = s.load_file(write_file(dir, "[openai]\nstream = sometimes\n"));
  CHECK_THAT(err, Catch::Contains("openai.stream")
                    && Catch::Contains("'sometimes'"));
  CHECK_FALSE(cfg.handlers.openai.stream); // unchanged
}

TEST_CASE("http.cors_origins refuses what is not an origin, naming the "
          "setting",
          "[config]") {
  temp_dir dir;
  http_config hcfg;
  settings s;
  add_http_settings(s, hcfg);
  auto good = write_file(dir, "[http]\ncors_origins = https://app.example.com,"
                              " http://localhost:3000\n");
  CHECK(s.load_file(good).empty());
  CHECK(hcfg.cors_origins
        == "https://app.example.com, http://localhost:3000");
  auto bad = write_file(dir, "[http]\ncors_origins = https://app.example.com/\n");
  auto err = s.load_file(bad);
  CHECK_THAT(err, Catch::Contains("http.cors_origins")
                    && Catch::Contains("is not an origin"));
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

TEST_CASE("heartbeat and rescue intervals follow the lease unless set",
          "[config]") {
  // What derive_settings does, as jobd.ini documents it: lease/3 and
  // lease/6, capped at 10 s and 5 s.
  CHECK(auto_heartbeat_interval_ms(30'000) == 10'000);
  CHECK(auto_rescue_interval_ms(30'000) == 5'000);
  CHECK(auto_heartbeat_interval_ms(2'000) == 666);
  CHECK(auto_rescue_interval_ms(2'000) == 333);
  CHECK(auto_heartbeat_interval_ms(1'000) == 333);
  CHECK(auto_rescue_interval_ms(1'000) == 166);
  CHECK(auto_heartbeat_interval_ms(3'600'000) == 10'000);
  CHECK(auto_rescue_interval_ms(3'600'000) == 5'000);
  CHECK(auto_heartbeat_interval_ms(0) == 100); // floors
  CHECK(auto_rescue_interval_ms(0) == 100);

  temp_dir dir;
  auto load = [&](const std::string& text, jobd_config& cfg) {
    settings s;
    add_core_settings(s, cfg);
    auto err = s.load_file(write_file(dir, text));
    REQUIRE(err.empty());
    derive_settings(cfg);
    return validate_config(cfg);
  };
  SECTION("a short lease alone is consistent") {
    jobd_config cfg;
    CHECK(load("[worker]\nlease = 2s\n", cfg).empty());
    CHECK(cfg.runtime.pool.heartbeat_interval_ms == 666);
    CHECK(cfg.runtime.scheduler.rescue_interval_ms == 333);
    // PostgreSQL ends a session stuck in a transaction after half a lease.
    CHECK(cfg.storage.pg_session_timeout_ms == 1'000);
  }
  SECTION("the defaults are what they were for the default lease") {
    jobd_config cfg;
    CHECK(load("[worker]\n", cfg).empty());
    CHECK(cfg.runtime.store.lease_ms == 30'000);
    CHECK(cfg.runtime.pool.heartbeat_interval_ms == 10'000);
    CHECK(cfg.runtime.scheduler.rescue_interval_ms == 5'000);
    CHECK(cfg.storage.pg_session_timeout_ms == 15'000);
  }
  SECTION("a set value is kept; auto can be written out") {
    jobd_config cfg;
    CHECK(load("[worker]\nlease = 2s\nheartbeat_interval = 1s\n"
               "rescue_interval = Auto\n",
               cfg)
            .empty());
    CHECK(cfg.runtime.pool.heartbeat_interval_ms == 1'000);
    CHECK(cfg.runtime.scheduler.rescue_interval_ms == 333);
    jobd_config cfg2;
    CHECK(load("[worker]\nrescue_interval = 20s\nlease = 5m\n", cfg2)
            .empty());
    CHECK(cfg2.runtime.scheduler.rescue_interval_ms == 20'000);
    CHECK(cfg2.runtime.pool.heartbeat_interval_ms == 10'000);
  }
  SECTION("a set heartbeat over half the lease is still refused") {
    jobd_config cfg;
    CHECK_THAT(load("[worker]\nlease = 2s\nheartbeat_interval = 10s\n", cfg),
               Catch::Contains("worker.heartbeat_interval (10000 ms) must be "
                               "at most half of worker.lease (2000 ms)"));
  }
  SECTION("config defaults shows auto, and a bad value names both forms") {
    jobd_config cfg;
    settings s;
    add_core_settings(s, cfg);
    CHECK_THAT(s.render(), Catch::Contains("\nheartbeat_interval = auto\n")
                             && Catch::Contains("\nrescue_interval = auto\n"));
    auto err = s.set("worker.heartbeat_interval", "often", "--set");
    CHECK_THAT(err, Catch::Contains("worker.heartbeat_interval = 'often' is "
                                    "not valid: expected auto, or a duration "
                                    "from 100ms to 1h"));
    CHECK(cfg.auto_heartbeat_interval);
  }
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
  // The file leaves the lease-derived intervals automatic, so a shorter
  // --lease on top of it (as `make run ARGS=...` passes) still works.
  CHECK(cfg.auto_heartbeat_interval);
  CHECK(cfg.auto_rescue_interval);
  CHECK(s.set("worker.lease", "2s", "--lease").empty());
  derive_settings(cfg);
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
