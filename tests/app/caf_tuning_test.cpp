// [runtime]: the CAF scheduler settings reach CAF's config, and a bad value
// is refused naming the setting.
#include <catch2/catch.hpp>

#include <caf/actor_system_config.hpp>
#include <caf/config_value.hpp>
#include <caf/timespan.hpp>

#include "app/caf_tuning.hpp"

using namespace jobd;

TEST_CASE("[runtime] settings land in CAF's scheduler config", "[config]") {
  caf_tuning t;
  settings s;
  add_caf_settings(s, t);
  REQUIRE(s.set("runtime.threads", "3", "--set").empty());
  REQUIRE(s.set("runtime.busy_polls", "7", "--set").empty());
  REQUIRE(s.set("runtime.steal_interval", "250ms", "--set").empty());
  caf::actor_system_config cfg;
  apply_caf_tuning(cfg, t);
  auto& c = caf::content(cfg);
  CHECK(caf::get_or(c, "scheduler.max-threads", size_t{0}) == 3u);
  CHECK(caf::get_or(c, "work-stealing.moderate-poll-attempts", size_t{0})
        == 7u);
  CHECK(caf::get_or(c, "work-stealing.relaxed-sleep-duration",
                    caf::timespan{0})
        == caf::timespan{std::chrono::milliseconds(250)});
}

TEST_CASE("runtime.threads = 0 means one scheduler thread per core, at "
          "least 2",
          "[config]") {
  caf_tuning t; // the defaults
  CHECK(t.threads == 0);
  caf::actor_system_config cfg;
  apply_caf_tuning(cfg, t);
  CHECK(caf::get_or(caf::content(cfg), "scheduler.max-threads", size_t{0})
        >= 2u);
}

TEST_CASE("a bad [runtime] value is refused naming the setting",
          "[config]") {
  caf_tuning t;
  settings s;
  add_caf_settings(s, t);
  auto err = s.set("runtime.threads", "-1", "--set");
  CHECK_THAT(err, Catch::Contains("runtime.threads"));
  err = s.set("runtime.steal_interval", "0ms", "conf/jobd.ini:80");
  CHECK_THAT(err, Catch::Contains("runtime.steal_interval")
                    && Catch::Contains("conf/jobd.ini:80"));
  CHECK(t.threads == 0); // nothing changed
  CHECK(t.steal_interval_ms == 1'000);
}
