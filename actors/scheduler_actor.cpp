// Behaviour of the scheduler (duties: scheduler_state.hpp).
#include "actors/scheduler_state.hpp"

#include <algorithm>

#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/log.hpp"
#include "storage/errors.hpp"

namespace jobd {

namespace {

ms_t now_of(const scheduler_state& st) {
  return st.clock ? st.clock->now_ms() : system_clock_source{}.now_ms();
}

// A claim failed with a transient error: the first opens an outage (one
// log line); each doubles the wait before the next claim (1 s .. 30 s),
// and one wake is armed for then.
void claim_failed(scheduler_ptr self, const caf::error& err) {
  auto& st = self->state;
  auto& o = st.outage;
  auto now = now_of(st);
  if (st.counters)
    ++st.counters->claims_failed;
  if (!o.on) {
    o.on = true;
    o.since = now;
    o.failures = 0;
    if (st.counters)
      ++st.counters->database_outages;
    log_line("database unreachable: " + message_of(err)
             + "; claims back off from 1 s to "
             + std::to_string(scheduler_state::max_backoff_ms / 1000)
             + " s until it answers");
  }
  ++o.failures;
  ms_t wait = 1'000;
  for (int i = 1; i < o.failures && wait < scheduler_state::max_backoff_ms; ++i)
    wait *= 2;
  wait = std::min(wait, scheduler_state::max_backoff_ms);
  o.next_try = now + wait;
  if (!o.retry_armed) {
    o.retry_armed = true;
    self->delayed_send(self, std::chrono::milliseconds(wait),
                       wake_atom::value);
  }
}

void claim_worked(scheduler_ptr self) {
  auto& st = self->state;
  auto& o = st.outage;
  if (!o.on)
    return;
  log_line("database reachable again after "
           + std::to_string((now_of(st) - o.since) / 1000) + " s ("
           + std::to_string(o.failures) + " failed claim(s))");
  o = scheduler_state::outage_state{};
}

void try_claim(scheduler_ptr self) {
  auto& st = self->state;
  if (st.stopping || st.free_slots <= 0 || !st.pool)
    return;
  if (st.outage.on) {
    if (now_of(st) < st.outage.next_try)
      return; // backing off: the armed wake (or a poll) comes later
    st.outage.retry_armed = false; // due: the next failure arms another
  }
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
        claim_worked(self);
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
        // A transient error (a database restarting, locked, full, an I/O
        // failure: see is_transient) may be gone in a moment: try again
        // soon rather than at the next poll (which may be far off), so a
        // wake-up that met it is not lost, backing off while it lasts.
        if (is_transient(code_of(err)))
          claim_failed(self, err);
        else
          log_line("claim failed: " + message_of(err));
      });
}

} // namespace

scheduler_actor::behavior_type
scheduler_fn(scheduler_ptr self, scheduler_config cfg, store_actor store,
             std::shared_ptr<const clock_source> clock,
             std::shared_ptr<worker_counters> counters) {
  self->state.clock = std::move(clock);
  self->state.counters = std::move(counters);
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
            // During an outage the claims' line says it already.
            if (!self->state.outage.on)
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
