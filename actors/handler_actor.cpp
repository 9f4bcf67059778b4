// Behaviour of a handler actor (duties: handler_state.hpp).
#include "actors/handler_state.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <caf/typed_event_based_actor.hpp>

namespace jobd {

handler_actor::behavior_type
handler_fn(handler_ptr self, pool_actor pool,
           std::shared_ptr<const handler_registry> reg,
           std::shared_ptr<std::atomic<bool>> cancel,
           std::shared_ptr<progress_slot> progress, std::string ledger_path) {
  auto& st = self->state;
  st.pool = std::move(pool);
  st.registry = std::move(reg);
  st.cancel = std::move(cancel);
  st.progress = std::move(progress);
  st.ledger_path = std::move(ledger_path);
  return {
    [=](run_atom, const job& j) {
      auto& st = self->state;
      const auto& ledger_path = st.ledger_path;
      const auto& reg = st.registry;
      if (!ledger_path.empty()) {
        // One write() with O_APPEND: lines from many processes never mix.
        auto line = j.id + " " + std::to_string(j.attempt) + " "
                    + std::to_string(getpid()) + "\n";
        int fd = ::open(ledger_path.c_str(), O_WRONLY | O_APPEND | O_CREAT,
                        0644);
        if (fd >= 0) {
          auto n = ::write(fd, line.data(), line.size());
          (void) n;
          ::close(fd);
        }
      }
      outcome out;
      auto h = reg->find(j.type);
      if (!h) {
        out = outcome::failure("no handler for job type '" + j.type
                                 + "' (this worker knows: "
                                 + reg->type_list() + ")",
                               true);
      } else {
        run_context ctx;
        ctx.cancelled = st.cancel.get();
        ctx.progress = st.progress.get();
        try {
          out = h->run(j, ctx);
        } catch (const std::exception& e) {
          out = outcome::failure(std::string{"handler threw: "} + e.what());
        }
        // Anything else propagates: the actor dies and the pool fails the
        // job with the exit reason, then replaces this handler.
      }
      // Sent (not anonymous): the pool knows the job by its sender.
      self->send(st.pool, done_atom::value, std::move(out));
    },
  };
}

} // namespace jobd
