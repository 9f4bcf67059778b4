// State of the store actor (interface: store_actor.hpp; behaviour:
// store_actor.cpp).
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
// 4. Wake registered actors after writes that may make work due, and the
//    other processes on a SQLite database (wake_others: one datagram each,
//    sent from this thread right after the commit).
// 5. Tell subscribers about every change this process makes (metrics), and
//    feed observers about every change any process makes (live updates):
//    while an observer wants the feed, read job_store::changes after each
//    of its own commits and every feed_poll_ms, from the position it last
//    read; the first read after nobody wanted it starts at the current
//    position. One thread reads and commits, so the pages go out in commit
//    order, each job's changes in the order they were made.
// 6. Watch storage health: remember when a write last failed (I/O error,
//    disk full) and check free space on request (health_atom).
// 7. Once no write has come for checkpoint_idle_ms, checkpoint the WAL
//    down to zero bytes (SQLite), so an idle process holds no WAL.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <caf/stateful_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/retry_state.hpp"
#include "actors/store_actor.hpp"
#include "storage/clock.hpp"
#include "storage/sqlite/wake_dir.hpp"
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
  /// Health turns bad while free space on the database's file system is
  /// under this many bytes (SQLite only); 0 = not checked. Default 64 MiB:
  /// room for the WAL (4 MiB) and the next batches of jobs.
  int64_t min_free_bytes = 64LL << 20;
  /// Health stays bad this long after a write failed with an I/O error or
  /// a full disk. Default 60 s.
  ms_t write_error_window_ms = 60'000;
  /// Checkpoint the WAL (truncating it) after this long without writes;
  /// 0 = never (SQLite's own checkpoints still run). Default 10 s.
  ms_t checkpoint_idle_ms = 10'000;
  /// Ages the last write failure; null = the system clock.
  std::shared_ptr<const clock_source> clock;
  /// SQLite: tells the other processes on the database after each commit
  /// that may make a job due (wake_dir.hpp); null = none (PostgreSQL
  /// notifies in the statement itself). Used on the store's thread only.
  std::shared_ptr<wake_notifier> wake_others;
  /// How often the change feed is read while an observer wants it, to
  /// hear of the other processes' changes (its own are read right after
  /// each commit). Default 100 ms.
  ms_t feed_poll_ms = 100;
  /// The backoff of a failure an external worker reports without its own
  /// retryAfter (the retry actor's for this process's own jobs).
  retry_config retry;
};

/// "hostname:pid:4-hex-random": unique per process, readable in the API.
std::string default_worker_id();

struct store_actor_state {
  static inline const char* name = "jobd.store";

  std::shared_ptr<job_store> store;
  store_actor_config cfg;
  /// The jitter of external workers' backoffs.
  std::mt19937_64 rng{std::random_device{}()};

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

  std::vector<wake_listener> wake_targets;
  std::vector<change_listener> subscribers;
  std::vector<settle_listener> settle_targets;
  /// Told (wake_atom) after a schedule changes through this process.
  std::vector<wake_listener> schedule_targets;
  std::vector<change_observer> observers;
  /// Somebody hears of changes (an actor or a function).
  bool watched() const { return !subscribers.empty() || !observers.empty(); }
  /// Tells every subscriber and observer of a changed job.
  void tell_change(const job& j) const;

  std::vector<feed_observer> feeds;
  /// The change feed position read up to; -1 while nobody wants the feed.
  int64_t feed_pos = -1;

  /// A bulk call in progress: one transaction (job_store::bulk_step) per
  /// turn, each turn a message to itself, so the writes and claims that
  /// arrive meanwhile are served in between. Bulk calls run one after
  /// another, in the order they came.
  struct bulk_run {
    bulk_request request;
    bulk_progress at;
    bulk_result out;
    caf::typed_response_promise<bulk_result> reply;
  };
  std::deque<bulk_run> bulks;
  /// The feed's poll timer is armed.
  bool feed_timer = false;

  /// Writes committed so far; the idle checkpoint timer carries the number
  /// it saw, and checkpoints only if none came since.
  uint64_t writes_committed = 0;
  bool checkpoint_timer = false;
  /// When a write last failed with io or full (clock ms; 0 = never), and why.
  ms_t last_write_error_at = 0;
  std::string last_write_error;
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
