#include "storage/sqlite/sqlite_store.hpp"

#include "storage/job_table.hpp"
#include "storage/json_text.hpp"
#include "storage/rules.hpp"

#include <algorithm>
#include <limits>
#include <optional>
#include <chrono>
#include <random>
#include <thread>

#include <cerrno>
#include <cstring>

#include <sqlite3.h>
#include <sys/statvfs.h>

namespace jobd {

// -- prepared statements ------------------------------------------------------

class sqlite_store::stmt {
public:
  stmt(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v3(db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st_,
                             nullptr);
  }
  ~stmt() { sqlite3_finalize(st_); }

  int prepare_rc() const { return rc_; }

  stmt& reset() {
    sqlite3_reset(st_);
    sqlite3_clear_bindings(st_);
    idx_ = 0;
    return *this;
  }
  stmt& bind(int64_t v) {
    sqlite3_bind_int64(st_, ++idx_, v);
    return *this;
  }
  stmt& bind(int32_t v) { return bind(static_cast<int64_t>(v)); }
  stmt& bind(const std::string& v) {
    sqlite3_bind_text(st_, ++idx_, v.data(), static_cast<int>(v.size()),
                      SQLITE_TRANSIENT);
    return *this;
  }
  stmt& bind(const char* v) {
    sqlite3_bind_text(st_, ++idx_, v, -1, SQLITE_STATIC);
    return *this;
  }
  /// Binds NULL for an empty string / zero time.
  stmt& bind_opt(const std::string& v) {
    if (v.empty()) {
      sqlite3_bind_null(st_, ++idx_);
      return *this;
    }
    return bind(v);
  }
  stmt& bind_opt(int64_t v) {
    if (v == 0) {
      sqlite3_bind_null(st_, ++idx_);
      return *this;
    }
    return bind(v);
  }
  /// SQLITE_ROW, SQLITE_DONE or an error code.
  int step() { return sqlite3_step(st_); }

  int64_t i64(int col) { return sqlite3_column_int64(st_, col); }
  std::string text(int col) {
    auto p = sqlite3_column_text(st_, col);
    if (p == nullptr)
      return {};
    return std::string(reinterpret_cast<const char*>(p),
                       static_cast<size_t>(sqlite3_column_bytes(st_, col)));
  }

  sqlite3_stmt* raw() { return st_; }

private:
  sqlite3* db_;
  sqlite3_stmt* st_ = nullptr;
  int rc_ = SQLITE_OK;
  int idx_ = 0;
};

namespace {

// The schema's column types (see job_schema_v1). SQLite compares TEXT
// bytewise by default, so ids sort as the API promises.
const sql_types sqlite_types{"TEXT", "TEXT", "INTEGER", "INTEGER"};

// Parameter n as SQLite spells it.
std::string sqlite_param(int n) {
  std::string out{"?"}; // not "?" + ...: GCC 12's -Wrestrict false alarm
  out += std::to_string(n);
  return out;
}

/// The list statement of each shape (list_shape), built once: prepare()
/// keys its cache by the text's address.
const std::vector<std::string>& list_statements() {
  static const std::vector<std::string> sqls = [] {
    std::vector<std::string> v;
    for (int shape = 0; shape < list_shape_count; ++shape)
      v.push_back(list_sql(shape, sqlite_param, "instr"));
    return v;
  }();
  return sqls;
}

// The position a transaction stamps on the rows it changes: the change clock
// plus one (write_txn adds the one before COMMIT if anything changed).
// Uncorrelated, so SQLite evaluates it once per statement.
#define NEXT_SEQ "(SELECT seq FROM JobClock) + 1"

// Schema version 3: the change feed (see sqlite_store.hpp). Rows changed
// before it carry position 0, which no reader asks after.
const char* const change_feed_schema_v3 = R"sql(
ALTER TABLE ContentJob ADD COLUMN changeSeq INTEGER NOT NULL DEFAULT 0;
CREATE INDEX ContentJob_change ON ContentJob (changeSeq);
CREATE TABLE JobClock (
  id            INTEGER PRIMARY KEY CHECK (id = 0),
  seq           INTEGER NOT NULL,
  prunedThrough INTEGER NOT NULL
);
INSERT INTO JobClock (id, seq, prunedThrough) VALUES (0, 0, 0);
CREATE TABLE JobTombstone (
  seq INTEGER NOT NULL,
  id  TEXT NOT NULL,
  at  INTEGER NOT NULL
);
CREATE INDEX JobTombstone_seq ON JobTombstone (seq);
CREATE INDEX JobTombstone_at ON JobTombstone (at);
)sql";

// The statements the benchmark baselines run too (see statement()). ?9
// timeoutMs (left unbound, NULL: the type's default).
const char* const insert_sql
  = "INSERT INTO ContentJob (id, type, status, payload, retryCount, "
    "maxRetries, priority, scheduledFor, createdAt, updatedAt, timeoutMs, "
    "changeSeq) VALUES (?1, ?2, 'PENDING', ?3, 0, ?4, ?5, ?6, ?7, ?8, ?9, "
    NEXT_SEQ ")";

// insert_sql with the unique key's columns: ... ?10 uniqueKey, ?11
// uniqueStates, ?12 uniqueUntil.
const char* const insert_unique_sql
  = "INSERT INTO ContentJob (id, type, status, payload, retryCount, "
    "maxRetries, priority, scheduledFor, createdAt, updatedAt, timeoutMs, "
    "changeSeq, uniqueKey, uniqueStates, uniqueUntil) "
    "VALUES (?1, ?2, 'PENDING', ?3, 0, ?4, ?5, ?6, ?7, ?8, ?9, " NEXT_SEQ
    ", ?10, ?11, ?12)";

// The job holding ?1 uniqueKey for period ?2 uniqueUntil, if any (through
// the unique index: the condition repeats the index's word for word).
const char* const key_holder_sql
  = "SELECT " JOBD_JOB_COLUMNS " FROM ContentJob WHERE uniqueKey = ?1 AND "
    "uniqueUntil = ?2 AND " JOBD_UNIQUE_HOLDS;

// A claim: ?1 worker, ?2 lease end, ?3 now, ?4 limit; what follows names
// the jobs it may take, then ORDER BY.
#define CLAIM_DUE                                                              \
  "UPDATE ContentJob SET status = 'PROCESSING', attempt = attempt + 1, "       \
  "lockedBy = ?1, workedBy = ?1, leaseExpiresAt = ?2, startedAt = ?3, "        \
  "updatedAt = ?3, " JOBD_CLEAR_PROGRESS ", "                                  \
  "changeSeq = " NEXT_SEQ " WHERE id IN (SELECT id FROM ContentJob INDEXED "   \
  "BY ContentJob_due WHERE status = 'PENDING' AND scheduledFor <= ?3 AND "
#define CLAIM_END                                                              \
  " ORDER BY " JOBD_CLAIM_ORDER " LIMIT ?4) RETURNING " JOBD_JOB_COLUMNS

// Every priority at once: the index is read in claim order from its start,
// so with fewer due jobs than the limit it reads every PENDING job, future
// ones included (the fallback of claim_by_priority).
const char* const claim_sql = CLAIM_DUE JOBD_IN_PROCESS_CLAIMABLE CLAIM_END;
// One priority (?5): a range of the index, the due jobs only.
const char* const claim_at_sql
  = CLAIM_DUE "priority = ?5 AND " JOBD_IN_PROCESS_CLAIMABLE CLAIM_END;

// claim_types: ?5 the types as a JSON array (and ?6 the priority).
#define CLAIM_TYPES                                                            \
  "type IN (SELECT value FROM json_each(?5)) AND " JOBD_NOT_PAUSED
const char* const claim_types_sql = CLAIM_DUE CLAIM_TYPES CLAIM_END;
const char* const claim_types_at_sql
  = CLAIM_DUE "priority = ?6 AND " CLAIM_TYPES CLAIM_END;

// The highest priority of a PENDING job below ?1 (a seek in the due index).
const char* const next_priority_sql
  = "SELECT priority FROM ContentJob INDEXED BY ContentJob_due WHERE status "
    "= 'PENDING' AND priority < ?1 ORDER BY priority DESC LIMIT 1";

// Whether a job of priority ?1 is due at ?2 (and claim() may take it).
const char* const due_at_sql
  = "SELECT 1 FROM ContentJob INDEXED BY ContentJob_due WHERE status = "
    "'PENDING' AND priority = ?1 AND scheduledFor <= ?2 AND "
    JOBD_IN_PROCESS_CLAIMABLE " LIMIT 1";

// ?1 result, ?2 now, ?3 id, ?4 attempt, ?5 worker.
const char* const complete_sql
  = "UPDATE ContentJob SET status = 'COMPLETED', result = ?1, error = NULL, "
    "completedAt = ?2, updatedAt = ?2, lockedBy = NULL, leaseExpiresAt = "
    "NULL, changeSeq = " NEXT_SEQ " WHERE id = ?3 AND attempt = ?4 AND lockedBy = ?5 "
    "AND status = 'PROCESSING'";

} // namespace

// -- opening ------------------------------------------------------------------

caf::expected<std::unique_ptr<sqlite_store>>
sqlite_store::open(const store_options& opts,
                   std::shared_ptr<const clock_source> clk) {
  std::string sync = opts.synchronous;
  std::transform(sync.begin(), sync.end(), sync.begin(), ::toupper);
  if (sync != "FULL" && sync != "NORMAL" && sync != "OFF" && sync != "EXTRA")
    return make_error(errc::invalid,
                      "storage.synchronous: expected FULL, NORMAL, EXTRA or "
                      "OFF, got '"
                        + opts.synchronous + "'");
  if (opts.read_only && !supports_read_pool(opts.url))
    return make_error(errc::invalid,
                      "a read-only connection needs a database file, not '"
                        + opts.url + "'");
  sqlite3* db = nullptr;
  // Read-only connections are opened read-write without CREATE and then
  // set query_only: SQLITE_OPEN_READONLY on a WAL file could not recover
  // the shared-memory index after a crash of the writer.
  auto rc = sqlite3_open_v2(opts.url.c_str(), &db,
                            SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX
                              | (opts.read_only ? 0 : SQLITE_OPEN_CREATE),
                            nullptr);
  if (rc != SQLITE_OK) {
    std::string msg = "cannot open database '" + opts.url
                      + "': " + (db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
    sqlite3_close(db);
    return make_error(errc::io, std::move(msg));
  }
  sqlite3_busy_timeout(db, opts.busy_timeout_ms);
  std::unique_ptr<sqlite_store> st{new sqlite_store(db, opts, std::move(clk))};
  if (opts.read_only) {
    if (auto err = st->exec("PRAGMA query_only=1"))
      return err;
    if (auto err = st->check_schema())
      return err;
    return st;
  }
  // journal_mode=WAL needs a moment of exclusive access; retry while another
  // process holds the file (busy_timeout does not cover this pragma).
  for (int i = 0;; ++i) {
    auto err = st->exec("PRAGMA journal_mode=WAL");
    if (!err)
      break;
    if (code_of(err) != errc::busy || i > 20)
      return err;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (auto err = st->exec(("PRAGMA synchronous=" + sync).c_str()))
    return err;
  // After a checkpoint, cut the WAL back to 4 MiB (SQLite otherwise keeps
  // it at its largest size forever).
  if (auto err = st->exec("PRAGMA journal_size_limit=4194304"))
    return err;
  if (auto err = st->migrate())
    return err;
  return st;
}

sqlite_store::sqlite_store(sqlite3* db, store_options opts,
                           std::shared_ptr<const clock_source> clk)
  : db_(db), opts_(std::move(opts)), clock_(std::move(clk)) {
}

sqlite_store::~sqlite_store() {
  stmts_.clear();
  if (opts_.read_only) {
    sqlite3_close(db_);
    return;
  }
  // The last connection to close deletes the WAL by itself; one that is not
  // the last (other processes still use the file) leaves it at its largest
  // size unless it is truncated here.
  checkpoint();
  sqlite3_close(db_);
}

caf::error sqlite_store::checkpoint() {
  if (txn_depth_ > 0 || opts_.read_only)
    return {};
  int log_frames = 0, done_frames = 0;
  auto rc = sqlite3_wal_checkpoint_v2(db_, nullptr, SQLITE_CHECKPOINT_TRUNCATE,
                                      &log_frames, &done_frames);
  // BUSY: another process is reading or writing; its next idle checkpoint
  // (or SQLite's own) does the work instead.
  if (rc == SQLITE_OK || (rc & 0xff) == SQLITE_BUSY
      || (rc & 0xff) == SQLITE_LOCKED)
    return {};
  return sqlite_error("checkpointing the write-ahead log", rc);
}

int64_t sqlite_store::free_bytes() {
  // The directory holds the database, its WAL and its shared-memory file.
  auto slash = opts_.url.rfind('/');
  std::string dir = slash == std::string::npos ? std::string{"."}
                    : slash == 0                ? std::string{"/"}
                                                : opts_.url.substr(0, slash);
  struct statvfs fs;
  if (::statvfs(dir.c_str(), &fs) != 0)
    return -1;
  return static_cast<int64_t>(fs.f_bavail) * static_cast<int64_t>(fs.f_frsize);
}

caf::error sqlite_store::sqlite_error(const char* what, int rc) {
  auto base = rc & 0xff;
  std::string msg = std::string{what} + ": " + sqlite3_errmsg(db_);
  if (base == SQLITE_BUSY || base == SQLITE_LOCKED)
    return make_error(errc::busy, "database is locked (" + msg + ")");
  // A full disk shows as SQLITE_FULL, or as an I/O error whose errno says
  // so: a write of a WAL frame or, at checkpoint, of a database page.
  // SQLite's own record of the errno (sqlite3_system_errno) is often gone
  // by the time the statement returns, so ask each file for its last one.
  int sys = sqlite3_system_errno(db_);
  auto no_space = [](int e) {
    return e == ENOSPC || e == EDQUOT || e == EFBIG;
  };
  if (base == SQLITE_IOERR && !no_space(sys)) {
    int e = 0;
    if (sqlite3_file_control(db_, "main", SQLITE_FCNTL_LAST_ERRNO, &e)
          == SQLITE_OK
        && no_space(e))
      sys = e;
    sqlite3_file* wal = nullptr;
    if (!no_space(sys)
        && sqlite3_file_control(db_, "main", SQLITE_FCNTL_JOURNAL_POINTER,
                                &wal)
             == SQLITE_OK
        && wal && wal->pMethods
        && wal->pMethods->xFileControl(wal, SQLITE_FCNTL_LAST_ERRNO, &e)
             == SQLITE_OK
        && no_space(e))
      sys = e;
  }
  if (base == SQLITE_FULL || (base == SQLITE_IOERR && no_space(sys)))
    return make_error(errc::full,
                      "the database '" + opts_.url
                        + "' is full (no space left on its disk); nothing "
                          "was stored (" + msg + ")");
  if (base == SQLITE_NOTADB)
    return make_error(errc::io, "'" + opts_.url + "' is not a jobd database ("
                                  + msg + ")");
  if (base == SQLITE_IOERR && sys != 0)
    msg += std::string{" ("} + std::strerror(sys) + ")";
  return make_error(errc::io, std::move(msg));
}

caf::error sqlite_store::exec(const char* sql) {
  char* err = nullptr;
  auto rc = sqlite3_exec(db_, sql, nullptr, nullptr, &err);
  sqlite3_free(err);
  if (rc != SQLITE_OK)
    return sqlite_error(sql, rc);
  return {};
}

caf::error sqlite_store::check_schema() {
  auto& s = prepare("PRAGMA user_version");
  s.reset();
  auto rc = s.step();
  auto version = rc == SQLITE_ROW ? static_cast<int>(s.i64(0)) : -1;
  s.reset();
  if (rc != SQLITE_ROW)
    return sqlite_error("reading user_version", rc);
  if (version != sqlite_schema_version)
    return make_error(errc::schema,
                      "database '" + opts_.url + "' has schema version "
                        + std::to_string(version) + ", not "
                        + std::to_string(sqlite_schema_version)
                        + ": a read-only connection opens only a file "
                          "jobd has set up");
  return {};
}

caf::error sqlite_store::migrate() {
  return write_txn([&]() -> caf::error {
    auto& s = prepare("PRAGMA user_version");
    s.reset();
    if (s.step() != SQLITE_ROW)
      return sqlite_error("reading user_version", sqlite3_errcode(db_));
    auto version = static_cast<int>(s.i64(0));
    s.reset();
    if (version > sqlite_schema_version)
      return make_error(
        errc::schema,
        "database '" + opts_.url + "' has schema version "
          + std::to_string(version) + " but this jobd knows only up to "
          + std::to_string(sqlite_schema_version)
          + ": upgrade jobd, or point it at another file with --db");
    if (version < 1) {
      // jobd sets user_version in the transaction that creates its tables,
      // so a ContentJob table in a version-0 file belongs to someone else
      // (e.g. the application jobd replaces): refuse it by name rather than
      // fail half-way through the schema.
      auto& t = prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' "
                        "AND name = 'ContentJob' COLLATE NOCASE");
      t.reset();
      auto rc = t.step();
      t.reset();
      if (rc == SQLITE_ROW)
        return make_error(
          errc::schema,
          "database '" + opts_.url
            + "' has a ContentJob table that jobd did not create (schema "
              "version 0); point --db at a new file");
      if (rc != SQLITE_DONE)
        return sqlite_error("reading the schema", rc);
      if (auto err = exec(job_schema_v1(sqlite_types).c_str()))
        return err;
    }
    if (version < 2)
      if (auto err = exec(job_counts_schema_v2(sqlite_types).c_str()))
        return err;
    if (version < 3)
      if (auto err = exec(change_feed_schema_v3))
        return err;
    if (version < 4)
      if (auto err = exec(unique_schema_v4(sqlite_types, false).c_str()))
        return err;
    if (version < 5) {
      if (auto err = allow_cancelled_status())
        return err;
      if (auto err = exec(done_index_schema_v5))
        return err;
    }
    if (version < 6)
      if (auto err = exec(progress_schema_v6(sqlite_types, false).c_str()))
        return err;
    if (version < 7)
      if (auto err = exec(timeout_schema_v7(sqlite_types, false).c_str()))
        return err;
    if (version < 8)
      if (auto err = exec(schedule_schema_v8(sqlite_types).c_str()))
        return err;
    if (version < 9) {
      if (auto err = exec(attempt_schema_v9(sqlite_types, false, "").c_str()))
        return err;
      if (auto err = exec(attempt_cascade_sqlite))
        return err;
    }
    if (version < 10)
      if (auto err = exec(external_schema_v10(sqlite_types).c_str()))
        return err;
    if (version < 11)
      if (auto err = exec(worker_schema_v11(sqlite_types).c_str()))
        return err;
    // Future migrations: if (version < 12) { ... }
    if (version != sqlite_schema_version)
      return exec(("PRAGMA user_version = "
                   + std::to_string(sqlite_schema_version))
                    .c_str());
    return {};
  });
}

caf::error sqlite_store::allow_cancelled_status() {
  // SQLite cannot alter a CHECK constraint, and copying ContentJob into a
  // new table would take minutes at millions of rows. Widening a CHECK
  // changes no stored byte, so the table's text in the schema is edited in
  // place, as SQLite documents for such changes (lang_altertable.html,
  // "Making Other Kinds Of Table Schema Changes"): inside this transaction,
  // with the schema version bumped so every connection reloads it.
  auto& v = prepare("PRAGMA schema_version");
  v.reset();
  if (v.step() != SQLITE_ROW)
    return sqlite_error("reading schema_version", sqlite3_errcode(db_));
  auto schema_version = v.i64(0);
  v.reset();
  if (auto err = exec("PRAGMA writable_schema = ON"))
    return err;
  auto err = exec(
    "UPDATE sqlite_master SET sql = replace(sql, "
    "'CHECK (status IN (''PENDING'',''PROCESSING'',''COMPLETED'',''FAILED''))', "
    "'CHECK (status IN (''PENDING'',''PROCESSING'',''COMPLETED'',''FAILED'','"
    "'CANCELLED''))') WHERE type = 'table' AND name = 'ContentJob'");
  if (!err)
    err = exec(("PRAGMA schema_version = " + std::to_string(schema_version + 1))
                 .c_str());
  auto off = exec("PRAGMA writable_schema = OFF");
  if (err)
    return err;
  if (off)
    return off;
  auto& c = prepare("SELECT instr(sql, '''CANCELLED''') > 0 FROM sqlite_master "
                    "WHERE type = 'table' AND name = 'ContentJob'");
  c.reset();
  auto rc = c.step();
  bool widened = rc == SQLITE_ROW && c.i64(0) == 1;
  c.reset();
  if (!widened)
    return make_error(errc::schema,
                      "database '" + opts_.url
                        + "': could not let ContentJob's status CHECK accept "
                          "CANCELLED (its table text is not jobd's)");
  return {};
}

sqlite_store::stmt& sqlite_store::prepare(const char* sql) {
  auto i = stmts_.find(sql);
  if (i != stmts_.end())
    return i->second->reset();
  auto s = std::make_unique<stmt>(db_, sql);
  auto& ref = *s;
  stmts_.emplace(sql, std::move(s));
  return ref;
}

// Runs a statement that returns no rows; maps failures to caf::error.
#define STEP_DONE(s, what)                                                     \
  do {                                                                         \
    auto rc_ = (s).step();                                                     \
    if (rc_ != SQLITE_DONE && rc_ != SQLITE_ROW)                               \
      return sqlite_error(what, rc_);                                          \
  } while (false)

#define CHECK_PREPARED(s, what)                                                \
  do {                                                                         \
    if ((s).prepare_rc() != SQLITE_OK)                                         \
      return sqlite_error(what, (s).prepare_rc());                             \
  } while (false)

caf::error sqlite_store::write_txn(const std::function<caf::error()>& fn) {
  if (opts_.read_only)
    return make_error(errc::io, "this connection to '" + opts_.url
                                  + "' is read-only (a read pool's)");
  if (txn_depth_ > 0)
    return fn();
  // BEGIN IMMEDIATE waits busy_timeout for the write lock; past that, try a
  // few more times with jitter so a crowd of processes spreads out.
  static thread_local std::mt19937 gen{std::random_device{}()};
  caf::error err;
  for (int attempt = 0; attempt < 8; ++attempt) {
    err = exec("BEGIN IMMEDIATE");
    if (!err)
      break;
    if (code_of(err) != errc::busy)
      return err;
    std::uniform_int_distribution<int> jitter{1, 20 << std::min(attempt, 4)};
    std::this_thread::sleep_for(std::chrono::milliseconds(jitter(gen)));
  }
  if (err)
    return err;
  ++txn_depth_;
  count_deltas_.clear();
  changes_at_begin_ = sqlite3_total_changes64(db_);
  auto res = fn();
  if (!res && sqlite3_total_changes64(db_) != changes_at_begin_)
    res = exec("UPDATE JobClock SET seq = seq + 1");
  if (!res)
    res = flush_counts();
  --txn_depth_;
  count_deltas_.clear();
  if (res) {
    exec("ROLLBACK");
    return res;
  }
  if (auto cerr = exec("COMMIT")) {
    exec("ROLLBACK");
    return cerr;
  }
  return {};
}

void sqlite_store::count_change(const std::string& from, const std::string& to,
                                const std::string& type) {
  if (from == to)
    return;
  if (!from.empty())
    --count_deltas_[{from, type}];
  if (!to.empty())
    ++count_deltas_[{to, type}];
}

caf::error sqlite_store::flush_counts() {
  static const std::string add = job_count_add_sql(sqlite_param);
  for (auto& [key, delta] : count_deltas_) {
    if (delta == 0)
      continue;
    auto& s = prepare(add.c_str());
    CHECK_PREPARED(s, "preparing count update");
    s.reset().bind(key.first).bind(key.second).bind(int64_t{0}).bind(delta);
    STEP_DONE(s, "updating job counts");
  }
  count_deltas_.clear();
  return {};
}

caf::error sqlite_store::batch(const std::function<caf::error()>& fn) {
  return write_txn(fn);
}

// -- operations ---------------------------------------------------------------

caf::expected<std::vector<job>>
sqlite_store::enqueue(const std::vector<new_job>& jobs) {
  if (auto err = validate_new_jobs(jobs))
    return err;
  std::vector<job> out;
  out.reserve(jobs.size());
  auto err = write_txn([&]() -> caf::error {
    auto& s = prepare(insert_sql);
    CHECK_PREPARED(s, "preparing insert");
    auto now = clock_->now_ms();
    for (auto& nj : jobs) {
      auto j = stored_job(nj, now);
      if (!j.unique_key.empty()) {
        // The write lock is held: no other writer can take the key between
        // this look-up and the insert.
        auto holder = key_holder(j.unique_key, j.unique_until);
        if (!holder)
          return holder.error();
        if (*holder) {
          (*holder)->duplicate = true;
          out.push_back(std::move(**holder));
          continue;
        }
      }
      // insert_unique_sql is insert_sql plus the key's three columns.
      auto& ins = j.unique_key.empty() ? s : prepare(insert_unique_sql);
      CHECK_PREPARED(ins, "preparing insert");
      ins.reset()
        .bind(j.id)
        .bind(j.type)
        .bind(j.payload)
        .bind(j.max_retries)
        .bind(j.priority)
        .bind(j.scheduled_for)
        .bind(j.created_at)
        .bind(j.updated_at)
        .bind_opt(j.timeout_ms);
      if (!j.unique_key.empty())
        ins.bind(j.unique_key).bind(j.unique_states).bind(j.unique_until);
      STEP_DONE(ins, "inserting job");
      count_change({}, "PENDING", j.type);
      out.push_back(std::move(j));
    }
    return {};
  });
  if (err)
    return err;
  return out;
}

const char* sqlite_store::statement(const std::string& name) {
  for (int shape = 0; shape < list_shape_count; ++shape)
    if (name == "list" + std::to_string(shape))
      return list_statements()[shape].c_str();
  if (name == "insert")
    return insert_sql;
  if (name == "claim")
    return claim_sql;
  if (name == "claim_at")
    return claim_at_sql;
  if (name == "next_priority")
    return next_priority_sql;
  if (name == "complete")
    return complete_sql;
  if (name == "key_holder")
    return key_holder_sql;
  return "";
}

caf::error sqlite_store::by_priority(
  const std::function<caf::error(int64_t priority, bool& done)>& at,
  const std::function<caf::error()>& rest) {
  int64_t below = std::numeric_limits<int64_t>::max();
  for (int i = 0; i < max_priority_seeks; ++i) {
    auto& next = prepare(next_priority_sql);
    CHECK_PREPARED(next, "preparing the next priority");
    next.reset().bind(below);
    auto rc = next.step();
    if (rc == SQLITE_ROW)
      below = next.i64(0);
    next.reset();
    if (rc == SQLITE_DONE)
      return {}; // no PENDING job of a lower priority
    if (rc != SQLITE_ROW)
      return sqlite_error("reading the next priority", rc);
    bool done = false;
    if (auto err = at(below, done))
      return err;
    if (done)
      return {};
  }
  return rest();
}

caf::expected<std::vector<job>>
sqlite_store::claim(const std::string& worker, int32_t limit, ms_t lease_ms) {
  std::vector<job> out;
  if (limit <= 0)
    return out;
  auto now = clock_->now_ms();
  // Cheap read first: an idle poll must not take the write lock (and with
  // synchronous=FULL, must not cost an fsync). By priority, so jobs due
  // later (retries, scheduled runs) are not read at every poll.
  if (txn_depth_ == 0) {
    bool due = false;
    auto err = by_priority(
      [&](int64_t priority, bool& done) -> caf::error {
        auto& s = prepare(due_at_sql);
        CHECK_PREPARED(s, "preparing the probe for due jobs");
        s.reset().bind(priority).bind(now);
        auto rc = s.step();
        s.reset();
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
          return sqlite_error("probing for due jobs", rc);
        done = due = rc == SQLITE_ROW;
        return {};
      },
      [&]() -> caf::error {
        auto any = any_row("SELECT 1 FROM ContentJob INDEXED BY "
                           "ContentJob_due WHERE status = 'PENDING' AND "
                           "scheduledFor <= ? AND " JOBD_IN_PROCESS_CLAIMABLE
                           " LIMIT 1",
                           now, "probing for due jobs");
        if (!any)
          return any.error();
        due = *any;
        return {};
      });
    if (err)
      return err;
    if (!due)
      return out;
  }
  auto err = write_txn([&]() -> caf::error {
    out.clear(); // a retried transaction starts over
    auto t = clock_->now_ms();
    return claim_by_priority(
      out, limit,
      [&](stmt& s, int32_t n) {
        s.reset().bind(worker).bind(t + lease_ms).bind(t).bind(n);
      },
      claim_sql, claim_at_sql, "claiming jobs");
  });
  if (err)
    return err;
  // RETURNING has no order: restore claim order.
  std::sort(out.begin(), out.end(), claims_before);
  return out;
}

caf::error sqlite_store::claim_by_priority(
  std::vector<job>& out, int32_t limit,
  const std::function<void(stmt&, int32_t)>& bind, const char* all_sql,
  const char* at_sql, const char* what) {
  auto take = [&](const char* sql, std::optional<int64_t> priority)
    -> caf::error {
    auto& s = prepare(sql);
    CHECK_PREPARED(s, "preparing claim");
    bind(s, limit - static_cast<int32_t>(out.size()));
    if (priority)
      s.bind(*priority); // the parameter after those `bind` sets
    std::vector<job> got;
    if (auto err = collect_claimed(s, got, what))
      return err;
    out.insert(out.end(), got.begin(), got.end());
    return {};
  };
  return by_priority(
    [&](int64_t priority, bool& done) -> caf::error {
      if (auto err = take(at_sql, priority))
        return err;
      done = out.size() >= static_cast<size_t>(limit);
      return {};
    },
    [&] { return take(all_sql, std::nullopt); });
}

caf::error sqlite_store::collect_claimed(stmt& s, std::vector<job>& out,
                                        const char* what) {
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    out.push_back(read_job(s));
    count_change("PENDING", "PROCESSING", out.back().type);
  }
  s.reset();
  if (rc != SQLITE_DONE) {
    out.clear();
    return sqlite_error(what, rc);
  }
  return {};
}

caf::expected<std::vector<job>>
sqlite_store::claim_types(const std::string& worker,
                          const std::vector<std::string>& types, int32_t limit,
                          ms_t lease_ms) {
  std::vector<job> out;
  if (limit <= 0 || types.empty())
    return out;
  std::string list = "[";
  for (auto& t : types) {
    if (list.size() > 1)
      list += ',';
    append_json_string(list, t);
  }
  list += ']';
  auto err = write_txn([&]() -> caf::error {
    out.clear(); // a retried transaction starts over
    auto t = clock_->now_ms();
    return claim_by_priority(
      out, limit,
      [&](stmt& s, int32_t n) {
        s.reset().bind(worker).bind(t + lease_ms).bind(t).bind(n).bind(list);
      },
      claim_types_sql, claim_types_at_sql, "claiming jobs of types");
  });
  if (err)
    return err;
  std::sort(out.begin(), out.end(), claims_before);
  return out;
}

caf::error
sqlite_store::declare_types(const std::vector<std::string>& external,
                            const std::vector<std::string>& in_process) {
  for (auto* list : {&external, &in_process})
    for (auto& t : *list)
      if (auto err = validate_pause(t, {}))
        return err;
  static const std::string insert = external_insert_sql(sqlite_param, "?1");
  static const std::string remove = external_delete_sql(sqlite_param);
  return write_txn([&]() -> caf::error {
    auto now = clock_->now_ms();
    for (auto& t : external) {
      auto& s = prepare(insert.c_str());
      CHECK_PREPARED(s, "preparing external type");
      s.reset().bind(now).bind(t);
      STEP_DONE(s, "marking a type external");
    }
    for (auto& t : in_process) {
      auto& s = prepare(remove.c_str());
      CHECK_PREPARED(s, "preparing in-process type");
      s.reset().bind(t);
      STEP_DONE(s, "unmarking an external type");
    }
    return {};
  });
}

caf::expected<std::vector<std::string>> sqlite_store::external_types() {
  auto& s = prepare(external_types_sql);
  CHECK_PREPARED(s, "preparing external types");
  s.reset();
  std::vector<std::string> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW)
    out.push_back(s.text(0));
  s.reset();
  if (rc != SQLITE_DONE)
    return sqlite_error("reading external types", rc);
  return out;
}

caf::error sqlite_store::see_workers(const std::vector<worker_info>& seen) {
  for (auto& w : seen)
    if (auto err = validate_worker_seen(w))
      return err;
  static const std::string upsert = worker_seen_sql(sqlite_param, "?1");
  static const std::string forget = workers_forget_sql(sqlite_param);
  return write_txn([&]() -> caf::error {
    auto now = clock_->now_ms();
    for (auto& w : seen) {
      auto& s = prepare(upsert.c_str());
      CHECK_PREPARED(s, "preparing worker sighting");
      s.reset().bind(now).bind(w.id).bind(w.host).bind(
        join_worker_types(w.types));
      STEP_DONE(s, "recording a worker sighting");
    }
    auto& f = prepare(forget.c_str());
    CHECK_PREPARED(f, "preparing forgetting workers");
    f.reset().bind(now - worker_forget_ms);
    STEP_DONE(f, "forgetting old workers");
    return {};
  });
}

caf::expected<worker_list> sqlite_store::workers() {
  static const std::string select = workers_sql(sqlite_param);
  static const std::string held_sql = worker_jobs_sql(sqlite_param);
  auto now = clock_->now_ms();
  auto since = now - worker_forget_ms;
  auto& s = prepare(select.c_str());
  CHECK_PREPARED(s, "preparing workers");
  s.reset().bind(since).bind(static_cast<int64_t>(max_workers_listed) + 1);
  std::vector<worker_info> rows;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    worker_info w;
    w.id = s.text(0);
    w.host = s.text(1);
    w.types = split_worker_types(s.text(2));
    w.first_seen_at = s.i64(3);
    w.last_seen_at = s.i64(4);
    rows.push_back(std::move(w));
  }
  s.reset();
  if (rc != SQLITE_DONE)
    return sqlite_error("reading workers", rc);
  std::vector<std::pair<std::string, std::string>> held;
  if (!rows.empty()) {
    auto& h = prepare(held_sql.c_str());
    CHECK_PREPARED(h, "preparing workers' jobs");
    h.reset().bind(since);
    while ((rc = h.step()) == SQLITE_ROW)
      held.emplace_back(h.text(0), h.text(1));
    h.reset();
    if (rc != SQLITE_DONE)
      return sqlite_error("reading workers' jobs", rc);
  }
  return assemble_workers(std::move(rows), held, now);
}

caf::expected<bool> sqlite_store::complete(const lease_ref& ref,
                                           const std::string& worker,
                                           const std::string& result_json) {
  bool applied = false;
  auto err = write_txn([&]() -> caf::error {
    auto& s = prepare(complete_sql);
    CHECK_PREPARED(s, "preparing complete");
    auto now = clock_->now_ms();
    s.reset()
      .bind(result_json.empty() ? std::string{"null"} : result_json)
      .bind(now)
      .bind(ref.id)
      .bind(ref.attempt)
      .bind(worker);
    STEP_DONE(s, "completing job");
    applied = sqlite3_changes(db_) == 1;
    if (!applied)
      return {};
    // The type for the counts: a lookup of the row just written (cached)
    // costs far less than RETURNING, which halved the raw claim+complete
    // rate in `jobd bench` (42k -> 20k jobs/s).
    auto& t = prepare("SELECT type FROM ContentJob WHERE id = ?");
    CHECK_PREPARED(t, "preparing type lookup");
    t.reset().bind(ref.id);
    auto rc = t.step();
    if (rc != SQLITE_ROW) {
      t.reset();
      return sqlite_error("reading the completed job's type", rc);
    }
    count_change("PROCESSING", "COMPLETED", t.text(0));
    t.reset();
    return {};
  });
  if (err)
    return err;
  return applied;
}

caf::expected<fail_outcome>
sqlite_store::fail(const lease_ref& ref, const std::string& worker,
                   const std::string& error, bool permanent,
                   ms_t retry_delay_ms) {
  fail_outcome out;
  auto err = write_txn([&]() -> caf::error {
    auto& q = prepare("SELECT retryCount, maxRetries, type, startedAt FROM "
                      "ContentJob "
                      "WHERE id = ? AND attempt = ? AND lockedBy = ? AND "
                      "status = 'PROCESSING'");
    CHECK_PREPARED(q, "preparing fail lookup");
    q.reset().bind(ref.id).bind(ref.attempt).bind(worker);
    auto rc = q.step();
    if (rc == SQLITE_DONE)
      return {}; // stale: applied stays false
    if (rc != SQLITE_ROW)
      return sqlite_error("looking up failed job", rc);
    auto retry_count = static_cast<int32_t>(q.i64(0));
    auto max_retries = static_cast<int32_t>(q.i64(1));
    auto type = q.text(2);
    auto started_at = q.i64(3);
    q.reset();
    auto now = clock_->now_ms();
    out.applied = true;
    attempt_record a;
    a.attempt = ref.attempt;
    a.worker = worker;
    a.started_at = started_at;
    a.ended_at = now;
    a.outcome = attempt_outcome::failed;
    a.error = error;
    if (auto aerr = record_attempt(ref.id, a))
      return aerr;
    if (permanent || retry_count >= max_retries) {
      out.status = job_status::failed;
      out.retry_count = retry_count;
      auto& s = prepare(
        "UPDATE ContentJob SET status = 'FAILED', error = ?1, completedAt = "
        "?2, updatedAt = ?2, lockedBy = NULL, leaseExpiresAt = NULL, "
        "changeSeq = " NEXT_SEQ " WHERE id = ?3");
      CHECK_PREPARED(s, "preparing fail");
      s.reset().bind(error).bind(now).bind(ref.id);
      STEP_DONE(s, "failing job");
      count_change("PROCESSING", "FAILED", type);
    } else {
      out.status = job_status::pending;
      out.retry_count = retry_count + 1;
      out.scheduled_for = now + std::max<ms_t>(0, retry_delay_ms);
      auto& s = prepare(
        "UPDATE ContentJob SET status = 'PENDING', error = ?1, retryCount = "
        "?2, scheduledFor = ?3, updatedAt = ?4, lockedBy = NULL, "
        "leaseExpiresAt = NULL, changeSeq = " NEXT_SEQ " WHERE id = ?5");
      CHECK_PREPARED(s, "preparing retry");
      s.reset()
        .bind(error)
        .bind(out.retry_count)
        .bind(out.scheduled_for)
        .bind(now)
        .bind(ref.id);
      STEP_DONE(s, "scheduling retry");
      count_change("PROCESSING", "PENDING", type);
    }
    return {};
  });
  if (err)
    return err;
  return out;
}

caf::expected<std::vector<std::string>>
sqlite_store::heartbeat(const std::string& worker,
                        const std::vector<lease_ref>& refs, ms_t lease_ms) {
  std::vector<std::string> renewed;
  if (refs.empty())
    return renewed;
  auto err = write_txn([&]() -> caf::error {
    auto& s = prepare("UPDATE ContentJob SET leaseExpiresAt = ? WHERE id = ? "
                      "AND attempt = ? AND lockedBy = ? AND status = "
                      "'PROCESSING'");
    CHECK_PREPARED(s, "preparing heartbeat");
    auto until = clock_->now_ms() + lease_ms;
    for (auto& r : refs) {
      s.reset().bind(until).bind(r.id).bind(r.attempt).bind(worker);
      STEP_DONE(s, "renewing lease");
      if (sqlite3_changes(db_) == 1)
        renewed.push_back(r.id);
    }
    return {};
  });
  if (err)
    return err;
  return renewed;
}

caf::expected<std::vector<std::string>>
sqlite_store::progress(const std::string& worker,
                       const std::vector<progress_update>& updates) {
  std::vector<std::string> written;
  if (updates.empty())
    return written;
  auto err = write_txn([&]() -> caf::error {
    auto& s = prepare(
      "UPDATE ContentJob SET progressPpm = ?1, progressMessage = ?2, "
      "progressAt = ?3, updatedAt = ?3, changeSeq = " NEXT_SEQ " WHERE id = "
      "?4 AND attempt = ?5 AND lockedBy = ?6 AND status = 'PROCESSING'");
    CHECK_PREPARED(s, "preparing progress");
    auto now = clock_->now_ms();
    written.clear();
    for (auto& u : updates) {
      s.reset().bind(ppm_of_progress(progress_fraction(u.fraction)));
      s.bind_opt(progress_text(u.message)).bind(now).bind(u.ref.id).bind(u.ref.attempt).bind(worker);
      STEP_DONE(s, "storing progress");
      if (sqlite3_changes(db_) == 1)
        written.push_back(u.ref.id);
    }
    return {};
  });
  if (err)
    return err;
  return written;
}

caf::expected<int64_t>
sqlite_store::release(const std::string& worker,
                      const std::vector<lease_ref>& refs) {
  int64_t n = 0;
  if (refs.empty())
    return n;
  auto err = write_txn([&]() -> caf::error {
    auto& s = prepare(
      "UPDATE ContentJob SET status = 'PENDING', lockedBy = NULL, "
      "leaseExpiresAt = NULL, updatedAt = ?, changeSeq = " NEXT_SEQ
      " WHERE id = ? AND attempt = ? AND "
      "lockedBy = ? AND status = 'PROCESSING' RETURNING type, startedAt");
    CHECK_PREPARED(s, "preparing release");
    auto now = clock_->now_ms();
    for (auto& r : refs) {
      s.reset().bind(now).bind(r.id).bind(r.attempt).bind(worker);
      auto rc = s.step();
      attempt_record a;
      if (rc == SQLITE_ROW) {
        ++n;
        count_change("PROCESSING", "PENDING", s.text(0));
        a.attempt = r.attempt;
        a.worker = worker;
        a.started_at = s.i64(1);
        a.ended_at = now;
        a.outcome = attempt_outcome::released;
        rc = s.step();
      }
      s.reset();
      if (rc != SQLITE_DONE)
        return sqlite_error("releasing job", rc);
      if (a.attempt > 0)
        if (auto aerr = record_attempt(r.id, a))
          return aerr;
    }
    return {};
  });
  if (err)
    return err;
  return n;
}

caf::expected<int64_t>
sqlite_store::rescue_expired(std::vector<job>* rescued) {
  int64_t n = 0;
  auto now = clock_->now_ms();
  if (txn_depth_ == 0) {
    auto expired = any_row("SELECT 1 FROM ContentJob INDEXED BY "
                           "ContentJob_lease WHERE status = 'PROCESSING' AND "
                           "leaseExpiresAt < ? LIMIT 1",
                           now, "probing for expired leases");
    if (!expired)
      return expired.error();
    if (!*expired)
      return n;
  }
  auto err = write_txn([&]() -> caf::error {
    // All CASE arms read the row's old values.
    auto& s = prepare(
      "UPDATE ContentJob SET "
      "status = CASE WHEN retryCount < maxRetries THEN 'PENDING' "
      "ELSE 'FAILED' END, "
      "retryCount = CASE WHEN retryCount < maxRetries THEN retryCount + 1 "
      "ELSE retryCount END, "
      "completedAt = CASE WHEN retryCount < maxRetries THEN NULL ELSE ?1 END, "
      "error = " JOBD_RESCUE_ERROR ", "
      "scheduledFor = ?1, updatedAt = ?1, lockedBy = NULL, leaseExpiresAt = "
      "NULL, changeSeq = " NEXT_SEQ " WHERE id IN (SELECT id FROM ContentJob INDEXED BY ContentJob_lease "
      "WHERE status = 'PROCESSING' AND leaseExpiresAt < ?1) "
      "RETURNING " JOBD_JOB_COLUMNS);
    CHECK_PREPARED(s, "preparing rescue");
    s.reset().bind(clock_->now_ms());
    if (rescued)
      rescued->clear();
    int rc;
    std::vector<job> changed;
    while ((rc = s.step()) == SQLITE_ROW) {
      ++n;
      auto j = read_job(s);
      count_change("PROCESSING", to_string(j.status), j.type);
      changed.push_back(std::move(j));
    }
    s.reset();
    if (rc != SQLITE_DONE)
      return sqlite_error("rescuing expired jobs", rc);
    for (auto& j : changed) {
      attempt_record a;
      a.attempt = j.attempt;
      a.worker = j.worked_by;
      a.started_at = j.started_at;
      a.ended_at = j.updated_at;
      a.outcome = attempt_outcome::lease_expired;
      a.error = j.error;
      if (auto aerr = record_attempt(j.id, a))
        return aerr;
    }
    if (rescued)
      *rescued = std::move(changed);
    return {};
  });
  if (err)
    return err;
  return n;
}

caf::expected<std::optional<job>>
sqlite_store::key_holder(const std::string& key, ms_t until) {
  auto& s = prepare(key_holder_sql);
  CHECK_PREPARED(s, "preparing unique key look-up");
  s.reset().bind(key).bind(until);
  std::optional<job> out;
  auto rc = s.step();
  if (rc == SQLITE_ROW)
    out = read_job(s);
  s.reset();
  if (rc != SQLITE_ROW && rc != SQLITE_DONE)
    return sqlite_error("looking up a unique key", rc);
  return out;
}

caf::error sqlite_store::check_key_free(const job& j) {
  if (!holds_unique_key(j))
    return {};
  auto holder = key_holder(j.unique_key, j.unique_until);
  if (!holder)
    return holder.error();
  if (*holder && (*holder)->id != j.id)
    return unique_key_taken(j, **holder);
  return {};
}

caf::expected<job> sqlite_store::get(const std::string& id) {
  auto& s = prepare("SELECT " JOBD_JOB_COLUMNS " FROM ContentJob WHERE id = ?");
  CHECK_PREPARED(s, "preparing get");
  s.reset().bind(id);
  auto rc = s.step();
  if (rc == SQLITE_ROW) {
    auto j = read_job(s);
    s.reset();
    return j;
  }
  s.reset();
  if (rc == SQLITE_DONE)
    return job_not_found(id);
  return sqlite_error("reading job", rc);
}

caf::error sqlite_store::record_attempt(const std::string& id,
                                       const attempt_record& a) {
  static const std::string insert = attempt_insert_sql(sqlite_param);
  auto& s = prepare(insert.c_str());
  CHECK_PREPARED(s, "preparing attempt record");
  s.reset().bind(id).bind(a.attempt).bind_opt(a.worker).bind_opt(a.started_at);
  s.bind(a.ended_at).bind(to_string(a.outcome)).bind_opt(a.error);
  STEP_DONE(s, "recording an attempt");
  return {};
}

caf::expected<attempt_history> sqlite_store::attempts(const std::string& id,
                                                      int32_t limit) {
  limit = std::clamp(limit, 1, max_attempts_listed);
  auto j = get(id);
  if (!j)
    return j.error();
  static const std::string select = attempts_sql(sqlite_param);
  auto& s = prepare(select.c_str());
  CHECK_PREPARED(s, "preparing attempts");
  s.reset().bind(id).bind(static_cast<int64_t>(limit) + 1);
  std::vector<attempt_record> rows;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW)
    rows.push_back(read_attempt(s));
  s.reset();
  if (rc != SQLITE_DONE)
    return sqlite_error("reading attempts", rc);
  return assemble_history(*j, std::move(rows), limit);
}

caf::expected<job_page> sqlite_store::list(const job_filter& f) {
  if (auto err = validate_filter(f))
    return err;
  auto& s = prepare(list_statements()[list_shape(f)].c_str());
  CHECK_PREPARED(s, "preparing list");
  s.reset();
  if (!f.status.empty())
    s.bind(f.status);
  if (!f.type.empty())
    s.bind(f.type);
  if (!f.cursor.empty())
    s.bind(f.cursor);
  if (!f.q.empty()) {
    auto range = search_id_range(f.q);
    s.bind(range.first).bind(range.second).bind(f.q);
  }
  s.bind(static_cast<int64_t>(f.limit) + 1);
  job_page page;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW)
    page.jobs.push_back(read_job(s));
  s.reset();
  if (rc != SQLITE_DONE)
    return sqlite_error("listing jobs", rc);
  finish_page(page, f.limit);
  return page;
}

caf::expected<job> sqlite_store::retry(const std::string& id) {
  caf::expected<job> out = make_error(errc::io, "retry did not run");
  auto err = write_txn([&]() -> caf::error {
    auto cur = get(id);
    if (!cur)
      return cur.error();
    if (cur->status != job_status::failed)
      return not_retryable(id, cur->status);
    auto next = *cur;
    next.status = job_status::pending;
    if (auto kerr = check_key_free(next))
      return kerr;
    auto& s = prepare(
      "UPDATE ContentJob SET status = 'PENDING', retryCount = 0, error = "
      "NULL, completedAt = NULL, scheduledFor = ?1, updatedAt = ?1, "
      "changeSeq = " NEXT_SEQ " WHERE id = ?2 AND status = 'FAILED'");
    CHECK_PREPARED(s, "preparing retry");
    s.reset().bind(clock_->now_ms()).bind(id);
    STEP_DONE(s, "retrying job");
    count_change("FAILED", "PENDING", cur->type);
    out = get(id);
    return out ? caf::error{} : out.error();
  });
  if (err)
    return err;
  return out;
}

caf::error sqlite_store::remove(const std::string& id) {
  return write_txn([&]() -> caf::error {
    auto cur = get(id);
    if (!cur)
      return cur.error();
    if (cur->status == job_status::processing)
      return still_processing(id);
    auto& s = prepare("DELETE FROM ContentJob WHERE id = ? AND status != "
                      "'PROCESSING'");
    CHECK_PREPARED(s, "preparing delete");
    s.reset().bind(id);
    STEP_DONE(s, "deleting job");
    count_change(to_string(cur->status), {}, cur->type);
    return add_tombstone(id, clock_->now_ms());
  });
}

caf::expected<job> sqlite_store::update(const std::string& id,
                                        const job_patch& p) {
  if (auto err = validate_patch(p))
    return err;
  caf::expected<job> out = make_error(errc::io, "update did not run");
  auto err = write_txn([&]() -> caf::error {
    auto cur = get(id);
    if (!cur)
      return cur.error();
    job j = *cur;
    auto was = j.status;
    auto now = clock_->now_ms();
    if (auto perr = apply_patch(j, p, now))
      return perr;
    if (auto ended = attempt_ended_by_hand(*cur, j, now))
      if (auto aerr = record_attempt(id, *ended))
        return aerr;
    if (j.status != was)
      if (auto kerr = check_key_free(j))
        return kerr;
    auto& s = prepare(
      "UPDATE ContentJob SET status = ?, priority = ?, scheduledFor = ?, "
      "maxRetries = ?, result = ?, error = ?, retryCount = ?, completedAt = ?, "
      "lockedBy = ?, leaseExpiresAt = ?, updatedAt = ?, changeSeq = " NEXT_SEQ
      " WHERE id = ?");
    CHECK_PREPARED(s, "preparing update");
    s.reset()
      .bind(to_string(j.status))
      .bind(j.priority)
      .bind(j.scheduled_for)
      .bind(j.max_retries)
      .bind_opt(j.result)
      .bind_opt(j.error)
      .bind(j.retry_count)
      .bind_opt(j.completed_at)
      .bind_opt(j.locked_by)
      .bind_opt(j.lease_expires_at)
      .bind(j.updated_at)
      .bind(id);
    STEP_DONE(s, "updating job");
    count_change(to_string(was), to_string(j.status), j.type);
    out = std::move(j);
    return {};
  });
  if (err)
    return err;
  return out;
}

caf::expected<type_pause> sqlite_store::pause_type(const std::string& type,
                                                   const std::string& note) {
  if (auto err = validate_pause(type, note))
    return err;
  static const std::string insert = pause_insert_sql(sqlite_param, "?1");
  auto err = write_txn([&]() -> caf::error {
    auto& s = prepare(insert.c_str());
    CHECK_PREPARED(s, "preparing pause");
    s.reset().bind(clock_->now_ms()).bind(type).bind(note);
    STEP_DONE(s, "pausing a job type");
    return {};
  });
  if (err)
    return err;
  return stored_pause(*this, type);
}

caf::expected<bool> sqlite_store::resume_type(const std::string& type) {
  static const std::string remove = pause_delete_sql(sqlite_param);
  bool resumed = false;
  auto err = write_txn([&]() -> caf::error {
    auto& s = prepare(remove.c_str());
    CHECK_PREPARED(s, "preparing resume");
    s.reset().bind(type);
    STEP_DONE(s, "resuming a job type");
    resumed = sqlite3_changes(db_) > 0;
    return {};
  });
  if (err)
    return err;
  return resumed;
}

// -- recurring schedules --------------------------------------------------------

caf::expected<schedule> sqlite_store::put_schedule(const schedule& in) {
  if (auto err = validate_schedule(in))
    return err;
  static const std::string put = schedule_put_sql(sqlite_param);
  auto err = write_txn([&]() -> caf::error {
    auto& s = prepare(put.c_str());
    CHECK_PREPARED(s, "preparing schedule");
    s.reset()
      .bind(in.name)
      .bind(in.cron)
      .bind(in.time_zone)
      .bind(in.type)
      .bind(in.payload)
      .bind(in.priority)
      .bind(in.max_retries)
      .bind(in.missed)
      .bind(in.catch_up_ms)
      .bind(in.source)
      .bind(clock_->now_ms());
    STEP_DONE(s, "storing a schedule");
    return {};
  });
  if (err)
    return err;
  return stored_schedule(*this, in.name);
}

caf::expected<std::vector<schedule>> sqlite_store::schedules() {
  auto& s = prepare(schedules_sql);
  CHECK_PREPARED(s, "preparing schedules");
  s.reset();
  std::vector<schedule> out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW)
    out.push_back(read_schedule(s));
  s.reset();
  if (rc != SQLITE_DONE)
    return sqlite_error("reading schedules", rc);
  return out;
}

caf::expected<bool> sqlite_store::remove_schedule(const std::string& name) {
  static const std::string remove = schedule_delete_sql(sqlite_param);
  bool removed = false;
  auto err = write_txn([&]() -> caf::error {
    auto& s = prepare(remove.c_str());
    CHECK_PREPARED(s, "preparing schedule delete");
    s.reset().bind(name);
    STEP_DONE(s, "deleting a schedule");
    removed = sqlite3_changes(db_) > 0;
    return {};
  });
  if (err)
    return err;
  return removed;
}

caf::expected<schedule> sqlite_store::pause_schedule(const std::string& name,
                                                     bool paused) {
  static const std::string pause = schedule_pause_sql(sqlite_param);
  bool found = false;
  auto err = write_txn([&]() -> caf::error {
    auto& s = prepare(pause.c_str());
    CHECK_PREPARED(s, "preparing schedule pause");
    s.reset().bind(name).bind(int64_t{paused ? 1 : 0}).bind(clock_->now_ms());
    STEP_DONE(s, "pausing a schedule");
    found = sqlite3_changes(db_) > 0;
    return {};
  });
  if (err)
    return err;
  if (!found)
    return no_such_schedule(name);
  return stored_schedule(*this, name);
}

caf::expected<std::vector<job>>
sqlite_store::fire_schedule(const std::string& name, ms_t run_at,
                            bool by_hand) {
  static const std::string get = schedule_get_sql(sqlite_param);
  static const std::string run_insert = schedule_run_insert_sql(sqlite_param);
  static const std::string fired = schedule_fired_sql(sqlite_param);
  std::vector<job> out;
  auto err = write_txn([&]() -> caf::error {
    out.clear();
    // The write lock is held from here: no other process can create this
    // run between the look-up and the insert (the primary key would refuse
    // it anyway).
    auto& g = prepare(get.c_str());
    CHECK_PREPARED(g, "preparing schedule read");
    g.reset().bind(name);
    auto rc = g.step();
    if (rc != SQLITE_ROW) {
      g.reset();
      return rc == SQLITE_DONE ? caf::error{}
                               : sqlite_error("reading a schedule", rc);
    }
    auto sch = read_schedule(g);
    g.reset();
    if (sch.paused && !by_hand)
      return {};
    if (!by_hand && run_at <= sch.last_run_at)
      return {}; // an older run than one created: skipped or created
    auto exists = run_exists(name, run_at);
    if (!exists)
      return exists.error();
    if (*exists)
      return {};
    auto jobs = enqueue({job_of_run(sch, run_at)});
    if (!jobs)
      return jobs.error();
    auto& r = prepare(run_insert.c_str());
    CHECK_PREPARED(r, "preparing schedule run");
    r.reset().bind(name).bind(run_at).bind(jobs->front().id);
    STEP_DONE(r, "recording a schedule run");
    if (sqlite3_changes(db_) != 1)
      return make_error(errc::conflict, "schedule run created twice");
    auto& f = prepare(fired.c_str());
    CHECK_PREPARED(f, "preparing schedule update");
    f.reset().bind(name).bind(jobs->front().id).bind(by_hand ? 0 : run_at);
    STEP_DONE(f, "updating a schedule's last run");
    out = std::move(*jobs);
    return {};
  });
  if (err)
    return err;
  return out;
}

caf::expected<bool> sqlite_store::run_exists(const std::string& name,
                                           ms_t run_at) {
  auto& s = prepare("SELECT 1 FROM \"ScheduleRun\" WHERE schedule = ?1 AND "
                    "\"runAt\" = ?2");
  CHECK_PREPARED(s, "preparing schedule run read");
  s.reset().bind(name).bind(run_at);
  auto rc = s.step();
  s.reset();
  if (rc == SQLITE_ROW)
    return true;
  if (rc != SQLITE_DONE)
    return sqlite_error("reading schedule runs", rc);
  return false;
}

caf::expected<job_counts> sqlite_store::counts() {
  auto& s = prepare(job_counts_sql);
  CHECK_PREPARED(s, "preparing counts");
  s.reset();
  job_counts out;
  int rc;
  while ((rc = s.step()) == SQLITE_ROW) {
    out.status.push_back(s.text(0));
    out.type.push_back(s.text(1));
    out.count.push_back(s.i64(2));
  }
  s.reset();
  if (rc != SQLITE_DONE)
    return sqlite_error("counting jobs", rc);
  auto& p = prepare(pauses_sql);
  CHECK_PREPARED(p, "preparing pauses");
  p.reset();
  while ((rc = p.step()) == SQLITE_ROW)
    out.paused.push_back(type_pause{p.text(0), p.i64(1), p.text(2)});
  p.reset();
  if (rc != SQLITE_DONE)
    return sqlite_error("reading paused types", rc);
  return out;
}

caf::expected<int64_t> sqlite_store::prune(ms_t older_than, int32_t batch) {
  int64_t n = 0;
  auto now = clock_->now_ms();
  // Cheap reads first, as in claim(): a round with no old job and no old
  // tombstone takes no write lock. (A read-only connection goes on, to be
  // refused by write_txn.)
  if (txn_depth_ == 0 && !opts_.read_only) {
    bool jobs_due = false;
    if (batch > 0) {
      auto due = any_row("SELECT 1 FROM ContentJob INDEXED BY "
                         "ContentJob_done WHERE " JOBD_FINISHED
                         " AND completedAt < ? LIMIT 1",
                         older_than, "probing for old jobs");
      if (!due)
        return due.error();
      jobs_due = *due;
    }
    if (!jobs_due) {
      auto old = any_row("SELECT 1 FROM JobTombstone INDEXED BY "
                         "JobTombstone_at WHERE at < ? LIMIT 1",
                         now - tombstone_keep_ms, "probing for old tombstones");
      if (!old)
        return old.error();
      if (!*old)
        return n;
    }
  }
  auto err = write_txn([&]() -> caf::error {
    if (auto terr = drop_old_tombstones(now))
      return terr;
    if (batch <= 0) // LIMIT of a negative number means "no limit" to SQLite
      return {};
    // INDEXED BY: without statistics (jobd never runs ANALYZE) SQLite picks
    // ContentJob_status_id and reads every finished row, ~0.2 s per million
    // under the write lock at each retention round even when nothing is old
    // enough (seen in `jobd bench` W4).
    auto& s = prepare(
      "DELETE FROM ContentJob WHERE id IN (SELECT id FROM ContentJob INDEXED "
      "BY ContentJob_done WHERE " JOBD_FINISHED " AND "
      "completedAt < ? LIMIT ?) RETURNING status, type, id");
    CHECK_PREPARED(s, "preparing prune");
    s.reset().bind(older_than).bind(batch);
    std::vector<std::string> ids;
    int rc;
    while ((rc = s.step()) == SQLITE_ROW) {
      ++n;
      count_change(s.text(0), {}, s.text(1));
      ids.push_back(s.text(2));
    }
    s.reset();
    if (rc != SQLITE_DONE)
      return sqlite_error("pruning jobs", rc);
    for (auto& id : ids)
      if (auto terr = add_tombstone(id, now))
        return terr;
    // Schedule runs as old as the jobs retention drops: a schedule never
    // looks back past its last run, so an old run cannot be created again.
    static const std::string runs = schedule_runs_prune_sql(sqlite_param);
    auto& r = prepare(runs.c_str());
    CHECK_PREPARED(r, "preparing schedule run prune");
    r.reset().bind(older_than);
    STEP_DONE(r, "pruning schedule runs");
    return {};
  });
  if (err)
    return err;
  return n;
}

caf::expected<bool> sqlite_store::any_row(const char* sql, int64_t arg,
                                          const char* what) {
  auto& s = prepare(sql);
  CHECK_PREPARED(s, what);
  s.reset().bind(arg);
  auto rc = s.step();
  s.reset();
  if (rc == SQLITE_ROW)
    return true;
  if (rc == SQLITE_DONE)
    return false;
  return sqlite_error(what, rc);
}

caf::error sqlite_store::add_tombstone(const std::string& id, ms_t now) {
  auto& s = prepare("INSERT INTO JobTombstone (seq, id, at) VALUES (" NEXT_SEQ
                    ", ?, ?)");
  CHECK_PREPARED(s, "preparing tombstone");
  s.reset().bind(id).bind(now);
  STEP_DONE(s, "recording a deleted job");
  return {};
}

caf::error sqlite_store::drop_old_tombstones(ms_t now) {
  auto& s = prepare(
    "UPDATE JobClock SET prunedThrough = max(prunedThrough, coalesce((SELECT "
    "max(seq) FROM JobTombstone WHERE at < ?1), 0))");
  CHECK_PREPARED(s, "preparing tombstone horizon");
  s.reset().bind(now - tombstone_keep_ms);
  STEP_DONE(s, "moving the tombstone horizon");
  auto& d = prepare("DELETE FROM JobTombstone WHERE at < ?");
  CHECK_PREPARED(d, "preparing tombstone drop");
  d.reset().bind(now - tombstone_keep_ms);
  STEP_DONE(d, "dropping old tombstones");
  return {};
}

caf::expected<int64_t> sqlite_store::change_position() {
  auto& s = prepare("SELECT seq FROM JobClock");
  CHECK_PREPARED(s, "preparing change position");
  s.reset();
  auto rc = s.step();
  if (rc != SQLITE_ROW) {
    s.reset();
    return sqlite_error("reading the change position", rc);
  }
  auto pos = s.i64(0);
  s.reset();
  return pos;
}

caf::expected<change_page> sqlite_store::changes(int64_t after,
                                                 int32_t limit) {
  if (auto err = validate_limit(limit))
    return err;
  // One snapshot for every statement below (a read transaction), so a
  // commit in between cannot move a job from one page to the next.
  bool own = txn_depth_ == 0;
  if (own)
    if (auto err = exec("BEGIN"))
      return err;
  auto res = [&]() -> caf::expected<change_page> {
    change_page page;
    auto& g = prepare("SELECT prunedThrough FROM JobClock");
    CHECK_PREPARED(g, "preparing change horizon");
    g.reset();
    auto rc = g.step();
    if (rc != SQLITE_ROW) {
      g.reset();
      return sqlite_error("reading the change horizon", rc);
    }
    page.gap = after < g.i64(0);
    g.reset();
    // Rows and tombstones after `after` (or at exactly one position), in
    // position order; `cap` rows each at most.
    auto read = [&](const char* rows_sql, const char* dead_sql, int64_t key,
                    int64_t cap,
                    std::vector<job_change>& out) -> caf::error {
      auto& r = prepare(rows_sql);
      CHECK_PREPARED(r, "preparing changed rows");
      r.reset().bind(key).bind(cap);
      int rc;
      while ((rc = r.step()) == SQLITE_ROW) {
        job_change c;
        c.job = read_job(r);
        c.seq = r.i64(job_column_count);
        out.push_back(std::move(c));
      }
      r.reset();
      if (rc != SQLITE_DONE)
        return sqlite_error("reading changed jobs", rc);
      auto& d = prepare(dead_sql);
      CHECK_PREPARED(d, "preparing deleted rows");
      d.reset().bind(key).bind(cap);
      while ((rc = d.step()) == SQLITE_ROW) {
        job_change c;
        c.seq = d.i64(0);
        c.deleted = true;
        c.job.id = d.text(1);
        out.push_back(std::move(c));
      }
      d.reset();
      if (rc != SQLITE_DONE)
        return sqlite_error("reading deleted jobs", rc);
      std::stable_sort(out.begin(), out.end(),
                       [](const job_change& a, const job_change& b) {
                         return a.seq < b.seq;
                       });
      return {};
    };
    std::vector<job_change> got;
    if (auto err = read("SELECT " JOBD_JOB_COLUMNS ", changeSeq FROM "
                        "ContentJob INDEXED BY ContentJob_change WHERE "
                        "changeSeq > ?1 ORDER BY changeSeq LIMIT ?2",
                        "SELECT seq, id FROM JobTombstone WHERE seq > ?1 "
                        "ORDER BY seq LIMIT ?2",
                        after, int64_t{limit} + 1, got))
      return err;
    if (got.size() <= static_cast<size_t>(limit)) {
      page.changes = std::move(got);
    } else {
      // Cut before the first position that does not fit whole.
      auto cut = got[static_cast<size_t>(limit)].seq;
      page.more = true;
      for (auto& c : got)
        if (c.seq < cut)
          page.changes.push_back(std::move(c));
      if (page.changes.empty()) {
        // One transaction larger than a page comes whole.
        if (auto err = read("SELECT " JOBD_JOB_COLUMNS ", changeSeq FROM "
                            "ContentJob INDEXED BY ContentJob_change WHERE "
                            "changeSeq = ?1 LIMIT ?2",
                            "SELECT seq, id FROM JobTombstone WHERE seq = ?1 "
                            "LIMIT ?2",
                            cut, -1, page.changes))
          return err;
      }
    }
    page.next = page.changes.empty() ? after : page.changes.back().seq;
    return page;
  }();
  if (own)
    exec(res ? "COMMIT" : "ROLLBACK");
  return res;
}

caf::expected<bool> sqlite_store::integrity_ok() {
  auto& s = prepare("PRAGMA integrity_check");
  s.reset();
  auto rc = s.step();
  if (rc != SQLITE_ROW)
    return sqlite_error("integrity_check", rc);
  auto res = s.text(0);
  s.reset();
  return res == "ok";
}

} // namespace jobd
