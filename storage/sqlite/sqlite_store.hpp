// The embedded backend: one SQLite file shared by every jobd process on one
// machine.
//
// - WAL mode; `synchronous` as configured (default FULL). SQLite copies the
//   WAL into the file every 1000 pages (~4 MB, its default) but never
//   shrinks it; here `journal_size_limit` cuts it back to 4 MiB after each
//   such checkpoint, checkpoint() truncates it to zero (the store actor
//   calls it when idle), and the destructor does the same, so a stopped
//   process leaves no WAL behind.
// - A full disk (SQLITE_FULL, or an I/O error with ENOSPC/EDQUOT/EFBIG) is
//   errc::full; the transaction is rolled back, so nothing is half stored.
// - Every write runs in BEGIN IMMEDIATE, so writers queue for the file's
//   write lock instead of failing mid-transaction; a lock held past
//   busy_timeout is retried a few times with jitter before errc::busy.
// - One connection per store object. The runtime keeps one store per
//   process, owned by the store actor, which groups many calls into one
//   transaction with batch().
// - The change feed (changes()): every job row carries the position of the
//   transaction that last changed it ("changeSeq", indexed), deletions leave
//   a row in "JobTombstone", and "JobClock" holds the newest position.
//   SQLite lets one writer commit at a time, so a transaction reads the
//   clock, stamps its rows with clock + 1 and, if it changed anything, adds
//   1 to the clock just before COMMIT: positions follow commit order across
//   every process, with no extra statement per row.
// - Schema version in PRAGMA user_version, migrated on open inside an
//   IMMEDIATE transaction (so processes starting together do not race); a
//   file from a newer jobd is refused (errc::schema).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "storage/store.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace jobd {

/// The schema version this binary writes.
constexpr int sqlite_schema_version = 11;

class sqlite_store final : public job_store {
public:
  /// Opens or creates the file. Errors: io (cannot open, not a database),
  /// schema (newer than this binary), invalid (bad `synchronous`).
  /// With opts.read_only: opens an existing file only; errors: io (no such
  /// file), schema (not this binary's schema version), invalid (no file:
  /// ":memory:", "" or a "file:" URI).
  static caf::expected<std::unique_ptr<sqlite_store>>
  open(const store_options& opts, std::shared_ptr<const clock_source> clk);

  ~sqlite_store() override;

  JOBD_JOB_STORE_OPERATIONS;
  caf::error batch(const std::function<caf::error()>& fn) override;
  caf::error checkpoint() override;
  int64_t free_bytes() override;

  /// `PRAGMA integrity_check` == "ok". For tests and `jobd check`.
  caf::expected<bool> integrity_ok();

  /// The SQL text of one of the store's statements, so tests and the
  /// benchmark baselines run the statement itself, not a copy; "" for any
  /// other name:
  /// - "insert" (enqueue, one row): id, type, payload, maxRetries,
  ///   priority, scheduledFor, createdAt, updatedAt;
  /// - "claim": ?1 worker, ?2 lease end, ?3 now, ?4 limit; returns the
  ///   claimed rows (columns as JOBD_JOB_COLUMNS, storage/job_table.hpp);
  /// - "complete": ?1 result, ?2 now, ?3 id, ?4 attempt, ?5 worker;
  /// - "key_holder": ?1 uniqueKey, ?2 uniqueUntil; the job holding it;
  /// - "list0" .. "list7": list() for each shape of a filter (list_shape,
  ///   storage/job_table.hpp): status, type, cursor as the shape has them,
  ///   then the limit.
  static const char* statement(const std::string& name);

private:
  class stmt;

  sqlite_store(sqlite3* db, store_options opts,
               std::shared_ptr<const clock_source> clk);

  caf::error exec(const char* sql);
  caf::error migrate();
  /// Schema version 5: ContentJob's status CHECK accepts CANCELLED (inside
  /// migrate's transaction). Errors: io, schema (the table is not jobd's).
  caf::error allow_cancelled_status();
  /// Read-only open: the file's schema is this binary's. Errors: schema.
  caf::error check_schema();
  stmt& prepare(const char* sql);
  caf::error sqlite_error(const char* what, int rc);
  /// Runs fn inside one IMMEDIATE transaction (joining an open one).
  caf::error write_txn(const std::function<caf::error()>& fn);

  /// Records that a job of `type` went from status `from` to `to` ("" =
  /// none: inserted or deleted); added to JobCount when the transaction
  /// commits, dropped when it rolls back.
  void count_change(const std::string& from, const std::string& to,
                    const std::string& type);
  /// Adds the recorded changes to JobCount (inside the transaction).
  caf::error flush_counts();
  /// Whether `sql` (one parameter, `arg`) returns a row: the cheap read
  /// that spares an idle round the write lock. Errors: io (names `what`).
  caf::expected<bool> any_row(const char* sql, int64_t arg, const char* what);
  /// The job holding unique key `key` for the period ending `until` (0:
  /// none), if any. Errors: io.
  caf::expected<std::optional<job>> key_holder(const std::string& key,
                                               ms_t until);
  /// Whether schedule `name`'s run at `run_at` was created. Errors: io.
  caf::expected<bool> run_exists(const std::string& name, ms_t run_at);
  /// Refuses (conflict, unique_key_taken) a change by hand that would put
  /// `j` in a state that takes its key while another job holds it.
  caf::error check_key_free(const job& j);
  /// Steps a claim statement bound by the caller: reads each claimed row
  /// into `out` and counts it (inside the transaction). Errors: io (`what`
  /// names the claim; `out` is then empty).
  caf::error collect_claimed(stmt& s, std::vector<job>& out, const char* what);
  /// The due index is ordered by priority first, so "due now" is a range of
  /// it only within one priority: reading it across priorities reads every
  /// PENDING job, those due later (retries, scheduled runs) included, when
  /// fewer jobs are due than asked for (7 ms per claim at 100,000 of them).
  /// So the PENDING priorities are visited highest first, each found by a
  /// seek: `at(priority, done)` runs for each until it sets done; after
  /// max_priority_seeks of them, `rest()` reads the remaining priorities
  /// at once (many distinct priorities).
  caf::error by_priority(
    const std::function<caf::error(int64_t priority, bool& done)>& at,
    const std::function<caf::error()>& rest);
  /// Claims up to `limit` jobs into `out` by priority (by_priority):
  /// `at_sql` for one priority (its last parameter, after those `bind`
  /// sets with the count still wanted), `all_sql` for the rest.
  caf::error claim_by_priority(std::vector<job>& out, int32_t limit,
                               const std::function<void(stmt&, int32_t)>& bind,
                               const char* all_sql, const char* at_sql,
                               const char* what);
  /// How many priorities by_priority seeks before reading the rest at once.
  static constexpr int max_priority_seeks = 16;
  /// Records an ended attempt of job `id` (inside the transaction that
  /// ends it); one already recorded stays as it is.
  caf::error record_attempt(const std::string& id, const attempt_record& a);
  /// Records the deletion of job `id` for the change feed (inside the
  /// transaction).
  caf::error add_tombstone(const std::string& id, ms_t now);
  /// Drops tombstones older than tombstone_keep_ms, noting the newest
  /// dropped position in JobClock.prunedThrough (inside the transaction).
  caf::error drop_old_tombstones(ms_t now);

  sqlite3* db_;
  std::map<std::pair<std::string, std::string>, int64_t> count_deltas_;
  store_options opts_;
  std::shared_ptr<const clock_source> clock_;
  std::map<const char*, std::unique_ptr<stmt>> stmts_;
  int txn_depth_ = 0;
  /// sqlite3_total_changes64 when the outermost transaction began: more at
  /// its end means it changed rows, so it moves the change clock.
  int64_t changes_at_begin_ = 0;
};

} // namespace jobd
