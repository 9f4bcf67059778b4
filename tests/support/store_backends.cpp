#include "support/store_backends.hpp"

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

} // namespace jobd::test
