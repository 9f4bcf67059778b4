// State of the retention actor (interface: retention_actor.hpp;
// behaviour: retention_actor.cpp). Every `interval` it asks the store to
// delete up to `batch` COMPLETED/FAILED jobs whose completedAt is older
// than `max_age`, repeating while full batches come back, so a large
// backlog is cleared without one long transaction blocking claims. The
// same call drops the change feed's records older than tombstone_keep_ms,
// so it runs also while retention is off (max_age 0: no job is deleted).
#pragma once

#include <memory>

#include <caf/stateful_actor.hpp>

#include "actors/retention_actor.hpp"
#include "actors/store_actor.hpp"
#include "storage/clock.hpp"

namespace jobd {

struct retention_config {
  /// Finished jobs older than this are deleted; 0 keeps them forever (the
  /// rounds still run, for the change feed's records).
  /// Default 7 days.
  ms_t max_age_ms = 7 * 86'400'000LL;
  /// How often to look for old jobs. Default 1 min.
  ms_t interval_ms = 60'000;
  /// Rows deleted per transaction. Default 1000.
  int32_t batch = 1'000;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, retention_config& x) {
  return f(caf::meta::type_name("jobd::retention_config"), x.max_age_ms,
           x.interval_ms, x.batch);
}

struct retention_state {
  static inline const char* name = "jobd.retention";
  retention_config cfg;
  store_actor store;
  std::shared_ptr<const clock_source> clock;
  /// The prune timer chain running (see reconfig_atom).
  uint32_t chain = 0;
};

using retention_ptr = retention_actor::stateful_pointer<retention_state>;

retention_actor::behavior_type
retention_fn(retention_ptr self, retention_config cfg, store_actor store,
             std::shared_ptr<const clock_source> clock);

} // namespace jobd
