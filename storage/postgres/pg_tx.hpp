// How pg_store talks to PostgreSQL inside one store call or one batch.
//
// Across a network the cost of a write is its round trips, not the server's
// work: at 5 ms one way each round trip is 10 ms, and a write that took
// BEGIN, its statement, one statement per job count changed, the change
// feed's clock and COMMIT, each waiting for its reply, paid six (and held
// the feed clock's row lock, which every writer of every process needs,
// for a whole round trip). A pg_tx in write mode sends:
// - BEGIN in the same message as the transaction's first statement;
// - each further statement in one message (its reply is needed: claimed
//   jobs, the fencing check's outcome);
// - the closing statements (job counts, the feed's clock) and COMMIT in
//   one message, so the clock's lock is held for no round trip at all.
// A transaction of n statements costs n + 1 round trips. A message of
// several statements cannot carry bound parameters (the simple query
// protocol), so in write mode a statement is sent as text, with each
// parameter as a quoted literal (libpq's escaping for this connection): a
// literal is an untyped constant, resolved from its context exactly as a
// parameter is.
//
// In read mode (reads outside a transaction) statements run prepared, one
// by one, as before.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <pqxx/pqxx>

namespace jobd {

/// Replaces each $n of `sql` with literals[n-1]. $n must not occur inside
/// quoted text of `sql` (pg_store's statements have none). Throws
/// std::out_of_range for an $n without a literal.
std::string pg_bind(const std::string& sql,
                    const std::vector<std::string>& literals);

class pg_tx {
public:
  /// The SQL text of a prepared statement, by name.
  using statement_fn = std::function<const std::string&(const std::string&)>;

  /// `writes`: a write transaction (see above) on `base`, which must be a
  /// pqxx::nontransaction (pg_tx sends BEGIN and COMMIT itself); else
  /// reads, prepared, on any transaction.
  pg_tx(pqxx::transaction_base& base, bool writes, statement_fn statement);
  /// Rolls back a write transaction that was begun and not committed
  /// (best effort: a lost connection is dropped by the caller anyway).
  ~pg_tx();
  pg_tx(const pg_tx&) = delete;
  pg_tx& operator=(const pg_tx&) = delete;

  /// Runs the prepared statement `name` with `args` (see above). Throws
  /// as pqxx does.
  template <class... Ts>
  pqxx::result exec_prepared(const std::string& name, const Ts&... args) {
    if (!writes_)
      return base_.exec_prepared(name, args...);
    return exec(bind(name, args...));
  }

  /// The same, for a statement that returns exactly one row.
  template <class... Ts>
  pqxx::row exec_prepared1(const std::string& name, const Ts&... args) {
    auto res = exec_prepared(name, args...);
    if (res.size() != 1)
      throw pqxx::unexpected_rows("expected 1 row from " + name + ", got "
                                  + std::to_string(res.size()));
    return res[0];
  }

  /// Runs `sql` (text; in write mode BEGIN goes with the first).
  pqxx::result exec(const std::string& sql);

  /// The text of statement `name` with `args` as literals.
  template <class... Ts>
  std::string bind(const std::string& name, const Ts&... args) {
    return pg_bind(statement_(name), {literal(args)...});
  }

  /// `v` as an SQL literal: NULL, or quoted text.
  template <class T>
  std::string literal(const std::optional<T>& v) {
    return v ? literal(*v) : std::string{"NULL"};
  }
  template <class T>
  std::string literal(const T& v) {
    return base_.quote(pqxx::to_string(v));
  }

  /// Sends `closing` (statements, each ending in "; "; may be empty) and
  /// COMMIT in one message. Nothing is sent if no statement was. A lost
  /// connection here throws pqxx::in_doubt_error (the commit may have
  /// happened); an SQL error rolls back and rethrows.
  void commit(const std::string& closing);

  /// Rolls back if a transaction was begun (errors swallowed).
  void rollback() noexcept;

  /// The transaction underneath (for reads that need pqxx's own calls).
  pqxx::transaction_base& base() { return base_; }

private:
  pqxx::transaction_base& base_;
  bool writes_;
  statement_fn statement_;
  bool begun_ = false;
};

} // namespace jobd
