// A reader actor: one read-only connection (store_options::read_only) on
// its own thread, answering the API's reads, so a GET, a list or the stats
// never wait behind the store actor's writes (on SQLite, WAL lets readers
// run beside the one writer; on PostgreSQL, a second session does). A read
// pool is a few of these (read_pool below); the store actor keeps the
// process's only write connection.
//
// Consistency: each read sees every transaction committed before it began.
// The store actor answers a write after its commit, so a client that reads
// after its write's reply sees that write (read-your-writes holds).
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/typed_actor.hpp>

#include "actors/type_ids.hpp"
#include "storage/job.hpp"
#include "storage/store.hpp"

namespace jobd {

using reader_actor = caf::typed_actor<
  // One job by id. Errors: not_found, busy, io.
  caf::replies_to<caf::get_atom, std::string>::with<job>,
  // A job's attempts, oldest first (job_store::attempts, the newest
  // max_attempts_listed). Errors: not_found, busy, io.
  caf::replies_to<attempts_atom, std::string>::with<attempt_history>,
  // The external workers seen lately, most recently first, each with the
  // jobs it holds (job_store::workers). Errors: busy, io.
  caf::replies_to<workers_atom>::with<worker_list>,
  // A page of jobs, newest first. Errors: invalid (names the field), busy,
  // io.
  caf::replies_to<list_atom, job_filter>::with<job_page>,
  // Counts by status and type. Errors: busy, io.
  caf::replies_to<stats_atom>::with<job_counts>>;

/// Spawns a reader (detached: its reads block) owning `store`, which should
/// be opened read-only. The actor ends on an exit message; its connection
/// closes with it.
reader_actor spawn_reader_actor(caf::actor_system& sys,
                                std::unique_ptr<job_store> store);

/// A few readers shared round robin. Empty means: no read pool (then the
/// API reads through the store actor, e.g. on ":memory:").
class read_pool {
public:
  read_pool() = default;
  explicit read_pool(std::vector<reader_actor> readers);
  bool empty() const { return readers_.empty(); }
  size_t size() const { return readers_.size(); }
  /// The next reader, round robin. REQUIRES: !empty(). Any thread.
  reader_actor next() const;
  const std::vector<reader_actor>& readers() const { return readers_; }

private:
  std::vector<reader_actor> readers_;
  std::shared_ptr<std::atomic<size_t>> turn_
    = std::make_shared<std::atomic<size_t>>(0);
};

/// Opens `count` read-only connections with `opts` (read_only is set here)
/// and spawns a reader on each. Errors: as open_store with read_only
/// (invalid for a database with no file, such as ":memory:").
caf::expected<read_pool>
start_read_pool(caf::actor_system& sys, store_options opts, int count,
                std::shared_ptr<const clock_source> clock);

/// Ends every reader of the pool and waits until they are gone, so their
/// connections are closed before the caller closes the writer's (SQLite:
/// the last connection to close removes the WAL).
void stop_read_pool(caf::actor_system& sys, const read_pool& pool);

} // namespace jobd
