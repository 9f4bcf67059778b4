// Cross-process wake-ups for a SQLite database, with no server: the
// directory "<db>-wake/" beside the database holds one Unix datagram socket
// per process that runs workers on it. Every process that makes a job due
// (an enqueue by `serve`, a worker or `jobd jobs add`; a release, a manual
// retry) sends one empty datagram to every socket there; a worker that gets
// one claims at once instead of at its next poll.
//
// A datagram's one byte says why: jobs may be due (wake_jobs_due), or a
// job was cancelled or settled by hand while a worker may run it
// (wake_jobs_settled), so workers renew their leases now and stop it
// instead of at their next heartbeat.
//
// A hint only, never the truth: the row is committed before anyone is
// told, a lost or refused datagram costs at most one poll interval, and
// polling stays on whatever happens here. Limits:
// - Unix sockets work between processes of one kernel only. SQLite's WAL
//   mode needs that too (its -shm index is shared memory), so every process
//   sharing a database is on one machine anyway; on a network file system
//   (which SQLite's WAL does not support) or from another container that
//   does not share the directory, processes fall back to polling.
// - Every process needs write access to the directory and to the sockets
//   in it (the umask decides; share a group, or run as one user).
// - A process killed with SIGKILL leaves its socket file behind; the next
//   notifier that finds nobody listening on it removes it.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <sys/types.h>

#include <caf/expected.hpp>

namespace jobd {

/// Why a process is told (a datagram's byte; wait() returns them as bits).
constexpr int wake_jobs_due = 1;
constexpr int wake_jobs_settled = 2;

/// "<db_path>-wake": the wake-up directory of a SQLite database; "" for a
/// database with no file (":memory:", "" or a "file:" URI) and for a
/// postgresql:// URL (PostgreSQL has LISTEN/NOTIFY).
std::string wake_dir_of(const std::string& db_path);

/// The receiving end: this process's socket in the directory.
/// Thread safety: wait() from one thread; stop() from any thread.
class wake_inbox {
public:
  /// Creates the directory if missing (mode 0777 less the umask) and binds
  /// a socket named "<pid>-<random>" in it. Errors (errc::io, message names
  /// the path and the reason): the directory cannot be made or is not a
  /// directory, or the socket cannot be bound (no write access).
  static caf::expected<std::unique_ptr<wake_inbox>>
  open(const std::string& dir);

  wake_inbox(const wake_inbox&) = delete;
  wake_inbox& operator=(const wake_inbox&) = delete;
  /// Closes and removes the socket.
  ~wake_inbox();

  /// Blocks until at least one wake-up arrives (then reads every one queued,
  /// so a burst counts once), stop() is called, or `timeout` passes.
  /// Returns the kinds that came (wake_jobs_due | wake_jobs_settled; a
  /// byte of another value counts as due), 0 if none. Uses no CPU while
  /// it waits.
  int wait(std::chrono::milliseconds timeout);

  /// Makes the current and every later wait() return at once, and removes
  /// the socket file so notifiers stop sending here. Idempotent.
  void stop();
  bool stopped() const;

  /// The socket's file name in the directory (notifiers skip it).
  const std::string& name() const { return name_; }

private:
  wake_inbox() = default;
  std::string dir_;
  std::string name_;
  int sock_ = -1;
  int stop_fd_ = -1; ///< an eventfd, readable once stop() ran
};

/// The sending end: tells every other socket in the directory.
/// Not thread safe: one per user (a store actor, the CLI).
class wake_notifier {
public:
  /// `skip`: a socket name not to send to (our own inbox), or "".
  explicit wake_notifier(std::string dir, std::string skip = {});
  wake_notifier(const wake_notifier&) = delete;
  wake_notifier& operator=(const wake_notifier&) = delete;
  ~wake_notifier();

  /// Sends one datagram to every listed socket; never blocks. A socket
  /// nobody listens on (its process died) is removed; a full one (its
  /// process has wake-ups queued already) counts as told. The listing is
  /// re-read only when the directory changed (its mtime), so a call with
  /// nothing new costs one fstat plus one sendto per peer. Returns how
  /// many sockets were told; 0 if the directory is missing. `kind`:
  /// wake_jobs_due or wake_jobs_settled.
  int notify(int kind = wake_jobs_due);

private:
  void rescan();
  std::string dir_;
  std::string skip_;
  int dir_fd_ = -1;
  int sock_ = -1;
  struct timespec seen_mtime_ {};
  std::vector<std::string> peers_;
};

/// One-shot: wake_notifier{dir}.notify(kind) (0 for dir ""). For `jobd
/// jobs add` and `jobs cancel`.
int notify_wake_dir(const std::string& dir, int kind = wake_jobs_due);

} // namespace jobd
