#include "support/store_backends.hpp"

#include <cctype>

#include <sqlite3.h>

#include "support/pg_server.hpp"

namespace jobd::test {

// PostgreSQL is always listed: its throwaway server starts on the first
// make_store_env("postgresql"), and if it cannot (binaries missing), that
// call throws, failing each contract case loudly while SQLite still runs.
std::vector<std::string> store_backends() {
  return {"sqlite", "postgresql"};
}

std::unique_ptr<store_env> make_store_env(const std::string& backend) {
  auto env = std::make_unique<store_env>();
  env->backend = backend;
  if (backend == "sqlite") {
    env->opts.url = env->dir.file("jobs.db");
    env->opts.synchronous = "NORMAL"; // tests need no power-loss safety
  } else if (backend == "postgresql") {
    // A new schema per env: empty, cheap, and open_again() reaches the
    // same one (the URL carries the search_path).
    env->opts.url = pg_server::shared().fresh_schema_url();
  } else {
    throw std::runtime_error("unknown backend " + backend);
  }
  auto st = open_store(env->opts, env->clock);
  if (!st)
    throw std::runtime_error("open failed: " + message_of(st.error()));
  env->store = std::move(*st);
  return env;
}

int64_t store_env::attempt_rows(const std::string& id) const {
  if (backend == "postgresql") {
    for (char c : id)
      if (!std::isalnum(static_cast<unsigned char>(c)))
        throw std::runtime_error("attempt_rows: not an id: " + id);
    return std::stoll(pg_server::query(
      opts.url, "SELECT count(*) FROM \"JobAttempt\" WHERE \"jobId\" = '" + id
                  + "'"));
  }
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(opts.url.c_str(), &db, SQLITE_OPEN_READONLY, nullptr)
      != SQLITE_OK) {
    sqlite3_close(db);
    throw std::runtime_error("attempt_rows: cannot open " + opts.url);
  }
  sqlite3_stmt* st = nullptr;
  sqlite3_prepare_v2(db,
                     "SELECT count(*) FROM JobAttempt WHERE jobId = ?1", -1,
                     &st, nullptr);
  sqlite3_bind_text(st, 1, id.c_str(), -1, SQLITE_TRANSIENT);
  int64_t n = -1;
  if (sqlite3_step(st) == SQLITE_ROW)
    n = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  sqlite3_close(db);
  if (n < 0)
    throw std::runtime_error("attempt_rows: query failed on " + opts.url);
  return n;
}

} // namespace jobd::test
