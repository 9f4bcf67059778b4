// Behaviour of the PostgreSQL notification actor (pg_notify_state.hpp).
#include "actors/pg_notify_state.hpp"

#include <caf/typed_event_based_actor.hpp>

#include "actors/log.hpp"

namespace jobd {

pg_notify_actor::behavior_type pg_notify_fn(pg_notify_ptr self,
                                          std::shared_ptr<pg_listener> l,
                                          scheduler_actor scheduler,
                                          pool_actor pool) {
  self->state.listener = std::move(l);
  self->state.scheduler = std::move(scheduler);
  self->state.pool = std::move(pool);
  // The wake-up listener speaks for both: the settled one only shortens
  // how long a cancelled job runs on (the heartbeat still stops it).
  const bool speaks = static_cast<bool>(self->state.scheduler);
  self->state.listening = self->state.listener->connected();
  if (!self->state.listening && speaks)
    log_line("LISTEN unavailable at start, retrying with backoff; polling "
             "meanwhile: " + self->state.listener->last_error());
  self->send(self, poll_atom::value);
  return {
    [=](poll_atom) {
      auto& st = self->state;
      // A wait that reconnects returns true: the scheduler then polls for
      // whatever was enqueued while LISTEN was down (and the pool renews).
      if (st.listener->wait(std::chrono::milliseconds(1000))) {
        if (st.scheduler)
          self->send(st.scheduler, wake_atom::value);
        if (st.pool)
          self->send(st.pool, cancel_atom::value);
      }
      bool now = st.listener->connected();
      if (now != st.listening) {
        st.listening = now;
        if (speaks)
          log_line(now ? std::string{"LISTEN wake-ups are back"}
                       : "LISTEN wake-ups lost, polling until they are back: "
                           + st.listener->last_error());
      }
      self->send(self, poll_atom::value);
    },
  };
}

} // namespace jobd
