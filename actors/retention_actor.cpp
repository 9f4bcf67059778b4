// Behaviour of the retention actor (retention_state.hpp).
#include "actors/retention_state.hpp"

#include <caf/typed_event_based_actor.hpp>

#include "actors/log.hpp"
#include "storage/errors.hpp"

namespace jobd {

namespace {

void prune_round(retention_ptr self, int64_t so_far) {
  auto& st = self->state;
  auto cutoff = st.clock->now_ms() - st.cfg.max_age_ms;
  // Retention off: no job is deleted, but the change feed's old records
  // still are (prune with a batch of 0).
  auto batch = st.cfg.max_age_ms > 0 ? st.cfg.batch : 0;
  self->request(st.store, caf::infinite, prune_atom::value, cutoff, batch)
    .then(
      [=](int64_t n) {
        if (batch > 0 && n >= batch) {
          prune_round(self, so_far + n);
          return;
        }
        if (so_far + n > 0)
          log_line("retention: deleted " + std::to_string(so_far + n)
                   + " finished job(s)");
      },
      [=](caf::error& err) {
        log_line("retention: prune failed: " + message_of(err));
      });
}

} // namespace

retention_actor::behavior_type
retention_fn(retention_ptr self, retention_config cfg, store_actor store,
             std::shared_ptr<const clock_source> clock) {
  self->state.cfg = cfg;
  self->state.store = std::move(store);
  self->state.clock = std::move(clock);
  self->send(self, prune_atom::value, self->state.chain);
  return {
    [=](prune_atom, uint32_t chain) {
      auto& st = self->state;
      if (chain != st.chain)
        return; // replaced by a reconfigure
      prune_round(self, 0);
      self->delayed_send(self, std::chrono::milliseconds(st.cfg.interval_ms),
                         prune_atom::value, chain);
    },
    [=](reconfig_atom, retention_config& next) {
      auto& st = self->state;
      if (next.max_age_ms == st.cfg.max_age_ms
          && next.interval_ms == st.cfg.interval_ms
          && next.batch == st.cfg.batch)
        return; // unchanged: keep the running timer
      st.cfg = next;
      self->send(self, prune_atom::value, ++st.chain);
    },
  };
}

} // namespace jobd
