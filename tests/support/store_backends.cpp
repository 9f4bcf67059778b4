#include "support/store_backends.hpp"

namespace jobd::test {

std::vector<std::string> store_backends() {
  std::vector<std::string> out{"sqlite"};
  return out;
}

std::unique_ptr<store_env> make_store_env(const std::string& backend) {
  auto env = std::make_unique<store_env>();
  env->backend = backend;
  if (backend == "sqlite") {
    env->opts.url = env->dir.file("jobs.db");
    env->opts.synchronous = "NORMAL"; // tests need no power-loss safety
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
