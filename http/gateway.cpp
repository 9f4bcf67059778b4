// The gateway actors behind run_on_gateway (http/context.hpp): a request
// from a session becomes a task message to one of a few long-lived actors,
// which talks to the store actor. Before, every request spawned (and ended)
// an actor of its own.
#include "http/context.hpp"

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/send.hpp>

namespace jobd {
namespace {

/// Work for a gateway: runs on its thread with the gateway as `self`.
struct gateway_task {
  std::function<void(caf::event_based_actor*)> fn;
};

} // namespace
} // namespace jobd

// A function travels only between threads of this process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(jobd::gateway_task)

namespace jobd {

std::vector<caf::actor> spawn_gateways(caf::actor_system& sys, int count) {
  std::vector<caf::actor> out;
  for (int i = 0; i < count; ++i)
    out.push_back(sys.spawn([](caf::event_based_actor* self) -> caf::behavior {
      return {
        [self](gateway_task& t) { t.fn(self); },
      };
    }));
  return out;
}

void run_on_gateway(server_context& ctx,
                    std::function<void(caf::event_based_actor*)> task) {
  auto i = ctx.next_gateway.fetch_add(1, std::memory_order_relaxed);
  caf::anon_send(ctx.gateways[i % ctx.gateways.size()],
                 gateway_task{std::move(task)});
}

void run_on_gateway_later(server_context& ctx, std::chrono::milliseconds delay,
                          std::function<void(caf::event_based_actor*)> task) {
  auto i = ctx.next_gateway.fetch_add(1, std::memory_order_relaxed);
  caf::delayed_anon_send(ctx.gateways[i % ctx.gateways.size()], delay,
                         gateway_task{std::move(task)});
}

} // namespace jobd
