// State and behaviour of the store actor (interface: store_actor.hpp).
//
// Duties, in order:
// 1. Own the one job_store (database connection) of this process.
// 2. Answer reads (get, list, stats) at once; claims too while idle.
// 3. Queue writes (enqueue, complete, fail, heartbeat, release; claims
//    while the last claim found work) and commit
//    all writes queued since the last commit in one transaction when the
//    flush message it sent itself comes up in the mailbox: everything that
//    arrived meanwhile shares one commit (one fsync with synchronous=FULL).
//    Replies go out only after the commit: an acknowledged write is durable.
// 4. Wake registered actors after writes that may make work due.
// 5. Tell subscribers about every change (for live updates).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <caf/stateful_actor.hpp>

#include "actors/store_actor.hpp"
#include "storage/store.hpp"

namespace jobd {

struct store_actor_config {
  /// Who holds the leases this process takes: "host:pid:random" by default
  /// (see default_worker_id); must be unique per process.
  std::string worker_id;
  /// How long a claimed job stays ours without a heartbeat. A killed worker's
  /// jobs run again this long after its last heartbeat.
  ms_t lease_ms = 30'000;
  /// Spawn detached (own thread). Tests on the deterministic scheduler turn
  /// this off.
  bool detached = true;
};

/// "hostname:pid:4-hex-random": unique per process, readable in the API.
std::string default_worker_id();

struct store_actor_state {
  static inline const char* name = "jobd.store";

  std::shared_ptr<job_store> store;
  store_actor_config cfg;

  /// A write waiting for the next commit: `apply` runs inside the
  /// transaction and returns an error only for a failure that must abort
  /// the whole batch (busy, io); `reply` runs after the commit with the
  /// batch's error (or none).
  struct pending_write {
    std::function<caf::error()> apply;
    std::function<void(const caf::error&)> reply;
  };
  std::vector<pending_write> writes;
  bool flush_scheduled = false;
  /// The last claim found work: the worker is draining a backlog, so the
  /// next claim joins the group commit (see the claim handler).
  bool claiming_backlog = false;
  bool wake_after_flush = false;
  /// Ids whose change subscribers should hear of after the commit.
  std::vector<std::string> changed_ids;
  std::vector<job> changed_jobs;

  std::vector<caf::actor> wake_targets;
  std::vector<caf::actor> subscribers;
};

using store_actor_ptr = store_actor::stateful_pointer<store_actor_state>;

/// The behaviour. The actor is the store's only user from then on.
store_actor::behavior_type store_actor_fn(store_actor_ptr self,
                                          std::shared_ptr<job_store> store,
                                          store_actor_config cfg);

/// Spawns the store actor (detached unless cfg.detached is false).
store_actor spawn_store_actor(caf::actor_system& sys,
                              std::unique_ptr<job_store> store,
                              store_actor_config cfg);

} // namespace jobd
