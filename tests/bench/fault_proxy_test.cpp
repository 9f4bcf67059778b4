// The fault proxy (bench/fault_proxy.hpp) in front of an echo server: what
// the tests of many machines and the network benchmark rely on it doing.
#include <catch2/catch.hpp>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench/fault_proxy.hpp"

using namespace jobd::bench;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

// Echoes every byte back; counts what it received.
class echo_server {
public:
  echo_server() {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::listen(fd_, 16) == 0);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread{[this] {
      for (;;) {
        int c = ::accept(fd_, nullptr, nullptr);
        if (c < 0)
          return;
        conns_.emplace_back([this, c] {
          char buf[4096];
          ssize_t n;
          while ((n = ::read(c, buf, sizeof buf)) > 0) {
            received += n;
            if (::write(c, buf, static_cast<size_t>(n)) != n)
              break;
          }
          ::close(c);
        });
      }
    }};
  }
  ~echo_server() {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    thread_.join();
    for (auto& t : conns_)
      t.join();
  }
  uint16_t port() const { return port_; }
  std::atomic<int64_t> received{0};

private:
  int fd_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::vector<std::thread> conns_;
};

// A client socket connected to 127.0.0.1:port, or -1 with errno.
int dial(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = htons(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    int e = errno;
    ::close(fd);
    errno = e;
    return -1;
  }
  return fd;
}

struct conn {
  explicit conn(uint16_t port) : fd(dial(port)) { REQUIRE(fd >= 0); }
  ~conn() { ::close(fd); }
  void send(const std::string& s) {
    REQUIRE(::write(fd, s.data(), s.size()) == static_cast<ssize_t>(s.size()));
  }
  // Reads until `n` bytes came, the peer ended, or `limit` passed: what
  // came, and `ended` set if the connection ended (EOF or reset).
  std::string read(size_t n, std::chrono::milliseconds limit) {
    std::string out;
    auto deadline = steady::now() + limit;
    while (out.size() < n) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - steady::now())
                    .count();
      if (left <= 0)
        break;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left)) <= 0)
        break;
      char buf[4096];
      auto got = ::read(fd, buf, sizeof buf);
      if (got <= 0) {
        ended = true;
        break;
      }
      out.append(buf, static_cast<size_t>(got));
    }
    return out;
  }
  int fd;
  bool ended = false;
};

} // namespace

TEST_CASE("fault_proxy forwards both ways and counts bytes and round trips",
          "[bench][proxy]") {
  echo_server echo;
  fault_proxy proxy{"127.0.0.1", echo.port()};
  conn c{proxy.port()};
  for (int i = 0; i < 3; ++i) {
    c.send("hello");
    CHECK(c.read(5, 5s) == "hello");
  }
  auto s = proxy.stats();
  CHECK(s.accepted == 1);
  CHECK(s.open == 1);
  CHECK(s.bytes_up == 15);
  CHECK(s.bytes_down == 15);
  CHECK(s.turns == 3);
}

TEST_CASE("fault_proxy latency delays each way and keeps order",
          "[bench][proxy]") {
  echo_server echo;
  fault_proxy proxy{"127.0.0.1", echo.port()};
  proxy.set_latency_ms(30);
  conn c{proxy.port()};
  auto t0 = steady::now();
  c.send("ping");
  CHECK(c.read(4, 5s) == "ping");
  CHECK(steady::now() - t0 >= 60ms); // 30 ms each way
  // Many chunks in flight at once come back whole and in order.
  std::string all;
  for (int i = 0; i < 50; ++i) {
    auto piece = std::to_string(i) + ",";
    all += piece;
    c.send(piece);
  }
  CHECK(c.read(all.size(), 10s) == all);
  proxy.set_latency_ms(0);
  c.send("fast");
  CHECK(c.read(4, 5s) == "fast");
}

TEST_CASE("fault_proxy blackhole forwards nothing until healed",
          "[bench][proxy]") {
  echo_server echo;
  fault_proxy proxy{"127.0.0.1", echo.port()};
  conn c{proxy.port()};
  c.send("a");
  REQUIRE(c.read(1, 5s) == "a");
  proxy.blackhole();
  c.send("lost");
  CHECK(c.read(4, 300ms).empty());
  CHECK_FALSE(c.ended);
  CHECK(echo.received == 1);
  proxy.heal();
  conn d{proxy.port()};
  d.send("back");
  CHECK(d.read(4, 5s) == "back");
}

TEST_CASE("fault_proxy reset_all ends open connections; new ones work",
          "[bench][proxy]") {
  echo_server echo;
  fault_proxy proxy{"127.0.0.1", echo.port()};
  conn c{proxy.port()};
  c.send("a");
  REQUIRE(c.read(1, 5s) == "a");
  proxy.reset_all();
  c.read(1, 5s);
  CHECK(c.ended);
  CHECK(proxy.stats().open == 0);
  conn d{proxy.port()};
  d.send("b");
  CHECK(d.read(1, 5s) == "b");
}

TEST_CASE("fault_proxy drop_reply_to: the request arrives, its reply is "
          "lost with the connection",
          "[bench][proxy]") {
  echo_server echo;
  fault_proxy proxy{"127.0.0.1", echo.port()};
  conn c{proxy.port()};
  c.send("BEGIN");
  REQUIRE(c.read(5, 5s) == "BEGIN");
  proxy.drop_reply_to("COMMIT");
  c.send("x; COMMIT");
  CHECK(c.read(9, 5s).empty());
  CHECK(c.ended);
  CHECK(echo.received == 14); // the server got it
  CHECK(proxy.stats().replies_dropped == 1);
  // Once only.
  conn d{proxy.port()};
  d.send("COMMIT");
  CHECK(d.read(6, 5s) == "COMMIT");
}

TEST_CASE("fault_proxy swallow_reply_to: the request arrives, its reply "
          "never does, and the connection stays open",
          "[bench][proxy]") {
  echo_server echo;
  fault_proxy proxy{"127.0.0.1", echo.port()};
  conn c{proxy.port()};
  proxy.swallow_reply_to("COMMIT");
  c.send("x; COMMIT");
  CHECK(c.read(9, 500ms).empty());
  CHECK_FALSE(c.ended); // no reset, no close: the client just waits
  CHECK(echo.received == 9);
  // Everything after it on that connection vanishes too.
  c.send("y");
  CHECK(c.read(1, 300ms).empty());
  CHECK_FALSE(c.ended);
  CHECK(proxy.stats().replies_dropped == 1);
  // Once only: another connection is served.
  conn d{proxy.port()};
  d.send("COMMIT");
  CHECK(d.read(6, 5s) == "COMMIT");
}

TEST_CASE("fault_proxy drop_replies_and_reset loses every reply until healed",
          "[bench][proxy]") {
  echo_server echo;
  fault_proxy proxy{"127.0.0.1", echo.port()};
  proxy.drop_replies_and_reset();
  for (int i = 0; i < 2; ++i) {
    conn c{proxy.port()};
    c.send("q");
    CHECK(c.read(1, 5s).empty());
    CHECK(c.ended);
  }
  CHECK(proxy.stats().replies_dropped == 2);
  proxy.heal();
  conn d{proxy.port()};
  d.send("ok");
  CHECK(d.read(2, 5s) == "ok");
}

TEST_CASE("fault_proxy refuse: connections are refused until healed, on the "
          "same port",
          "[bench][proxy]") {
  echo_server echo;
  fault_proxy proxy{"127.0.0.1", echo.port()};
  auto port = proxy.port();
  conn open_one{port};
  open_one.send("a"); // accepted, not still in the listen queue
  REQUIRE(open_one.read(1, 5s) == "a");
  proxy.refuse();
  errno = 0;
  CHECK(dial(port) == -1);
  CHECK(errno == ECONNREFUSED);
  open_one.send("still");
  CHECK(open_one.read(5, 5s) == "still");
  proxy.heal();
  CHECK(proxy.port() == port);
  conn d{port};
  d.send("x");
  CHECK(d.read(1, 5s) == "x");
}
