#include "bench/bench_db.hpp"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <optional>
#include <vector>

#include <sqlite3.h>
#include <unistd.h>

#include <pqxx/pqxx>

#include "storage/job_table.hpp"
#include "storage/postgres/pg_conninfo.hpp"
#include "storage/postgres/pg_store.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace fs = std::filesystem;

namespace jobd::bench {

namespace {

ms_t now_ms() {
  return system_clock_source{}.now_ms();
}

// Finished jobs are dated this far back: older than any new job, younger
// than retention's default max_age (7 days), so the worker's retention
// actor leaves them in the table, as it would in production.
constexpr ms_t finished_age_ms = 3'600'000;

// Rows per transaction when filling the table with finished jobs: big
// enough to be fast, small enough that the WAL (SQLite) stays a few
// hundred MB at most.
constexpr int64_t finished_chunk = 100'000;

// JobCount from the rows themselves (the fill inserts bypass the store).
const char* const recount_sql
  = "DELETE FROM \"JobCount\"; INSERT INTO \"JobCount\" (status, type, "
    "slot, n) SELECT status, type, 0, COUNT(*) FROM \"ContentJob\" GROUP BY "
    "status, type";

// -- SQLite -------------------------------------------------------------------

// jobd's own statements (sqlite_store::statement): the baseline does the
// same database work as the store, with the store's SQL itself.
const char* const sqlite_insert_sql = sqlite_store::statement("insert");
const char* const sqlite_claim_sql = sqlite_store::statement("claim");
const char* const sqlite_complete_sql = sqlite_store::statement("complete");

// A finished job's id is "0000000000" + 16 digits: digits are valid
// Crockford base32, so it has a job id's shape, and the zero time part
// sorts it before every real id.
const char* sqlite_finished_sql =
  "INSERT INTO ContentJob (id, type, status, payload, result, retryCount, "
  "maxRetries, priority, scheduledFor, startedAt, completedAt, createdAt, "
  "updatedAt, attempt) "
  "WITH RECURSIVE n(x) AS (SELECT ?1 UNION ALL SELECT x + 1 FROM n "
  "WHERE x < ?2) "
  "SELECT '0000000000' || printf('%016d', x), 'ECHO', 'COMPLETED', '{}', "
  "'{}', 0, 3, 0, ?3, ?3, ?3, ?3, ?3, 1 FROM n";

class sqlite_bench_db final : public bench_db {
public:
  static caf::expected<std::unique_ptr<bench_db>>
  open(const store_options& opts) {
    sqlite3* db = nullptr;
    auto rc = sqlite3_open_v2(opts.url.c_str(), &db,
                              SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                              nullptr);
    std::unique_ptr<sqlite_bench_db> out{new sqlite_bench_db(db)};
    out->path_ = opts.url;
    if (rc != SQLITE_OK)
      return out->error("opening " + opts.url, rc);
    sqlite3_busy_timeout(db, opts.busy_timeout_ms);
    // The store's file settings (see sqlite_store::open).
    for (auto sql : {std::string{"PRAGMA journal_mode=WAL"},
                     "PRAGMA synchronous=" + opts.synchronous})
      if (auto err = out->exec(sql.c_str()))
        return err;
    return std::unique_ptr<bench_db>{std::move(out)};
  }

  ~sqlite_bench_db() override {
    for (auto& kv : stmts_)
      sqlite3_finalize(kv.second);
    sqlite3_close(db_);
  }

  caf::error insert_pending_one_per_commit(int64_t n) override {
    for (int64_t i = 0; i < n; ++i)
      if (auto err = txn([&] { return insert_one(); }))
        return err;
    return {};
  }

  caf::error insert_finished(int64_t n) override {
    auto s = prepare(sqlite_finished_sql);
    auto at = now_ms() - finished_age_ms;
    for (int64_t from = 1; from <= n; from += finished_chunk) {
      auto to = std::min(n, from + finished_chunk - 1);
      auto err = txn([&]() -> caf::error {
        sqlite3_reset(s);
        sqlite3_bind_int64(s, 1, from);
        sqlite3_bind_int64(s, 2, to);
        sqlite3_bind_int64(s, 3, at);
        return step_done(s, "inserting finished jobs");
      });
      if (err)
        return err;
    }
    return {};
  }

  caf::error insert_scheduled(int64_t n, ms_t at) override {
    return txn([&]() -> caf::error {
      for (int64_t i = 0; i < n; ++i)
        if (auto err = insert_one(at))
          return err;
      return {};
    });
  }

  caf::error recount() override {
    return txn([&] { return exec(recount_sql); });
  }

  int64_t disk_bytes() override {
    int64_t total = 0;
    for (auto suffix : {"", "-wal"}) {
      std::error_code ec;
      auto n = std::filesystem::file_size(path_ + suffix, ec);
      if (!ec)
        total += static_cast<int64_t>(n);
    }
    return total;
  }

  caf::error settle() override {
    // No ANALYZE: jobd never runs it, so a real database has no statistics
    // either (the claim names its index).
    return exec("PRAGMA wal_checkpoint(TRUNCATE)");
  }

  caf::expected<int64_t>
  claim_and_complete_all(int32_t batch, const std::string& worker) override {
    auto claim = prepare(sqlite_claim_sql);
    auto complete = prepare(sqlite_complete_sql);
    int64_t done = 0;
    std::vector<std::pair<std::string, int64_t>> claimed;
    for (;;) {
      claimed.clear();
      auto err = txn([&]() -> caf::error {
        auto t = now_ms();
        sqlite3_reset(claim);
        bind_text(claim, 1, worker);
        sqlite3_bind_int64(claim, 2, t + 30'000);
        sqlite3_bind_int64(claim, 3, t);
        sqlite3_bind_int(claim, 4, batch);
        int rc;
        while ((rc = sqlite3_step(claim)) == SQLITE_ROW)
          claimed.emplace_back(
            reinterpret_cast<const char*>(sqlite3_column_text(claim, col_id)),
            sqlite3_column_int64(claim, col_attempt));
        sqlite3_reset(claim);
        return rc == SQLITE_DONE ? caf::error{} : error("claiming", rc);
      });
      if (err)
        return err;
      if (claimed.empty())
        return done;
      err = txn([&]() -> caf::error {
        auto t = now_ms();
        for (auto& [id, attempt] : claimed) {
          sqlite3_reset(complete);
          bind_text(complete, 1, "{}");
          sqlite3_bind_int64(complete, 2, t);
          bind_text(complete, 3, id);
          sqlite3_bind_int64(complete, 4, attempt);
          bind_text(complete, 5, worker);
          if (auto e = step_done(complete, "completing"))
            return e;
        }
        return {};
      });
      if (err)
        return err;
      done += static_cast<int64_t>(claimed.size());
    }
  }

  caf::expected<bool> any_unfinished() override {
    auto s = prepare("SELECT EXISTS (SELECT 1 FROM ContentJob WHERE status "
                     "IN ('PENDING', 'PROCESSING'))");
    sqlite3_reset(s);
    auto rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
      return error("counting unfinished jobs", rc);
    bool any = sqlite3_column_int(s, 0) != 0;
    sqlite3_reset(s);
    return any;
  }

  caf::expected<int64_t> count(const std::string& status) override {
    auto s = prepare("SELECT COUNT(*) FROM ContentJob WHERE status = ?");
    sqlite3_reset(s);
    bind_text(s, 1, status);
    auto rc = sqlite3_step(s);
    if (rc != SQLITE_ROW)
      return error("counting jobs", rc);
    auto n = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return n;
  }

private:
  explicit sqlite_bench_db(sqlite3* db) : db_(db) {}

  caf::error error(const std::string& what, int rc) {
    return make_error(errc::io, "bench: " + what + ": "
                                  + (db_ ? sqlite3_errmsg(db_)
                                         : sqlite3_errstr(rc)));
  }

  caf::error exec(const char* sql) {
    auto rc = sqlite3_exec(db_, sql, nullptr, nullptr, nullptr);
    return rc == SQLITE_OK ? caf::error{} : error(sql, rc);
  }

  // Cached, like the store's statements (BEGIN and COMMIT included: plain
  // prepared statements all the way).
  sqlite3_stmt* prepare(const char* sql) {
    auto i = stmts_.find(sql);
    if (i != stmts_.end())
      return i->second;
    sqlite3_stmt* s = nullptr;
    sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr);
    stmts_.emplace(sql, s);
    return s;
  }

  caf::error step_done(sqlite3_stmt* s, const char* what) {
    if (s == nullptr)
      return error(std::string{"preparing for "} + what, sqlite3_errcode(db_));
    auto rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? caf::error{}
                                                 : error(what, rc);
  }

  static void bind_text(sqlite3_stmt* s, int i, const std::string& v) {
    sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()),
                      SQLITE_TRANSIENT);
  }

  // BEGIN IMMEDIATE ... COMMIT, as the store's write transactions.
  template <class F>
  caf::error txn(F&& fn) {
    if (auto err = step_done(prepare("BEGIN IMMEDIATE"), "BEGIN"))
      return err;
    auto err = fn();
    if (err) {
      exec("ROLLBACK");
      return err;
    }
    return step_done(prepare("COMMIT"), "COMMIT");
  }

  caf::error insert_one(ms_t due = 0) {
    auto s = prepare(sqlite_insert_sql);
    auto now = now_ms();
    sqlite3_reset(s);
    bind_text(s, 1, make_job_id(now));
    bind_text(s, 2, "ECHO");
    bind_text(s, 3, "{}");
    sqlite3_bind_int(s, 4, 3);
    sqlite3_bind_int(s, 5, 0);
    sqlite3_bind_int64(s, 6, due != 0 ? due : now);
    sqlite3_bind_int64(s, 7, now);
    sqlite3_bind_int64(s, 8, now);
    return step_done(s, "inserting a job");
  }

  sqlite3* db_;
  std::string path_;
  std::map<const char*, sqlite3_stmt*> stmts_;
};

// -- PostgreSQL -----------------------------------------------------------------

// The statements the baseline runs: jobd's own (pg_store::statement:
// "enqueue", "claim", "complete"; "now" as NULL, so the database clock, as
// pg_store does in production), plus the benchmark's own fill and counts.
const std::pair<const char*, const char*> pg_bench_statements[] = {
  {"insert_finished",
   "INSERT INTO \"ContentJob\" (id, type, status, payload, result, "
   "\"retryCount\", \"maxRetries\", priority, \"scheduledFor\", "
   "\"startedAt\", \"completedAt\", \"createdAt\", \"updatedAt\", attempt) "
   "SELECT '0000000000' || lpad(g::text, 16, '0'), 'ECHO', 'COMPLETED', "
   "'{}', '{}', 0, 3, 0, $3, $3, $3, $3, $3, 1 "
   "FROM generate_series($1::bigint, $2::bigint) AS g"},
  {"any_unfinished",
   "SELECT EXISTS (SELECT 1 FROM \"ContentJob\" WHERE status IN "
   "('PENDING', 'PROCESSING'))"},
  {"count", "SELECT count(*) FROM \"ContentJob\" WHERE status = $1"},
};

// The store's statements the baseline runs.
const char* const pg_store_statements[] = {"enqueue", "claim", "complete"};

// NULL for the store's "now" parameter: the database clock.
const std::optional<int64_t> db_clock;

// An array literal of `n` copies of one plain element (a number, or "{}"
// quoted).
std::string repeat_array(const std::string& element, size_t n) {
  std::string out = "{";
  for (size_t i = 0; i < n; ++i)
    out += (i ? "," : "") + element;
  return out + "}";
}

// A text[] literal of plain ids (job ids need no quoting).
std::string id_array(const std::vector<std::string>& ids) {
  std::string out = "{";
  for (size_t i = 0; i < ids.size(); ++i)
    out += (i ? "," : "") + ids[i];
  return out + "}";
}

class pg_bench_db final : public bench_db {
public:
  static caf::expected<std::unique_ptr<bench_db>>
  open(const store_options& opts) {
    auto ci = make_pg_conninfo(opts.url, 10);
    if (!ci)
      return ci.error();
    std::unique_ptr<pg_bench_db> out{new pg_bench_db};
    auto err = out->guard("connecting to " + ci->server, [&] {
      out->conn_ = std::make_unique<pqxx::connection>(ci->conninfo);
      out->quiet_ = std::make_unique<pqxx::quiet_errorhandler>(*out->conn_);
      for (auto& [name, sql] : pg_bench_statements)
        out->conn_->prepare(name, sql);
      for (auto name : pg_store_statements)
        out->conn_->prepare(name, pg_store::statement(name));
    });
    if (err)
      return err;
    return std::unique_ptr<bench_db>{std::move(out)};
  }

  ~pg_bench_db() override {
    quiet_.reset();
    conn_.reset();
  }

  caf::error insert_scheduled(int64_t n, ms_t at) override {
    return guard("inserting jobs", [&] {
      pqxx::work tx{*conn_};
      std::vector<std::string> ids;
      for (int64_t i = 0; i < n;) {
        ids.clear();
        auto now = now_ms();
        for (; i < n && ids.size() < 10'000; ++i)
          ids.push_back(make_job_id(now));
        enqueue(tx, ids, now, at);
      }
      tx.commit();
    });
  }

  caf::error recount() override {
    return guard("recounting jobs", [&] {
      pqxx::work tx{*conn_};
      tx.exec(recount_sql);
      tx.commit();
    });
  }

  int64_t disk_bytes() override {
    int64_t out = -1;
    auto err = guard("sizing the table", [&] {
      pqxx::nontransaction tx{*conn_};
      out = tx.exec("SELECT pg_total_relation_size('\"ContentJob\"')")[0][0]
              .as<int64_t>();
    });
    return err ? -1 : out;
  }

  caf::error insert_pending_one_per_commit(int64_t n) override {
    // Autocommit: one statement, one commit, as pg_store's enqueue.
    return guard("inserting jobs", [&] {
      for (int64_t i = 0; i < n; ++i) {
        pqxx::nontransaction tx{*conn_};
        auto now = now_ms();
        enqueue(tx, {make_job_id(now)}, now);
      }
    });
  }

  caf::error insert_finished(int64_t n) override {
    return guard("inserting finished jobs", [&] {
      auto at = now_ms() - finished_age_ms;
      for (int64_t from = 1; from <= n; from += finished_chunk) {
        pqxx::work tx{*conn_};
        tx.exec_prepared("insert_finished", from,
                         std::min(n, from + finished_chunk - 1), at);
        tx.commit();
      }
    });
  }

  caf::error settle() override {
    auto err = guard("vacuuming", [&] {
      pqxx::nontransaction tx{*conn_};
      tx.exec("VACUUM ANALYZE \"ContentJob\"");
    });
    if (err)
      return err;
    // Needs superuser (or pg_checkpoint); without it the server's own
    // checkpoint comes when it comes.
    guard("checkpoint", [&] {
      pqxx::nontransaction tx{*conn_};
      tx.exec("CHECKPOINT");
    });
    return {};
  }

  caf::expected<int64_t>
  claim_and_complete_all(int32_t batch, const std::string& worker) override {
    int64_t done = 0;
    auto err = guard("claiming and completing", [&] {
      for (;;) {
        pqxx::result claimed;
        {
          // Autocommit, as pg_store's claim.
          pqxx::nontransaction tx{*conn_};
          claimed = tx.exec_prepared("claim", db_clock, worker,
                                     int64_t{30'000}, batch);
        }
        if (claimed.empty())
          return;
        pqxx::work tx{*conn_};
        for (const auto& row : claimed)
          tx.exec_prepared("complete", db_clock, "{}", row[col_id].c_str(),
                           row[col_attempt].as<int32_t>(), worker);
        tx.commit();
        done += static_cast<int64_t>(claimed.size());
      }
    });
    if (err)
      return err;
    return done;
  }

  caf::expected<bool> any_unfinished() override {
    bool any = false;
    auto err = guard("counting unfinished jobs", [&] {
      pqxx::nontransaction tx{*conn_};
      any = tx.exec_prepared1("any_unfinished")[0].as<bool>();
    });
    if (err)
      return err;
    return any;
  }

  caf::expected<int64_t> count(const std::string& status) override {
    int64_t n = 0;
    auto err = guard("counting jobs", [&] {
      pqxx::nontransaction tx{*conn_};
      n = tx.exec_prepared1("count", status)[0].as<int64_t>();
    });
    if (err)
      return err;
    return n;
  }

private:
  pg_bench_db() = default;

  // The store's enqueue statement for PENDING ECHO jobs due now, as
  // pg_store::enqueue binds it.
  static void enqueue(pqxx::transaction_base& tx,
                      const std::vector<std::string>& ids, ms_t now,
                      ms_t due = 0) {
    auto n = ids.size();
    tx.exec_prepared("enqueue", now, id_array(ids),
                     repeat_array("ECHO", n), repeat_array("\"{}\"", n),
                     repeat_array("3", n), repeat_array("0", n),
                     repeat_array(std::to_string(due != 0 ? due : now), n),
                     repeat_array("0", n)); // the type's timeout
  }

  template <class F>
  caf::error guard(const std::string& what, F&& fn) {
    try {
      fn();
      return {};
    } catch (const std::exception& e) {
      std::string msg = e.what();
      return make_error(errc::io, "bench: " + what + ": "
                                    + msg.substr(0, msg.find('\n')));
    }
  }

  std::unique_ptr<pqxx::connection> conn_;
  std::unique_ptr<pqxx::quiet_errorhandler> quiet_;
};

// Runs one SQL text on `url` in autocommit mode.
caf::error pg_exec(const std::string& url, const std::string& sql) {
  auto ci = make_pg_conninfo(url, 10);
  if (!ci)
    return ci.error();
  try {
    pqxx::connection c{ci->conninfo};
    pqxx::quiet_errorhandler quiet{c};
    pqxx::nontransaction tx{c};
    tx.exec(sql);
    return {};
  } catch (const std::exception& e) {
    std::string msg = e.what();
    return make_error(errc::unavailable,
                      "bench: PostgreSQL at " + ci->server + ": "
                        + pg_redact(msg.substr(0, msg.find('\n')), url));
  }
}

} // namespace

// -- bench_storage ------------------------------------------------------------

caf::expected<std::unique_ptr<bench_storage>>
bench_storage::create(const store_options& user) {
  std::unique_ptr<bench_storage> st{new bench_storage};
  st->base_ = user;
  if (is_pg_url(user.url)) {
    st->pg_ = true;
    // The stores must find our schema first in search_path; a URL that
    // sets its own options would fight over it.
    if (user.url.find("options=") != std::string::npos)
      return make_error(errc::invalid,
                        "--db: bench sets the URL's options (search_path) "
                        "itself; remove options= from the URL");
    st->admin_url_ = user.url;
    // One schema per bench_storage: the scale run holds two at once.
    static std::atomic<int> made{0};
    auto n = ++made;
    st->schema_ = "jobd_bench_" + std::to_string(getpid())
                  + (n > 1 ? "_" + std::to_string(n) : std::string{});
    if (auto err = pg_exec(st->admin_url_, "DROP SCHEMA IF EXISTS "
                                             + st->schema_ + " CASCADE"))
      return err;
    st->base_.url = user.url
                    + (user.url.find('?') == std::string::npos ? "?" : "&")
                    + "options=-csearch_path%3D" + st->schema_;
    return st;
  }
  // Beside storage.db: the disk the real database lives on.
  std::error_code ec;
  auto parent = fs::path(user.url).parent_path();
  if (parent.empty())
    parent = ".";
  for (auto dir : {parent, fs::temp_directory_path(ec)}) {
    auto tmpl = (dir / "jobd-bench-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) != nullptr) {
      st->dir_ = fs::absolute(tmpl, ec).lexically_normal().string();
      return st;
    }
  }
  return make_error(errc::io, "bench: cannot create a temp dir beside '"
                                + user.url + "' or in "
                                + fs::temp_directory_path(ec).string());
}

bench_storage::~bench_storage() {
  if (pg_) {
    pg_exec(admin_url_, "DROP SCHEMA IF EXISTS " + schema_ + " CASCADE");
    return;
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

caf::expected<store_options> bench_storage::fresh() {
  auto opts = base_;
  if (pg_) {
    if (auto err = pg_exec(admin_url_, "DROP SCHEMA IF EXISTS " + schema_
                                         + " CASCADE; CREATE SCHEMA "
                                         + schema_))
      return err;
    // Each workload starts on a settled server: the previous workload's
    // dirty pages written out now, not by a checkpoint in the middle of
    // this one. Needs superuser (or pg_checkpoint); else skipped.
    pg_exec(admin_url_, "CHECKPOINT");
  } else {
    // One file per workload; the previous one goes first (with its WAL),
    // so the disk never holds more than one.
    std::error_code ec;
    for (auto& e : fs::directory_iterator(dir_, ec))
      fs::remove(e.path(), ec);
    opts.url = dir_ + "/bench-" + std::to_string(++files_) + ".db";
  }
  auto st = open_store(opts, std::make_shared<system_clock_source>());
  if (!st)
    return st.error();
  return opts;
}

std::string bench_storage::description() const {
  if (pg_)
    return "PostgreSQL " + make_pg_conninfo(admin_url_, 10)->server
           + ", schema " + schema_
           + " (created for each workload, dropped at the end; other "
             "schemas untouched)";
  return "SQLite, fresh files in " + dir_ + " (removed at the end), WAL, "
         "synchronous=" + base_.synchronous;
}

caf::expected<std::unique_ptr<bench_db>>
bench_db::open(const store_options& opts) {
  if (is_pg_url(opts.url))
    return pg_bench_db::open(opts);
  return sqlite_bench_db::open(opts);
}

} // namespace jobd::bench
