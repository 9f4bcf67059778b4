#include "actors/sqlite_wake_state.hpp"

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/log.hpp"
#include "storage/errors.hpp"

namespace jobd {

namespace {

// How long one wait may block before the listener looks at its mailbox. A
// stop wakes it at once; this only bounds the life of a listener whose stop
// never came. One wake-up per this long is no measurable CPU.
constexpr std::chrono::milliseconds listener_wait{5'000};

} // namespace

wake_inbox_actor::behavior_type
wake_inbox_fn(wake_inbox_ptr self, std::shared_ptr<wake_inbox> inbox,
              scheduler_actor scheduler, pool_actor pool) {
  self->state.inbox = std::move(inbox);
  self->state.scheduler = std::move(scheduler);
  self->state.pool = std::move(pool);
  self->send(self, poll_atom::value);
  return {
    [=](poll_atom) {
      auto& st = self->state;
      auto kinds = st.inbox->wait(listener_wait);
      if (kinds != 0)
        self->send(st.scheduler, wake_atom::value);
      if ((kinds & wake_jobs_settled) != 0)
        self->send(st.pool, cancel_atom::value);
      if (st.inbox->stopped()) {
        self->quit();
        return;
      }
      self->send(self, poll_atom::value);
    },
  };
}

std::shared_ptr<wake_inbox> open_wake_inbox(const std::string& dir) {
  auto in = wake_inbox::open(dir);
  if (!in) {
    log_line("cross-process wake-ups unavailable, polling instead: "
             + message_of(in.error()));
    return nullptr;
  }
  return std::move(*in);
}

std::shared_ptr<wake_inbox>
start_wake_listener(caf::actor_system& sys, const store_actor& store,
                    const scheduler_actor& scheduler, const pool_actor& pool,
                    std::shared_ptr<wake_inbox> inbox) {
  sys.spawn<caf::detached>(wake_inbox_fn, inbox, scheduler, pool);
  // For a runtime ended without stop_runtime (which stops the inbox
  // first): the listener ends with the store actor.
  caf::actor_cast<caf::actor>(store)->attach_functor(
    [inbox] { inbox->stop(); });
  return inbox;
}

} // namespace jobd
