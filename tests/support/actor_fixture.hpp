// A CAF actor system on the deterministic test scheduler, for Catch2:
// nothing runs until the test says so (run(), advance()), and time moves
// only when the test moves it. The store's manual clock and CAF's test
// clock are advanced together.
#pragma once

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scheduler/test_coordinator.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/runtime.hpp"
#include "storage/clock.hpp"

namespace jobd::test {

struct actor_fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  caf::scoped_actor self;
  std::shared_ptr<manual_clock> clock = std::make_shared<manual_clock>();

  actor_fixture()
    : sys(init(cfg)),
      sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())),
      self(sys, true) {
  }

  static caf::actor_system_config& init(caf::actor_system_config& cfg) {
    register_types(cfg);
    cfg.set("scheduler.policy", caf::atom("testing"));
    cfg.set("logger.verbosity", caf::atom("quiet"));
    cfg.set("middleman.network-backend", caf::atom("testing"));
    return cfg;
  }

  /// Runs every message that is ready (no timers fire).
  void run() { sched.run(); }

  /// Moves both clocks forward, fires the timers that came due, and runs.
  void advance(ms_t ms) {
    clock->advance(ms);
    sched.advance_time(std::chrono::milliseconds(ms));
    sched.run();
  }
};

} // namespace jobd::test
