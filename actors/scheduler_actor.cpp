// Behaviour of the scheduler (duties: scheduler_state.hpp).
#include "actors/scheduler_state.hpp"

#include <algorithm>

#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/log.hpp"
#include "storage/errors.hpp"

namespace jobd {

namespace {

void try_claim(scheduler_ptr self) {
  auto& st = self->state;
  if (st.stopping || st.free_slots <= 0 || !st.pool)
    return;
  if (st.claim_in_flight) {
    st.wake_pending = true;
    return;
  }
  st.claim_in_flight = true;
  st.wake_pending = false;
  auto limit = std::min(st.free_slots, scheduler_state::max_claim);
  self->request(st.store, caf::infinite, claim_atom::value, limit)
    .then(
      [=](std::vector<job>& jobs) {
        auto& st = self->state;
        st.claim_in_flight = false;
        auto n = static_cast<int32_t>(jobs.size());
        if (n > 0) {
          st.free_slots -= n;
          self->send(st.pool, run_atom::value, std::move(jobs));
        }
        // A full batch means more may be waiting; so may a wake that came
        // while we were out.
        if (n == limit || st.wake_pending)
          try_claim(self);
      },
      [=](caf::error& err) {
        auto& st = self->state;
        st.claim_in_flight = false;
        log_line("claim failed: " + message_of(err));
        // A transient error (a database restarting, locked, full, an I/O
        // failure: see is_transient) may be gone in a moment: try again in a
        // second rather than at the next poll (which may be far off), so a
        // wake-up that met it is not lost.
        if (is_transient(code_of(err)))
          self->delayed_send(self, std::chrono::seconds(1), wake_atom::value);
      });
}

} // namespace

scheduler_actor::behavior_type scheduler_fn(scheduler_ptr self,
                                            scheduler_config cfg,
                                            store_actor store) {
  auto& st = self->state;
  st.cfg = cfg;
  st.store = std::move(store);
  st.free_slots = cfg.slots;
  // Wake-ups from the store after enqueues, releases and manual retries.
  self->send(st.store, wake_atom::value, wake_listener{self});
  self->send(self, poll_atom::value, st.poll_chain);
  self->delayed_send(self, std::chrono::milliseconds(cfg.rescue_interval_ms),
                     rescue_atom::value, st.rescue_chain);
  return {
    [=](run_atom, job_runner pool) {
      self->state.pool = std::move(pool);
      try_claim(self);
    },
    [=](wake_atom) { try_claim(self); },
    [=](poll_atom, uint32_t chain) {
      if (chain != self->state.poll_chain)
        return; // replaced by a reconfigure
      try_claim(self);
      if (!self->state.stopping)
        self->delayed_send(self,
                           std::chrono::milliseconds(self->state.cfg.poll_interval_ms),
                           poll_atom::value, chain);
    },
    [=](rescue_atom, uint32_t chain) {
      auto& st = self->state;
      if (st.stopping || chain != st.rescue_chain)
        return;
      self->request(st.store, caf::infinite, rescue_atom::value)
        .then(
          [=](int64_t n) {
            if (n > 0) {
              log_line("rescued " + std::to_string(n)
                       + " job(s) whose lease expired");
              try_claim(self);
            }
          },
          [=](caf::error& err) {
            log_line("lease sweep failed: " + message_of(err));
          });
      self->delayed_send(self,
                         std::chrono::milliseconds(st.cfg.rescue_interval_ms),
                         rescue_atom::value, chain);
    },
    [=](slots_atom, int32_t n) {
      self->state.free_slots += n;
      try_claim(self);
    },
    [=](reconfig_atom, scheduler_config& next) {
      auto& st = self->state;
      auto old = st.cfg;
      st.cfg = next;
      // The free count tracks (pool size - jobs held), so a new size moves
      // it by the difference; below zero, claims wait for running jobs.
      st.free_slots += next.slots - old.slots;
      if (st.stopping)
        return;
      // Start new timer chains so a shorter interval applies now, not after
      // the old (maybe long) one runs out.
      if (next.poll_interval_ms != old.poll_interval_ms)
        self->delayed_send(self,
                           std::chrono::milliseconds(next.poll_interval_ms),
                           poll_atom::value, ++st.poll_chain);
      if (next.rescue_interval_ms != old.rescue_interval_ms)
        self->delayed_send(self,
                           std::chrono::milliseconds(next.rescue_interval_ms),
                           rescue_atom::value, ++st.rescue_chain);
      try_claim(self);
    },
    [=](shutdown_atom) -> caf::result<bool> {
      self->state.stopping = true;
      if (!self->state.claim_in_flight)
        return true;
      // Answer after the claim in flight: its jobs reach the pool first (and
      // the pool, already stopping, hands them back).
      auto rp = self->make_response_promise<bool>();
      self->request(self->state.store, caf::infinite, claim_atom::value,
                    int32_t{0})
        .then([=](std::vector<job>&) mutable { rp.deliver(true); },
              [=](caf::error&) mutable { rp.deliver(true); });
      return rp;
    },
  };
}

} // namespace jobd
