// State of a handler actor (interface: handler_actor.hpp; behaviour:
// handler_actor.cpp).
//
// Duties, in order:
// 1. With a ledger path set, append "<job id> <attempt> <pid>" as the job
//    starts (an audit trail of every start).
// 2. Run the handler registered for the job's type; an unknown type fails
//    permanently naming the types this worker knows, and an exception
//    fails the attempt with its message.
//    Its progress reports (run_context::report_progress) go to a slot the
//    pool shares and stores from (pool_state.hpp, duty 3b).
// 3. Report the outcome to the pool. Anything worse than an exception
//    kills the actor: the pool fails the job with the exit reason and
//    spawns a replacement.
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include <caf/stateful_actor.hpp>

#include "actors/handler_actor.hpp"
#include "actors/pool_actor.hpp"
#include "handlers/handler.hpp"

namespace jobd {

struct handler_state {
  /// Declared so the struct is no aggregate: CAF constructs a state from
  /// the actor pointer when it can, and in C++20 an aggregate whose first
  /// member takes that pointer (pool) could be.
  handler_state() = default;

  static inline const char* name = "jobd.handler";
  /// Hears of each outcome.
  pool_actor pool;
  std::shared_ptr<const handler_registry> registry;
  /// Set by the pool when the job is given up (shutdown deadline).
  std::shared_ptr<std::atomic<bool>> cancel;
  /// Where the handler's progress reports go; the pool takes them.
  std::shared_ptr<progress_slot> progress;
  /// The start ledger (pool_config::ledger_path); "" = none.
  std::string ledger_path;
};

using handler_ptr = handler_actor::stateful_pointer<handler_state>;

handler_actor::behavior_type
handler_fn(handler_ptr self, pool_actor pool,
           std::shared_ptr<const handler_registry> reg,
           std::shared_ptr<std::atomic<bool>> cancel,
           std::shared_ptr<progress_slot> progress, std::string ledger_path);

} // namespace jobd
