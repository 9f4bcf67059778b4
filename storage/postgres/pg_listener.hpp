// Wake-ups from PostgreSQL: LISTEN jobd_jobs on a connection of its own, so
// a scheduler can sleep until a job may have become due instead of polling
// in a tight loop. Meant to run in a detached actor:
//
//   while (running) if (listener->wait(1s)) send(scheduler, wake_atom);
//
// Limits (notifications are hints; the scheduler must keep polling, only
// less often):
// - pg_store notifies when a job becomes due *by a write* (enqueue, a
//   failure with a retry, release, retry, rescue, update to PENDING), after
//   that write commits. A job whose scheduledFor merely arrives sends
//   nothing: poll for those.
// - Notifications sent while the listener is disconnected are lost; wait()
//   returns true after each reconnect so the caller polls once.
// - Transaction-pooling proxies (PgBouncer pool_mode=transaction, most
//   "serverless" poolers) do not keep LISTEN: point the listener at the
//   server itself or at a session-mode pool. It then simply never fires;
//   polling still runs every job.
// - One notification per committed transaction at most (the server folds
//   identical ones), across all jobd processes on the database: a wake-up
//   says "look", not "how many".
//
// Thread safety: wait() from one thread at a time; interrupt() from any.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <caf/expected.hpp>

namespace jobd {

/// Settings of a listener.
struct pg_listener_options {
  /// Wait after the first failed reconnect; doubles up to reconnect_max_ms.
  int32_t reconnect_min_ms = 100;
  /// Longest wait between reconnect attempts.
  int32_t reconnect_max_ms = 5000;
  /// libpq connect_timeout in seconds, unless the URL sets one.
  int32_t connect_timeout_s = 10;
  /// If true, open() succeeds when the first connect fails (the server is
  /// down or restarting as the worker starts): wait() then keeps trying,
  /// with the same backoff as after a lost connection. If false, open()
  /// reports the failure.
  bool retry_first_connect = false;
  /// The channel to LISTEN on. Default pg_notify_channel ("jobd_jobs").
  std::string channel = "jobd_jobs";
};

class pg_listener {
public:
  /// Connects to `url` (the storage URL) and runs LISTEN on opts.channel.
  /// Errors: invalid (malformed URL), unavailable (cannot connect or
  /// LISTEN, unless opts.retry_first_connect; names host and port, never
  /// the password).
  static caf::expected<std::unique_ptr<pg_listener>>
  open(const std::string& url, pg_listener_options opts = {});

  ~pg_listener();
  pg_listener(const pg_listener&) = delete;
  pg_listener& operator=(const pg_listener&) = delete;

  /// Blocks until a notification arrives (returns true, having consumed
  /// all that are pending), `timeout` passes (false), or interrupt() is
  /// called (false). If the connection is lost it reconnects, with backoff,
  /// within the same timeout, and returns true once it is back (anything
  /// sent meanwhile was missed). Never throws; while the server is down it
  /// just returns false after `timeout` (a connection attempt in progress
  /// may overrun it by up to connect_timeout_s, against a host that does
  /// not answer at all).
  bool wait(std::chrono::milliseconds timeout);

  /// Makes the current (or next) wait() return false at once. Thread-safe;
  /// for shutting the listening actor down.
  void interrupt();

  /// True while connected and listening.
  bool connected() const;

  /// The server process id of the listening connection, 0 if none. For
  /// tests (pg_terminate_backend).
  int backend_pid() const;

  /// Why the last (re)connect failed; empty after a success. No password.
  const std::string& last_error() const;

private:
  pg_listener(std::string url, std::string conninfo, std::string server,
              pg_listener_options opts);

  struct session;

  bool connect();
  void disconnect();

  std::string url_;
  std::string conninfo_; // includes the password: never print it
  std::string server_;
  pg_listener_options opts_;
  std::unique_ptr<session> s_;
  int wake_pipe_[2] = {-1, -1};
  int failures_ = 0;
  std::chrono::steady_clock::time_point next_connect_;
  std::string last_error_;
};

} // namespace jobd
