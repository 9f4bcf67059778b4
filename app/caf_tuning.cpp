#include "app/caf_tuning.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include <caf/actor_system_config.hpp>
#include <caf/timespan.hpp>

namespace jobd {

void add_caf_settings(settings& s, caf_tuning& t) {
  s.add_int("runtime.threads", &t.threads, 0, 256,
            "Scheduler threads for actors; 0 = one per core (at least 2).\n"
            "The database and HTTP threads are extra. Restart to apply.");
  s.add_int("runtime.busy_polls", &t.busy_polls, 0, 100'000,
            "After running an actor, how many 50us sleeps a scheduler\n"
            "thread takes looking for more work before it waits to be\n"
            "woken (CAF's default: 500). Higher costs idle CPU.");
  s.add_duration("runtime.steal_interval", &t.steal_interval_ms, 1, 60'000,
                 "How often a waiting scheduler thread wakes to take work\n"
                 "queued on a busy one (CAF's default: 10ms). New work from\n"
                 "outside wakes it at once. Lower costs idle CPU.");
}

void apply_caf_tuning(caf::actor_system_config& cfg, const caf_tuning& t) {
  size_t threads = static_cast<size_t>(t.threads);
  if (threads == 0)
    threads = std::max(2u, std::thread::hardware_concurrency());
  cfg.set("scheduler.max-threads", threads);
  cfg.set("work-stealing.moderate-poll-attempts",
          static_cast<size_t>(t.busy_polls));
  cfg.set("work-stealing.relaxed-sleep-duration",
          caf::timespan{std::chrono::milliseconds(t.steal_interval_ms)});
}

} // namespace jobd
