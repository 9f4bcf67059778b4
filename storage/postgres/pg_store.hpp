// The shared backend: one PostgreSQL database for jobd processes on many
// machines. Same table, same semantics and same contract as sqlite_store.
//
// - One connection per store object (the store actor's), libpqxx 6.4.
// - Every write but update() is a single SQL statement on the jobs
//   (enqueue with the database clock first reads the time, for the ids),
//   followed before COMMIT by its JobCount deltas and, if it changed jobs,
//   its change feed position. Outside batch() it runs in a transaction of
//   its own; inside batch() it joins the batch's transaction (group
//   commit), which writes the deltas and takes one position at its end.
// - Claiming is one statement: UPDATE ... WHERE id = ANY(ARRAY(SELECT id ...
//   WHERE status = 'PENDING' AND "scheduledFor" <= now ORDER BY priority
//   DESC, "scheduledFor", "createdAt" LIMIT n FOR UPDATE SKIP LOCKED)), on a
//   partial index that holds only PENDING rows: concurrent claimers skip each
//   other's rows instead of waiting, and a claim stays O(log n) however many
//   finished jobs the table keeps. Outcomes are fenced by id + attempt +
//   lockedBy + status, as in SQLite.
// - Times are bigint milliseconds since the epoch, as in SQLite, so rows and
//   job fields read the same in both backends. "Now" comes from the clock
//   named by pg_time_source (see there). prune()'s cut-off is the caller's
//   value, as given.
// - Schema version in table jobd_schema, migrated on open inside a
//   transaction holding pg_advisory_xact_lock, so processes starting
//   together do not race; a database from a newer jobd is refused
//   (errc::schema). Tables live in the first schema of the connection's
//   search_path (default "public"). Version 3 (the change feed) adds
//   "changeXid" to ContentJob and the tables JobTxn, JobClock and
//   JobTombstone; jobs last changed before it are in no feed transaction.
// - The change feed (changes()): a sequence is not commit-ordered across
//   processes, so each job row carries the id of the transaction that last
//   changed it ("changeXid" = pg_current_xact_id(); a heartbeat keeps it),
//   and a deletion leaves a JobTombstone row. As its last statement before
//   COMMIT, a transaction that changed or deleted jobs takes the next seq
//   from the single JobClock row and records (seq, xid) in JobTxn: the row
//   lock is held only through the commit, so seqs are dense and in commit
//   order across every process, and a reader's snapshot always holds a
//   prefix of them. A transaction that changed nothing writes no seq.
//   changes() joins JobTxn (seq > after) to the jobs and tombstones by xid.
//   prune() drops JobTxn rows older than tombstone_keep_ms with their
//   tombstones and raises JobClock."prunedThrough", the gap mark.
// - Round trips (see pg_tx.hpp): a write transaction sends BEGIN with its
//   first statement and COMMIT with its closing statements (counts, the
//   feed's clock), so n statements cost n + 1 round trips; complete_all
//   and heartbeat are one statement however many jobs.
// - A claim whose COMMIT reply is lost (in doubt) may have committed: its
//   jobs are handed back (release) on the first call after the reconnect,
//   so they neither sit PROCESSING until their lease runs out nor spend a
//   retry they never used.
// - Connection loss: the call that meets it returns errc::unavailable and
//   drops the connection; the next call reconnects, waiting with exponential
//   backoff between failed attempts (calls inside the wait return
//   unavailable at once rather than block the store actor).
// - A call that gets no reply within pg_store_options::call_timeout_ms (a
//   lease, as jobd derives it) counts as a lost connection too: the
//   watchdog (pg_watchdog.hpp) shuts its socket down, so a network that
//   swallows requests without resetting the connection cannot hold the
//   store actor, and every write of the process, forever.
// - Wake-ups: operations that make a job due (enqueue, a failure with a
//   retry, release, retry, rescue, update to PENDING) run
//   pg_notify('jobd_jobs') in the same statement, so listeners (see
//   pg_listener.hpp) hear of it only once it is committed.
// - store_options.synchronous and busy_timeout_ms are SQLite settings;
//   PostgreSQL's durability is the server's (synchronous_commit). The
//   server's lock_timeout is set to busy_timeout_ms, so a row lock held too
//   long (e.g. by an operator's open transaction) ends in errc::busy.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "storage/postgres/pg_conninfo.hpp"
#include "storage/postgres/pg_watchdog.hpp"
#include "storage/store.hpp"

namespace pqxx {
class result;
} // namespace pqxx


namespace jobd {

/// Whether a connection error (libpq's first line) says the server refused
/// the login (wrong password, unknown role or database, pg_hba.conf) rather
/// than could not be reached.
bool login_refused(const std::string& error);

/// The schema version this binary writes.
constexpr int pg_schema_version = 11;

/// The channel every wake-up is sent on.
constexpr const char* pg_notify_channel = "jobd_jobs";

/// The channel a change by hand (cancel, update) of a job that has run is
/// announced on: workers renew their leases at once, so one they no
/// longer hold stops now rather than at the next heartbeat.
constexpr const char* pg_settled_channel = "jobd_settled";

/// Where a PostgreSQL store reads "now" (createdAt, scheduledFor, leases).
enum class pg_time_source {
  /// The database server's clock (statement_timestamp()), so processes on
  /// machines with skewed clocks agree on leases and schedules. The
  /// clock_source passed to open() is not used. Production.
  database,
  /// The clock_source's value, sent as a query parameter, so tests drive
  /// time with a manual_clock exactly as they do with SQLite.
  injected,
};

/// PostgreSQL-only settings.
struct pg_store_options {
  /// Default: the database clock. open_store() picks `injected` for any
  /// clock_source other than system_clock_source (i.e. a test clock).
  pg_time_source time = pg_time_source::database;
  /// Wait after the first failed reconnect; doubles per further failure.
  int32_t reconnect_min_ms = 100;
  /// Longest wait between reconnect attempts.
  int32_t reconnect_max_ms = 5000;
  /// libpq connect_timeout in seconds, unless the URL sets one (default 10).
  int32_t connect_timeout_s = 10;
  /// The longest a call (a write, a batch, a read) may wait for the server
  /// before the connection is given up as lost (pg_watchdog.hpp): the
  /// network may swallow a request without resetting the connection.
  /// -1 = twice store_options::pg_session_timeout_ms (worker.lease, as jobd
  /// derives it), 0 = no deadline. Default -1.
  int64_t call_timeout_ms = -1;
};

class pg_tx;

class pg_store final : public job_store {
public:
  /// Connects to `opts.url` (a libpq URI: postgresql://user:pw@host:port/db
  /// ?param=value...), creates or migrates the schema and prepares the
  /// statements. Errors: unavailable (cannot connect: names host, port,
  /// database and user, never the password), schema (a newer jobd's
  /// database), invalid (malformed URL; or the server refused the login:
  /// see login_refused, says what to check), io (any other server error).
  static caf::expected<std::unique_ptr<pg_store>>
  open(const store_options& opts, std::shared_ptr<const clock_source> clk,
       pg_store_options pg = {});

  ~pg_store() override;

  // The job_store contract, plus for every method: errc::unavailable when
  // the connection is lost or cannot be re-established (nothing was done,
  // except for a call whose commit the loss interrupted: its outcome is
  // unknown). Outcome calls (complete, fail, heartbeat, release) may be
  // repeated after unavailable: fencing makes a repeat of an applied call
  // change nothing (it then reports the attempt as stale).
  JOBD_JOB_STORE_OPERATIONS;
  /// As job_store::batch. PostgreSQL aborts a transaction at its first SQL
  /// error: inner calls after one return that error without running, and
  /// the batch returns it even if fn ignored it. Errors of the store's own
  /// checks (not_found, conflict, invalid) do not abort the batch.
  caf::error batch(const std::function<caf::error()>& fn) override;
  /// As job_store::get_for_update: SELECT ... FOR UPDATE (the row lock
  /// lasts until the batch's transaction ends).
  caf::expected<job> get_for_update(const std::string& id) override;
  /// As job_store::complete_all, in one statement.
  caf::expected<std::vector<std::string>>
  complete_all(const std::string& worker,
               const std::vector<completion>& done) override;

  /// How many jobs release_in_doubt() has handed back so far (claims whose
  /// commit reply was lost). For tests and logs.
  int64_t released_in_doubt() const { return released_in_doubt_; }

  /// The server this store talks to, without password:
  /// "127.0.0.1:5432, database jobd, user jobd".
  const std::string& server() const;

  /// The server process id of the current connection; 0 while
  /// disconnected. For tests (pg_terminate_backend).
  int backend_pid() const;

  /// The SQL text of one of the store's prepared statements ("claim":
  /// $1 now or NULL, $2 worker, $3 lease ms, $4 limit); empty if there is
  /// no such statement. For tests that check the plan of the statement
  /// itself, not a copy.
  static std::string statement(const std::string& name);

private:
  struct session;

  pg_store(store_options opts, std::shared_ptr<const clock_source> clk,
           pg_store_options pg, std::string conninfo, std::string server);

  caf::error connect();
  caf::error ensure_connected();
  caf::error migrate();
  /// Inserts the jobs out[i] for i in `todo` (each with a unique key),
  /// inside enqueue's transaction; a job whose key is taken is replaced in
  /// `out` by the job holding it (duplicate = true). Errors: busy (the key
  /// changed hands three times over); throws as pqxx does.
  caf::error enqueue_unique(pg_tx& tx, ms_t now, std::vector<job>& out,
                            std::vector<size_t> todo);
  /// The job holding unique key `key` for the period ending `until`, if
  /// any. Errors: as run().
  caf::expected<std::optional<job>> key_holder(const std::string& key,
                                               ms_t until);
  caf::error prepare_statements();
  /// "Now" for a statement that takes it as a parameter: the injected clock,
  /// or the database's (one round trip).
  ms_t now_in(pg_tx& tx);
  /// Runs fn in the open batch transaction, or else in its own: a
  /// transaction when `own_txn`, autocommit otherwise.
  /// `reads_only`: fn only reads, so a read-only store (opts.read_only)
  /// runs it; any other call on a read-only store fails (errc::io).
  caf::error run(const char* what, bool own_txn,
                 const std::function<caf::error(pg_tx&)>& fn,
                 bool reads_only = false);
  /// Reads the rows a claim returned into `out`, counting each and noting
  /// it for release_in_doubt should the commit's outcome be lost.
  void collect_claimed(const pqxx::result& res, const std::string& worker,
                       std::vector<job>& out);
  /// The SQL text of a statement of all_statements(), by name.
  static const std::string& statement_sql(const std::string& name);
  /// Records that n jobs of `type` changed, from status `from` to `to`
  /// (the same for a change that keeps the status; "" = none: inserted or
  /// deleted); added to JobCount in the same commit, dropped on rollback.
  /// Every write that changes or deletes a job calls it, so it also marks
  /// the transaction as one the change feed numbers.
  void count_change(const std::string& from, const std::string& to,
                    const std::string& type, int64_t n = 1);
  /// The last statements before COMMIT: adds the recorded changes to this
  /// process's JobCount slot, raises "prunedThrough" if prune() dropped
  /// feed records, and, if jobs changed, takes the transaction's feed
  /// position (JobClock, then JobTxn).
  /// Returned as statements (each ending in "; ") to send with COMMIT in
  /// one message (see pg_tx.hpp); forgets what it wrote.
  std::string closing_sql(pg_tx& tx);
  /// Commits tx with closing_sql(). If the commit is in doubt (its reply
  /// lost with the connection), the jobs claimed in it go to in_doubt_.
  /// Throws as pg_tx::commit.
  void commit_claims(pg_tx& tx);
  /// Hands back (as release() does) the jobs of claims whose commit was
  /// in doubt: if the commit happened they are PROCESSING under a worker
  /// that never got them, and would sit there until their lease ran out
  /// and then count a retry though they never ran. Fenced like release(),
  /// so it changes nothing if the commit did not happen. Runs on the first
  /// call after the reconnect, before that call's own work; on failure
  /// they are kept for the next call.
  caf::error release_in_doubt();
  /// (worker, attempt) of each job claimed in the open transaction.
  std::vector<std::pair<std::string, lease_ref>> claimed_in_tx_;
  /// Claims whose commit was in doubt, not yet handed back.
  std::vector<std::pair<std::string, lease_ref>> in_doubt_;
  /// Drops what count_change and prune recorded (a new transaction, or a
  /// rollback).
  void forget_changes();
  std::map<std::pair<std::string, std::string>, int64_t> count_deltas_;
  /// The transaction changed or deleted at least one job.
  bool jobs_changed_ = false;
  /// The highest JobTxn seq prune() dropped in this transaction (0: none).
  int64_t feed_pruned_through_ = 0;
  /// The JobCount slot this process adds to (0..15, chosen at open), so
  /// writers on many machines rarely wait on each other's count rows.
  int32_t count_slot_ = 0;

  /// errc::io: `what` is a write and this store is read-only.
  caf::error read_only_refusal(const char* what) const;
  /// Maps the exception being handled to an error; drops a lost connection.
  caf::error on_exception(const char* what);
  void drop_connection();

  store_options opts_;
  std::shared_ptr<const clock_source> clock_;
  pg_store_options pg_;
  std::string conninfo_; // includes the password: never print it
  std::string server_;
  std::unique_ptr<session> s_;
  /// Bounds each call (null: no deadline). Armed by watch().
  std::unique_ptr<pg_watchdog> watchdog_;
  /// Arms the watchdog for the current connection until the scope ends.
  pg_watchdog::scope watch();
  /// migrate() runs without a deadline.
  bool migrating_ = false;
  // Reconnect backoff (steady time: it paces real attempts, not job time).
  int connect_failures_ = 0;
  std::chrono::steady_clock::time_point next_connect_;
  std::string last_connect_error_;
  // batch(): depth, the first SQL error inside it, whether the connection
  // was lost inside it (dropped when the batch ends).
  int64_t released_in_doubt_ = 0;
  int batch_depth_ = 0;
  caf::error batch_error_;
  bool lost_in_batch_ = false;
};

} // namespace jobd
