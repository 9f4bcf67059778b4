#include "storage/postgres/pg_listener.hpp"

#include <algorithm>
#include <cerrno>
#include <random>

#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <pqxx/pqxx>

#include "storage/errors.hpp"
#include "storage/postgres/pg_conninfo.hpp"
#include "storage/postgres/pg_store.hpp"

namespace jobd {

namespace {

std::string first_line_of(const std::string& msg) {
  auto line = msg.substr(0, msg.find('\n'));
  while (!line.empty() && (line.back() == ' ' || line.back() == '\r'))
    line.pop_back();
  return line;
}

} // namespace

// One connection and its LISTEN. Waiting is poll() on the connection's
// socket plus a wake-up pipe rather than libpqxx's await_notification(),
// which can be neither interrupted nor told apart from a lost connection.
// No pqxx::notification_receiver: its destructor runs UNLISTEN, which on a
// lost connection makes libpqxx reconnect first; get_notifs() counts every
// notification anyway.
struct pg_listener::session {
  session(const std::string& conninfo, const std::string& channel)
    : conn(conninfo), quiet(conn) {
    pqxx::nontransaction tx{conn};
    tx.exec("LISTEN " + channel);
  }

  pqxx::connection conn;
  pqxx::quiet_errorhandler quiet; // notices are not errors
  int hits = 0;
};

caf::expected<std::unique_ptr<pg_listener>>
pg_listener::open(const std::string& url, pg_listener_options opts) {
  if (opts.reconnect_min_ms < 1
      || opts.reconnect_max_ms < opts.reconnect_min_ms)
    return make_error(errc::invalid,
                      "pg_listener: reconnect_min_ms must be >= 1 and <= "
                      "reconnect_max_ms");
  auto ci = make_pg_conninfo(url, opts.connect_timeout_s);
  if (!ci)
    return ci.error();
  std::unique_ptr<pg_listener> l{new pg_listener(
    url, std::move(ci->conninfo), std::move(ci->server), opts)};
  if (pipe2(l->wake_pipe_, O_CLOEXEC | O_NONBLOCK) != 0)
    return make_error(errc::io, "pg_listener: cannot create a pipe");
  if (!l->connect() && !opts.retry_first_connect)
    return make_error(errc::unavailable, l->last_error_);
  return l;
}

pg_listener::pg_listener(std::string url, std::string conninfo,
                         std::string server, pg_listener_options opts)
  : url_(std::move(url)),
    conninfo_(std::move(conninfo)),
    server_(std::move(server)),
    opts_(opts) {
}

pg_listener::~pg_listener() {
  disconnect();
  for (int fd : wake_pipe_)
    if (fd >= 0)
      ::close(fd);
}

bool pg_listener::connect() {
  disconnect();
  try {
    s_ = std::make_unique<session>(conninfo_, opts_.channel);
    failures_ = 0;
    last_error_.clear();
    return true;
  } catch (const std::exception& e) {
    s_.reset();
    // The URL's password never reaches libpq's messages, but be sure.
    auto msg = pg_redact(first_line_of(e.what()), url_);
    last_error_ = "cannot connect to PostgreSQL at " + server_ + ": " + msg;
  }
  ++failures_;
  // Exponential backoff with jitter, as pg_store does.
  static thread_local std::mt19937 gen{std::random_device{}()};
  int64_t wait = opts_.reconnect_min_ms;
  for (int i = 1; i < failures_ && wait < opts_.reconnect_max_ms; ++i)
    wait *= 2;
  wait = std::min<int64_t>(wait, opts_.reconnect_max_ms);
  std::uniform_int_distribution<int64_t> jitter{wait * 3 / 4, wait * 5 / 4};
  next_connect_ = std::chrono::steady_clock::now()
                  + std::chrono::milliseconds(jitter(gen));
  return false;
}

void pg_listener::disconnect() {
  s_.reset();
}

bool pg_listener::wait(std::chrono::milliseconds timeout) {
  using clock = std::chrono::steady_clock;
  auto deadline = clock::now() + timeout;
  for (;;) {
    auto now = clock::now();
    if (!s_) {
      if (failures_ == 0 || now >= next_connect_) {
        if (connect())
          return true; // back: whatever was sent meanwhile is lost
        continue;
      }
    } else if (s_->hits > 0) {
      s_->hits = 0; // delivered while LISTEN ran, or by the last read
      return true;
    }
    // Sleep until input, the deadline, an interrupt, or (disconnected) the
    // next reconnect attempt.
    auto until = s_ ? deadline : std::min(deadline, next_connect_);
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until
                                                                      - now)
                  .count();
    pollfd fds[2] = {{wake_pipe_[0], POLLIN, 0},
                     {s_ ? s_->conn.sock() : -1, POLLIN, 0}};
    auto rc = ::poll(fds, 2, static_cast<int>(std::max<int64_t>(left, 0)));
    if (rc < 0 && errno != EINTR)
      return false;
    if (rc > 0 && (fds[0].revents & POLLIN) != 0) {
      char buf[64];
      while (::read(wake_pipe_[0], buf, sizeof buf) > 0) {
      }
      return false;
    }
    if (rc > 0 && fds[1].revents != 0) {
      try {
        s_->hits += s_->conn.get_notifs(); // throws when lost
        if (!s_->conn.is_open())
          throw pqxx::broken_connection{"the server closed the connection"};
      } catch (const std::exception& e) {
        // Server restarted, backend terminated, network cut: the next loop
        // reconnects at once.
        last_error_ = "lost the connection to PostgreSQL at " + server_
                      + ": " + first_line_of(e.what());
        disconnect();
        continue;
      }
      if (s_->hits > 0)
        continue; // reported at the top of the loop
    }
    if (clock::now() >= deadline)
      return false;
  }
}

void pg_listener::interrupt() {
  char c = 'x';
  // A full pipe already holds a wake-up; nothing more to do.
  [[maybe_unused]] auto n = ::write(wake_pipe_[1], &c, 1);
}

bool pg_listener::connected() const {
  return s_ && s_->conn.is_open();
}

int pg_listener::backend_pid() const {
  return s_ ? s_->conn.backendpid() : 0;
}

const std::string& pg_listener::last_error() const {
  return last_error_;
}

} // namespace jobd
