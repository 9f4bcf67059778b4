// Databases for `jobd bench`: where the benchmarks run (bench_storage: a
// fresh, empty jobd database per workload, never the user's own), and raw
// access to them (bench_db: plain prepared statements on a connection of
// its own) for setup, counting and the baselines.
//
// The baselines are the ceiling jobd's own code is measured against: the
// same table, indexes and file settings (WAL, synchronous as configured),
// the stores' own insert, claim and complete statements (their statement()
// accessors, not copies), without actors, the job_store interface or any
// per-job bookkeeping.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/expected.hpp>

#include "storage/store.hpp"

namespace jobd::bench {

/// Fresh databases for the workloads.
///
/// SQLite: a new directory `jobd-bench-XXXXXX` beside storage.db (so the
/// benchmark measures the disk the real database lives on; $TMPDIR if that
/// directory is not writable), one file per workload, all removed when this
/// object goes away. storage.db itself is never opened.
///
/// PostgreSQL: a schema `jobd_bench_<pid>` (`_2`, `_3` for further
/// bench_storage objects of the process) in the URL's database, created
/// for each workload (dropped and re-created) and dropped at the end; the
/// stores reach it through search_path, so tables of other schemas (e.g. a
/// real jobd's "public") are not touched. Needs CREATE on the database.
class bench_storage {
public:
  /// Errors: io (no temp dir), unavailable (PostgreSQL unreachable),
  /// invalid (a URL that already sets `options`).
  static caf::expected<std::unique_ptr<bench_storage>>
  create(const store_options& user);

  ~bench_storage();
  bench_storage(const bench_storage&) = delete;
  bench_storage& operator=(const bench_storage&) = delete;

  /// Throws away the previous database and returns the options of a new,
  /// empty one with jobd's schema (created by opening a job_store on it,
  /// exactly as a worker would).
  caf::expected<store_options> fresh();

  bool is_pg() const { return pg_; }

  /// One line for the report: where the benchmarks run.
  std::string description() const;

private:
  bench_storage() = default;

  store_options base_;
  bool pg_ = false;
  std::string dir_;      // SQLite: the temp dir
  std::string schema_;   // PostgreSQL: jobd_bench_<pid>
  std::string admin_url_; // PostgreSQL: the URL as given (no search_path)
  int files_ = 0;
};

/// Raw access to one benchmark database. Not thread-safe: one thread.
class bench_db {
public:
  /// Connects with the file settings jobd uses (SQLite: WAL, synchronous
  /// as in `opts`). The schema must exist (bench_storage::fresh).
  static caf::expected<std::unique_ptr<bench_db>>
  open(const store_options& opts);

  virtual ~bench_db() = default;

  /// Inserts n PENDING ECHO jobs, due now, as enqueue() stores them, all in
  /// one transaction.
  caf::error insert_pending(int64_t n) { return insert_scheduled(n, 0); }

  /// Inserts n PENDING ECHO jobs one at a time, each in its own committed
  /// transaction (durable before the next, like W1).
  virtual caf::error insert_pending_one_per_commit(int64_t n) = 0;

  /// Inserts n COMPLETED jobs finished an hour ago (ids sorting before any
  /// new job's), in transactions of 100,000 rows.
  virtual caf::error insert_finished(int64_t n) = 0;

  /// Inserts n PENDING ECHO jobs due at `at` (ms; 0 = now), as enqueue()
  /// stores them, in one transaction.
  virtual caf::error insert_scheduled(int64_t n, ms_t at) = 0;

  /// Sets JobCount from the rows (the inserts above bypass the store and
  /// its counts), so /api/stats reports what the table holds.
  virtual caf::error recount() = 0;

  /// Bytes the jobs take on disk: SQLite the file and its WAL, PostgreSQL
  /// ContentJob with its indexes and TOAST. -1 if unknown.
  virtual int64_t disk_bytes() = 0;

  /// After loading, before timing: brings the database to the state a
  /// long-running one would be in, so a drain measures claiming rather
  /// than the aftermath of the load. Checkpointed (both); on PostgreSQL
  /// also vacuumed and analyzed, autovacuum's work.
  virtual caf::error settle() = 0;

  /// Until no job is due: claims up to `batch` jobs for `worker` in one
  /// committed transaction (jobd's claim statement), then completes them
  /// in a second one (jobd's fenced complete statement). Returns how many
  /// jobs it completed.
  virtual caf::expected<int64_t>
  claim_and_complete_all(int32_t batch, const std::string& worker) = 0;

  /// True while any job is PENDING or PROCESSING (an index probe, cheap
  /// however many finished jobs the table holds).
  virtual caf::expected<bool> any_unfinished() = 0;

  /// How many jobs have this status ("COMPLETED", ...).
  virtual caf::expected<int64_t> count(const std::string& status) = 0;
};

} // namespace jobd::bench
