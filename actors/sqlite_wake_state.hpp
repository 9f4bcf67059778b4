// State and behaviour of the wake-up actors (interfaces:
// sqlite_wake_actor.hpp), and how a runtime starts them.
//
// Duties, in order:
// 1. The store actor (store_actor_config::wake_others), after each commit that
//    may make a job due (enqueue, release, manual retry, update, rescue),
//    sends one datagram to every other process's socket, on its own
//    thread: no actor hop, no thread woken in this process.
// 2. The listener (workers only) blocks on this process's socket and sends
//    the scheduler one wake per batch of datagrams read; when a job was
//    cancelled or settled by hand in another process (wake_jobs_settled),
//    it also tells the pool to renew its leases now, so a running job that
//    was cancelled stops at once, not at the next heartbeat. The scheduler
//    debounces further: one claim in flight at a time, wakes meanwhile
//    fold into one more claim, and none while every handler is busy.
// 3. stop_runtime stops the inbox (and so does the store actor's end, by a
//    functor attached to it): the socket file is removed, the listener's
//    wait returns and it ends.
#pragma once

#include <memory>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/pool_actor.hpp"
#include "actors/scheduler_actor.hpp"
#include "actors/sqlite_wake_actor.hpp"
#include "actors/store_actor.hpp"
#include "storage/sqlite/wake_dir.hpp"

namespace jobd {

struct wake_inbox_state {
  static inline const char* name = "jobd.wake_inbox";
  std::shared_ptr<wake_inbox> inbox;
  scheduler_actor scheduler;
  pool_actor pool;
};

using wake_inbox_ptr =
  wake_inbox_actor::stateful_pointer<wake_inbox_state>;

wake_inbox_actor::behavior_type
wake_inbox_fn(wake_inbox_ptr self, std::shared_ptr<wake_inbox> inbox,
              scheduler_actor scheduler, pool_actor pool);

/// Opens this worker's socket in `dir` (wake_dir_of(db)). If it cannot be
/// made (no write access, `dir` is a file), says so in one log line and
/// returns null: the scheduler's poll finds the jobs, and other processes
/// are still told.
std::shared_ptr<wake_inbox> open_wake_inbox(const std::string& dir);

/// Starts the listener on `inbox`, waking `scheduler` (and `pool`, for
/// settled jobs); it ends when `store` ends. Returns the inbox: stop it to stop listening at once
/// (stop_runtime does, before the actors end).
std::shared_ptr<wake_inbox>
start_wake_listener(caf::actor_system& sys, const store_actor& store,
                    const scheduler_actor& scheduler, const pool_actor& pool,
                    std::shared_ptr<wake_inbox> inbox);

} // namespace jobd
