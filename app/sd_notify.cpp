#include "app/sd_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>

namespace jobd {

bool sd_notify(const std::string& state) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || path[0] == '\0')
    return false;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  auto len = std::strlen(path);
  if (len >= sizeof(addr.sun_path))
    return false;
  std::memcpy(addr.sun_path, path, len);
  // "@name": an abstract socket, whose name starts with a NUL byte.
  if (addr.sun_path[0] == '@')
    addr.sun_path[0] = '\0';
  int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return false;
  auto addr_len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len);
  auto sent = ::sendto(fd, state.data(), state.size(), MSG_NOSIGNAL,
                       reinterpret_cast<sockaddr*>(&addr), addr_len);
  ::close(fd);
  return sent == static_cast<ssize_t>(state.size());
}

int64_t sd_watchdog_ping_ms() {
  const char* usec = std::getenv("WATCHDOG_USEC");
  if (usec == nullptr)
    return 0;
  if (const char* pid = std::getenv("WATCHDOG_PID"))
    if (std::atoll(pid) != static_cast<long long>(::getpid()))
      return 0;
  auto us = std::atoll(usec);
  return us > 0 ? std::max<int64_t>(us / 2000, 1) : 0;
}

} // namespace jobd
