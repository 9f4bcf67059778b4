// A throwaway PostgreSQL server for tests.
//
// initdb into a fresh temp dir (trust authentication, superuser "jobd",
// fsync off: nothing here must survive a crash), listening on 127.0.0.1 on a
// free port and on a Unix socket in the same dir, started with
// `pg_ctl start -w`. Stopped by the postmaster's PID (fast shutdown) and the
// dir removed when the object goes away; if the test process dies first
// (crash, kill, Ctrl-C), a watchdog child in its own session notices the
// end of the process and does the same, so no stray server outlives a run.
//
// As root, the server runs as the "postgres" user (initdb refuses root).
// The binaries are looked up in $JOBD_PG_BINDIR, else the newest
// /usr/lib/postgresql/*/bin. Missing binaries are an error, never a skip:
// `make test` installs them (install-deps.sh lists postgresql).
#pragma once

#include <string>
#include <sys/types.h>

namespace jobd::test {

class pg_server {
public:
  /// Creates and starts a server. Throws std::runtime_error naming the fix
  /// when the binaries are missing or the server does not start (the
  /// message includes the tail of the server log).
  pg_server();
  /// Stops the server and removes its dir.
  ~pg_server();
  pg_server(const pg_server&) = delete;
  pg_server& operator=(const pg_server&) = delete;

  /// The server of the whole test process, started on first use. Throws as
  /// the constructor does, on every call once it has failed.
  static pg_server& shared();

  /// A URL for database `db` as superuser "jobd", plus `params` (already
  /// URL-encoded, "k=v&k2=v2"). The database "jobd" always exists. It sets
  /// connect_timeout=60 (see the .cpp).
  std::string url(const std::string& db = "jobd",
                  const std::string& params = "") const;

  /// A role that must log in with a password over TCP (scram-sha-256), for
  /// tests of refused logins; every other login is trusted.
  static constexpr const char* password_user = "jobd_pw";
  static constexpr const char* password = "right-password";

  /// A URL for database `db` as `user` with `pw` (empty: none).
  std::string url_as(const std::string& user, const std::string& pw,
                     const std::string& db = "jobd") const;

  /// A URL whose search_path is a new, empty schema of database "jobd": a
  /// store opened on it starts empty. `params` as for url().
  std::string fresh_schema_url(const std::string& params = "");

  /// Runs `sql` on `url` (one connection, autocommit) and returns the first
  /// column of the first row ("" if none). Throws std::runtime_error.
  static std::string query(const std::string& url, const std::string& sql);

  /// Fast shutdown by PID; returns once the server has exited.
  void stop();
  /// Starts the stopped server again, same port and data.
  void start();

  int port() const { return port_; }
  /// `url` (one of this server's) with its port replaced by `port`: the
  /// same database through a proxy listening there.
  std::string url_through(const std::string& url, int port) const;
  const std::string& dir() const { return dir_; }

private:
  void start_once();

  std::string bin_;      // dir holding initdb, pg_ctl, postgres
  std::string dir_;      // temp dir: data/, server.log, the Unix socket
  int port_ = 0;
  uid_t uid_ = 0;        // the server's user (postgres when we are root)
  gid_t gid_ = 0;
  bool running_ = false;
  int watchdog_fd_ = -1; // write end of the watchdog's pipe
  pid_t watchdog_pid_ = -1;
  int schemas_ = 0;
};

} // namespace jobd::test
