// open_store(): picks the backend the URL names.
#include "storage/store.hpp"

#include "storage/postgres/pg_store.hpp"
#include "storage/sqlite/sqlite_store.hpp"

namespace jobd {

bool supports_read_pool(const std::string& url) {
  if (is_pg_url(url))
    return true;
  return !url.empty() && url != ":memory:" && url.rfind("file:", 0) != 0;
}

caf::expected<std::unique_ptr<job_store>>
open_store(const store_options& opts, std::shared_ptr<const clock_source> clk) {
  if (is_pg_url(opts.url)) {
    // The real clock means "real time": take it from the database server,
    // which every jobd process shares whatever its own clock says. Any
    // other clock_source (a test's manual_clock) is used as given, so tests
    // drive time exactly as they do with SQLite.
    pg_store_options pg;
    pg.time = clk && dynamic_cast<const system_clock_source*>(clk.get())
                       == nullptr
                ? pg_time_source::injected
                : pg_time_source::database;
    auto st = pg_store::open(opts, std::move(clk), pg);
    if (!st)
      return st.error();
    return std::unique_ptr<job_store>{std::move(*st)};
  }
  auto st = sqlite_store::open(opts, std::move(clk));
  if (!st)
    return st.error();
  return std::unique_ptr<job_store>{std::move(*st)};
}

} // namespace jobd
