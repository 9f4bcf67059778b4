// The backends the storage contract suite runs against: SQLite and
// PostgreSQL (a throwaway server the suite starts itself; if its binaries
// are missing, every PostgreSQL case fails and says to run `make deps`).
#pragma once

#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "storage/clock.hpp"
#include "storage/store.hpp"
#include "support/temp_dir.hpp"

namespace jobd::test {

/// A fresh, empty store of one backend with a manual clock.
struct store_env {
  std::string backend;
  std::shared_ptr<manual_clock> clock = std::make_shared<manual_clock>();
  temp_dir dir;
  store_options opts;
  std::unique_ptr<job_store> store;

  /// Opens another connection to the same database (a second process).
  std::unique_ptr<job_store> open_again() const {
    auto st = open_store(opts, clock);
    if (!st)
      throw std::runtime_error("reopen failed: " + message_of(st.error()));
    return std::move(*st);
  }

  /// How many rows "JobAttempt" holds for job `id`, counted by SQL on a
  /// connection of its own (so a test sees rows the store API cannot show:
  /// those of a deleted job). Throws on failure.
  int64_t attempt_rows(const std::string& id) const;
};

/// Names of the backends: "sqlite" and "postgresql".
std::vector<std::string> store_backends();

/// Creates an empty store of that backend. Throws on failure.
std::unique_ptr<store_env> make_store_env(const std::string& backend);

} // namespace jobd::test
