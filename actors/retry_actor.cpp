// Behaviour of the retry actor (interface: retry_actor.hpp; state:
// retry_state.hpp).
//
// The retry life cycle, step by step:
// 1. A handler's failure arrives from the pool with the job as claimed (its
//    retry_count) and the handler's outcome.
// 2. Delay = backoff_for(retry_count): base * 2^retry_count capped at `cap`,
//    less up to `jitter` of it at random (so retries of a burst spread out),
//    but never sooner than the handler's Retry-After.
// 3. The store records it in one statement: PENDING with retry_count+1 and
//    scheduledFor = now + delay, or FAILED if permanent or out of retries.
//    The row is the truth: a retry survives a restart. A transient store
//    error is tried again (write_retry.hpp); failing that, the lease runs
//    out and the rescued job counts a retry.
// 4. A timer wakes the scheduler when the retry is due, so it runs on time
//    rather than at the next poll.
// 5. On shutdown, answer once every failure received so far is committed.
#include "actors/retry_state.hpp"

#include <algorithm>
#include <cmath>

#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/log.hpp"
#include "actors/write_retry.hpp"
#include "storage/errors.hpp"

namespace jobd {

ms_t backoff_for(int32_t retry_count, const retry_config& cfg,
                 double random01) {
  double d = static_cast<double>(cfg.base_ms)
             * std::pow(2.0, std::min(retry_count, 40));
  d = std::min(d, static_cast<double>(cfg.cap_ms));
  d -= d * cfg.jitter * std::clamp(random01, 0.0, 1.0);
  return static_cast<ms_t>(d);
}

namespace {

// Steps 2-4 of the retry life cycle (see the top of this file).
void record_failure(retry_ptr self, job j, outcome out, int32_t tries) {
  auto& st = self->state;
  std::uniform_real_distribution<double> u{0.0, 1.0};
  auto delay = std::max(backoff_for(j.retry_count, st.cfg, u(st.rng)),
                        out.retry_after_ms);
  lease_ref ref{j.id, j.attempt};
  self->request(st.store, caf::infinite, fail_atom::value, ref, out.error,
                out.permanent, delay)
    .then(
      [=](fail_outcome& res) {
        if (!res.applied)
          return;
        std::vector<log_field> fields{{"id", j.id},
                                      {"type", j.type},
                                      log_num("attempt", j.attempt),
                                      {"worker", j.locked_by},
                                      {"error", out.error}};
        if (log_payloads())
          fields.push_back(log_payload(j.payload));
        if (res.status == job_status::pending) {
          fields.push_back(log_num("retry", res.retry_count));
          fields.push_back({"retry_at", format_time(res.scheduled_for)});
          log_event(log_level::warn, "job failed, will retry", fields);
        } else {
          fields.push_back(log_num("retries", res.retry_count));
          log_event(log_level::warn,
                    out.permanent ? "job failed for good (permanent error)"
                                  : "job failed for good (retries used up)",
                    fields);
          return;
        }
        if (auto& t = self->state.scheduler)
          self->delayed_anon_send(t, std::chrono::milliseconds(delay),
                                  wake_atom::value);
      },
      [=](caf::error& err) {
        if (is_transient(code_of(err)) && tries < outcome_write_tries) {
          self->delayed_send(self, outcome_retry_delay(tries),
                             failed_atom::value, j, out, tries + 1);
          return;
        }
        // The lease runs out and the job is rescued (counting a retry).
        log_line("could not record failure of " + ref.id + ": "
                 + message_of(err));
      });
}

} // namespace

retry_actor::behavior_type retry_fn(retry_ptr self, retry_config cfg,
                                    store_actor store,
                                    scheduler_actor scheduler) {
  self->state.cfg = cfg;
  self->state.store = std::move(store);
  self->state.scheduler = std::move(scheduler);
  return {
    [=](failed_atom, job& j, outcome& out) {
      record_failure(self, std::move(j), std::move(out), 0);
    },
    [=](failed_atom, job& j, outcome& out, int32_t tries) {
      record_failure(self, std::move(j), std::move(out), tries);
    },
    [=](reconfig_atom, retry_config& next) { self->state.cfg = next; },
    [=](shutdown_atom) -> caf::result<bool> {
      // The store answers in order: an empty release is committed after
      // every fail request sent before it.
      auto rp = self->make_response_promise<bool>();
      self->request(self->state.store, caf::infinite, release_atom::value,
                    std::vector<lease_ref>{})
        .then([=](int64_t) mutable { rp.deliver(true); },
              [=](caf::error& err) mutable { rp.deliver(err); });
      return rp;
    },
  };
}

} // namespace jobd
