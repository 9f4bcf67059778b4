// State and behaviour of the wake-up actors (interfaces:
// sqlite_wake_actor.hpp), and how a runtime starts them.
//
// Duties, in order:
// 1. The notifier registers with the store actor as a wake target; after
//    each commit that may make a job due (enqueue, release, manual retry,
//    update), it sends one datagram to every other process's socket.
// 2. The listener (workers only) blocks on this process's socket and sends
//    the scheduler one wake per batch of datagrams read. The scheduler
//    debounces further: one claim in flight at a time, wakes meanwhile
//    fold into one more claim, and none while every handler is busy.
// 3. stop_runtime stops the inbox (and so does the store actor's end, by a
//    functor attached to it): the socket file is removed, the listener's
//    wait returns and it ends; the notifier ends with the store actor.
#pragma once

#include <memory>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/scheduler_actor.hpp"
#include "actors/sqlite_wake_actor.hpp"
#include "actors/store_actor.hpp"
#include "storage/sqlite/wake_dir.hpp"

namespace jobd {

struct wake_inbox_state {
  static inline const char* name = "jobd.wake_inbox";
  std::shared_ptr<wake_inbox> inbox;
  scheduler_actor scheduler;
};

using wake_inbox_ptr =
  wake_inbox_actor::stateful_pointer<wake_inbox_state>;

wake_inbox_actor::behavior_type
wake_inbox_fn(wake_inbox_ptr self, std::shared_ptr<wake_inbox> inbox,
                 scheduler_actor scheduler);

struct wake_notifier_state {
  static inline const char* name = "jobd.wake_notifier";
  std::unique_ptr<wake_notifier> notifier;
};

using wake_notifier_ptr =
  wake_notifier_actor::stateful_pointer<wake_notifier_state>;

/// Ends when `store` ends. `inbox` (may be null): this process's own
/// socket, not to be told.
wake_notifier_actor::behavior_type
wake_notifier_fn(wake_notifier_ptr self, std::string dir,
                 std::shared_ptr<wake_inbox> inbox, store_actor store);

/// Starts cross-process wake-ups through `dir` (wake_dir_of(db)): the
/// notifier always, the listener when `scheduler` is set. Both end when
/// `store` ends. If this process's socket cannot be made (no write access,
/// `dir` is a file), says so in one log line and carries on: the
/// scheduler's poll finds the jobs, and other processes are still told.
/// Returns this process's inbox (null if none): stop it to stop listening
/// at once (stop_runtime does, before the actors end).
std::shared_ptr<wake_inbox>
start_sqlite_wake(caf::actor_system& sys, const store_actor& store,
                  const scheduler_actor& scheduler, const std::string& dir);

} // namespace jobd
