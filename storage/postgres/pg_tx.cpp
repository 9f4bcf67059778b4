#include "storage/postgres/pg_tx.hpp"

#include <cctype>
#include <stdexcept>
#include <utility>

namespace jobd {

std::string pg_bind(const std::string& sql,
                    const std::vector<std::string>& literals) {
  std::string out;
  out.reserve(sql.size() + 64);
  for (size_t i = 0; i < sql.size(); ++i) {
    if (sql[i] != '$' || i + 1 >= sql.size()
        || !std::isdigit(static_cast<unsigned char>(sql[i + 1]))) {
      out += sql[i];
      continue;
    }
    size_t n = 0;
    while (i + 1 < sql.size()
           && std::isdigit(static_cast<unsigned char>(sql[i + 1])))
      n = n * 10 + static_cast<size_t>(sql[++i] - '0');
    if (n == 0 || n > literals.size())
      throw std::out_of_range("pg_bind: no literal for $" + std::to_string(n));
    out += literals[n - 1];
  }
  return out;
}

pg_tx::pg_tx(pqxx::transaction_base& base, bool writes,
             statement_fn statement)
  : base_(base), writes_(writes), statement_(std::move(statement)) {
}

pg_tx::~pg_tx() {
  rollback();
}

pqxx::result pg_tx::exec(const std::string& sql) {
  if (!writes_ || begun_)
    return base_.exec(sql);
  // Marked first: if the message fails, BEGIN may have run all the same,
  // and a ROLLBACK with no transaction open is only a warning.
  begun_ = true;
  return base_.exec("BEGIN; " + sql);
}

void pg_tx::commit(const std::string& closing) {
  if (!writes_ || !begun_)
    return;
  try {
    base_.exec(closing + "COMMIT");
    begun_ = false;
  } catch (const pqxx::broken_connection& e) {
    begun_ = false;
    throw pqxx::in_doubt_error(e.what());
  } catch (const pqxx::sql_error&) {
    // The statements after the failing one did not run; the transaction
    // is aborted (or, if COMMIT itself failed, already over).
    rollback();
    throw;
  }
}

void pg_tx::rollback() noexcept {
  if (!begun_)
    return;
  begun_ = false;
  try {
    base_.exec("ROLLBACK");
  } catch (...) {
    // The connection is gone: the server rolls back on its own.
  }
}

} // namespace jobd
