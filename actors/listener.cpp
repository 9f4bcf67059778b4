#include "actors/listener.hpp"

#include <caf/typed_event_based_actor.hpp>

namespace jobd {

listener_actor::behavior_type listener_fn(listener_ptr self,
                                          std::shared_ptr<pg_listener> l,
                                          scheduler_actor scheduler) {
  self->state.listener = std::move(l);
  self->state.scheduler = std::move(scheduler);
  self->send(self, poll_atom::value);
  return {
    [=](poll_atom) {
      if (self->state.listener->wait(std::chrono::milliseconds(1000)))
        self->send(self->state.scheduler, wake_atom::value);
      self->send(self, poll_atom::value);
    },
  };
}

} // namespace jobd
