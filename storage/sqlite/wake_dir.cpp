#include "storage/sqlite/wake_dir.hpp"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <random>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "storage/errors.hpp"
#include "storage/postgres/pg_conninfo.hpp"

namespace jobd {

namespace {

// The address of `name` in `dir`. sun_path holds 107 characters; a longer
// path goes through the directory's open descriptor (/proc/self/fd/N/name),
// which Linux resolves like the directory itself.
bool address_of(const std::string& dir, int dir_fd, const std::string& name,
                sockaddr_un& addr, socklen_t& len) {
  std::memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  auto path = dir + "/" + name;
  if (path.size() >= sizeof(addr.sun_path)) {
    if (dir_fd < 0)
      return false;
    path = "/proc/self/fd/" + std::to_string(dir_fd) + "/" + name;
    if (path.size() >= sizeof(addr.sun_path))
      return false;
  }
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size()
                               + 1);
  return true;
}

caf::error io_error(const std::string& what) {
  return make_error(errc::io, what + ": " + std::strerror(errno));
}

} // namespace

std::string wake_dir_of(const std::string& db_path) {
  if (db_path.empty() || db_path == ":memory:"
      || db_path.rfind("file:", 0) == 0 || is_pg_url(db_path))
    return {};
  return db_path + "-wake";
}

caf::expected<std::unique_ptr<wake_inbox>>
wake_inbox::open(const std::string& dir) {
  if (::mkdir(dir.c_str(), 0777) != 0 && errno != EEXIST)
    return io_error("cannot create wake-up directory " + dir);
  int dir_fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd < 0)
    return io_error("cannot open wake-up directory " + dir);
  std::unique_ptr<wake_inbox> in{new wake_inbox};
  in->dir_ = dir;
  std::random_device rd;
  char suffix[16];
  std::snprintf(suffix, sizeof(suffix), "%08x", rd());
  in->name_ = std::to_string(::getpid()) + "-" + suffix;
  in->sock_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  in->stop_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (in->sock_ < 0 || in->stop_fd_ < 0) {
    auto err = io_error("cannot create a wake-up socket");
    ::close(dir_fd);
    return err;
  }
  sockaddr_un addr;
  socklen_t len = 0;
  caf::error err;
  if (!address_of(dir, dir_fd, in->name_, addr, len))
    err = make_error(errc::io, "wake-up directory path too long: " + dir);
  else if (::bind(in->sock_, reinterpret_cast<sockaddr*>(&addr), len) != 0)
    err = io_error("cannot create a socket in wake-up directory " + dir);
  ::close(dir_fd);
  if (err)
    return err;
  return in;
}

wake_inbox::~wake_inbox() {
  stop();
  if (sock_ >= 0)
    ::close(sock_);
  if (stop_fd_ >= 0)
    ::close(stop_fd_);
}

int wake_inbox::wait(std::chrono::milliseconds timeout) {
  pollfd fds[2] = {{sock_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
  int n = ::poll(fds, 2, static_cast<int>(timeout.count()));
  if (n <= 0 || (fds[1].revents & POLLIN) != 0)
    return 0;
  // Read every queued wake-up: one claim (and one renewal) answers them
  // all.
  int kinds = 0;
  char buf[16];
  ssize_t got;
  while ((got = ::recv(sock_, buf, sizeof(buf), 0)) >= 0)
    kinds |= got >= 1 && buf[0] == wake_jobs_settled ? wake_jobs_settled
                                                      : wake_jobs_due;
  return kinds;
}

void wake_inbox::stop() {
  if (stopped())
    return;
  ::unlink((dir_ + "/" + name_).c_str());
  uint64_t one = 1;
  [[maybe_unused]] auto n = ::write(stop_fd_, &one, sizeof(one));
}

bool wake_inbox::stopped() const {
  pollfd fd{stop_fd_, POLLIN, 0};
  return ::poll(&fd, 1, 0) > 0;
}

wake_notifier::wake_notifier(std::string dir, std::string skip)
  : dir_(std::move(dir)), skip_(std::move(skip)) {
  sock_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
}

wake_notifier::~wake_notifier() {
  if (dir_fd_ >= 0)
    ::close(dir_fd_);
  if (sock_ >= 0)
    ::close(sock_);
}

void wake_notifier::rescan() {
  peers_.clear();
  // A fresh descriptor: the directory may have been removed and made again.
  int fd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return;
  auto* d = ::fdopendir(::dup(fd));
  if (d == nullptr) {
    ::close(fd);
    return;
  }
  struct stat st;
  if (::fstat(fd, &st) == 0)
    seen_mtime_ = st.st_mtim;
  while (auto* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == ".." || name == skip_)
      continue;
    if (e->d_type == DT_SOCK || e->d_type == DT_UNKNOWN)
      peers_.push_back(std::move(name));
  }
  ::closedir(d);
  if (dir_fd_ >= 0)
    ::close(dir_fd_);
  dir_fd_ = fd;
}

int wake_notifier::notify(int kind) {
  if (sock_ < 0 || dir_.empty())
    return 0;
  // Re-read the listing when the directory changed. Directory times tick
  // coarsely (a few ms), so a change in the same tick as the last scan
  // would go unseen: within a second of a change, always re-read.
  struct stat st;
  bool fresh = dir_fd_ < 0 || ::fstat(dir_fd_, &st) != 0
               || st.st_nlink == 0
               || st.st_mtim.tv_sec != seen_mtime_.tv_sec
               || st.st_mtim.tv_nsec != seen_mtime_.tv_nsec
               || std::time(nullptr) - seen_mtime_.tv_sec <= 1;
  if (fresh)
    rescan();
  int told = 0;
  bool gone = false;
  char byte = static_cast<char>(kind);
  for (auto& name : peers_) {
    sockaddr_un addr;
    socklen_t len = 0;
    if (!address_of(dir_, dir_fd_, name, addr, len))
      continue;
    if (::sendto(sock_, &byte, 1, MSG_DONTWAIT,
                 reinterpret_cast<sockaddr*>(&addr), len) == 1
        || errno == EAGAIN) {
      // EAGAIN: its queue is full, so it has wake-ups to read already.
      ++told;
    } else if (errno == ECONNREFUSED) {
      // Nobody reads it: its process died without removing it.
      ::unlinkat(dir_fd_, name.c_str(), 0);
      gone = true;
    }
  }
  if (gone)
    rescan();
  return told;
}

int notify_wake_dir(const std::string& dir, int kind) {
  if (dir.empty())
    return 0;
  return wake_notifier{dir}.notify(kind);
}

} // namespace jobd
