#include "bench/fault_proxy.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <deque>
#include <future>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

namespace jobd::bench {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

constexpr size_t chunk_size = 16 * 1024;

} // namespace

// Everything below runs on the I/O thread, but the counters (read by
// stats() from any thread).
struct fault_proxy::impl : std::enable_shared_from_this<impl> {
  struct link;

  // One direction of a link: chunks wait in `queue` until due, then are
  // written in order, one at a time.
  struct pipe {
    pipe(asio::io_context& io) : timer(io) {}
    std::deque<std::pair<steady::time_point, std::vector<char>>> queue;
    asio::steady_timer timer;
    bool busy = false;
  };

  struct link : std::enable_shared_from_this<link> {
    link(impl& p, asio::io_context& io)
      : owner(p), client(io), server(io), up(io), down(io) {}
    impl& owner;
    tcp::socket client;
    tcp::socket server;
    pipe up;   // client -> server
    pipe down; // server -> client
    bool closed = false;
    bool server_spoke = true; // the next client bytes start a turn
    bool drop_next_reply = false;
    bool swallow_next_reply = false;
    bool swallowing = false; // the server's bytes vanish from now on

    void start() {
      auto self = shared_from_this();
      server.async_connect(owner.target, [self](boost::system::error_code ec) {
        if (ec) {
          self->close(false);
          return;
        }
        // As libpq and the server do: without it Nagle holds a chunk back
        // until the peer acknowledges the previous one (a delayed ACK, up
        // to 40 ms), which no real network between them adds.
        boost::system::error_code ignored;
        self->client.set_option(tcp::no_delay(true), ignored);
        self->server.set_option(tcp::no_delay(true), ignored);
        self->read(true);
        self->read(false);
      });
    }

    // Reads from the client (`from_client`) or the server.
    void read(bool from_client) {
      auto self = shared_from_this();
      auto buf = std::make_shared<std::vector<char>>(chunk_size);
      auto& sock = from_client ? client : server;
      sock.async_read_some(
        asio::buffer(*buf),
        [self, buf, from_client](boost::system::error_code ec, size_t n) {
          if (self->closed)
            return;
          if (ec) {
            self->close(false);
            return;
          }
          buf->resize(n);
          if (from_client ? self->from_client(std::move(*buf))
                          : self->from_server(std::move(*buf)))
            self->read(from_client);
        });
    }

    // False: the link was reset.
    bool from_client(std::vector<char> bytes) {
      if (owner.blackholed)
        return true;
      if (server_spoke) {
        server_spoke = false;
        ++owner.turns;
      }
      if (!owner.needle.empty()
          && std::search(bytes.begin(), bytes.end(), owner.needle.begin(),
                         owner.needle.end())
               != bytes.end()) {
        owner.needle.clear();
        (owner.swallow ? swallow_next_reply : drop_next_reply) = true;
      }
      owner.bytes_up += static_cast<int64_t>(bytes.size());
      send(up, server, std::move(bytes));
      return true;
    }

    bool from_server(std::vector<char> bytes) {
      if (owner.blackholed)
        return true;
      server_spoke = true;
      if (swallow_next_reply || swallowing) {
        if (!swallowing)
          ++owner.replies_dropped;
        swallowing = true;
        return true;
      }
      if (owner.drop_replies || drop_next_reply) {
        ++owner.replies_dropped;
        close(true);
        return false;
      }
      owner.bytes_down += static_cast<int64_t>(bytes.size());
      send(down, client, std::move(bytes));
      return true;
    }

    void send(pipe& p, tcp::socket& to, std::vector<char> bytes) {
      p.queue.emplace_back(steady::now() + owner.latency, std::move(bytes));
      if (!p.busy)
        pump(p, to);
    }

    void pump(pipe& p, tcp::socket& to) {
      if (closed || p.queue.empty()) {
        p.busy = false;
        return;
      }
      p.busy = true;
      auto self = shared_from_this();
      auto due = p.queue.front().first;
      if (due > steady::now()) {
        p.timer.expires_at(due);
        p.timer.async_wait([self, &p, &to](boost::system::error_code) {
          self->pump(p, to);
        });
        return;
      }
      asio::async_write(to, asio::buffer(p.queue.front().second),
                        [self, &p, &to](boost::system::error_code ec, size_t) {
                          if (ec) {
                            self->close(false);
                            return;
                          }
                          p.queue.pop_front();
                          self->pump(p, to);
                        });
    }

    // `reset`: RST to both sides (SO_LINGER 0) instead of a clean close.
    void close(bool reset) {
      if (closed)
        return;
      closed = true;
      boost::system::error_code ec;
      for (auto* s : {&client, &server}) {
        if (reset && s->is_open())
          s->set_option(asio::socket_base::linger(true, 0), ec);
        s->close(ec);
      }
      up.timer.cancel(ec);
      down.timer.cancel(ec);
      owner.links.erase(shared_from_this());
      --owner.open;
    }
  };

  asio::io_context io;
  // Keeps run() going while nothing is pending (refusing, no connection).
  asio::executor_work_guard<asio::io_context::executor_type> work{
    io.get_executor()};
  tcp::acceptor acceptor{io};
  tcp::endpoint target;
  uint16_t port = 0;
  std::set<std::shared_ptr<link>> links;
  // Modes (I/O thread only).
  steady::duration latency{0};
  bool blackholed = false;
  bool drop_replies = false;
  std::string needle;
  bool swallow = false; // the needle's reply is swallowed, not reset
  bool refusing = false;
  // Counters.
  std::atomic<int64_t> accepted{0}, open{0}, bytes_up{0}, bytes_down{0},
    replies_dropped{0}, turns{0};
  std::thread thread;

  void listen() {
    tcp::endpoint ep{asio::ip::make_address("127.0.0.1"), port};
    acceptor.open(ep.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(ep);
    acceptor.listen();
    port = acceptor.local_endpoint().port();
    accept();
  }

  void accept() {
    auto l = std::make_shared<link>(*this, io);
    auto self = shared_from_this();
    acceptor.async_accept(l->client, [self, l](boost::system::error_code ec) {
      if (ec)
        return; // closed (refuse, shutdown)
      ++self->accepted;
      ++self->open;
      self->links.insert(l);
      l->start();
      self->accept();
    });
  }

  void reset_links() {
    auto all = links; // close() erases
    for (auto& l : all)
      l->close(true);
  }

  // Runs fn on the I/O thread and waits for it.
  template <class F>
  void apply(F fn) {
    std::promise<void> done;
    asio::post(io, [&] {
      fn();
      done.set_value();
    });
    done.get_future().wait();
  }
};

fault_proxy::fault_proxy(const std::string& target_host, uint16_t target_port)
  : impl_(std::make_shared<impl>()) {
  try {
    tcp::resolver res{impl_->io};
    auto eps = res.resolve(target_host, std::to_string(target_port));
    if (eps.empty())
      throw std::runtime_error("no address");
    impl_->target = *eps.begin();
    impl_->listen();
  } catch (const std::exception& e) {
    throw std::runtime_error("fault_proxy: cannot proxy to " + target_host
                             + ":" + std::to_string(target_port) + ": "
                             + e.what());
  }
  impl_->thread = std::thread{[p = impl_] { p->io.run(); }};
}

fault_proxy::~fault_proxy() {
  impl_->apply([p = impl_.get()] {
    boost::system::error_code ec;
    p->acceptor.close(ec);
    p->reset_links();
    p->work.reset();
  });
  // Every socket and timer is closed: run() returns once their handlers
  // have seen it.
  impl_->thread.join();
}

uint16_t fault_proxy::port() const {
  return impl_->port;
}

void fault_proxy::set_latency_ms(int ms) {
  impl_->apply([p = impl_.get(), ms] {
    p->latency = std::chrono::milliseconds(ms);
  });
}

void fault_proxy::blackhole() {
  impl_->apply([p = impl_.get()] { p->blackholed = true; });
}

void fault_proxy::heal() {
  impl_->apply([p = impl_.get()] {
    p->blackholed = false;
    p->drop_replies = false;
    p->needle.clear();
    for (auto& l : p->links) {
      l->drop_next_reply = false;
      l->swallow_next_reply = false;
    }
    if (p->refusing) {
      p->refusing = false;
      p->listen();
    }
  });
}

void fault_proxy::reset_all() {
  impl_->apply([p = impl_.get()] { p->reset_links(); });
}

void fault_proxy::drop_replies_and_reset() {
  impl_->apply([p = impl_.get()] { p->drop_replies = true; });
}

void fault_proxy::drop_reply_to(const std::string& needle) {
  impl_->apply([p = impl_.get(), needle] {
    p->needle = needle;
    p->swallow = false;
  });
}

void fault_proxy::swallow_reply_to(const std::string& needle) {
  impl_->apply([p = impl_.get(), needle] {
    p->needle = needle;
    p->swallow = true;
  });
}

void fault_proxy::refuse() {
  impl_->apply([p = impl_.get()] {
    if (p->refusing)
      return;
    p->refusing = true;
    boost::system::error_code ec;
    p->acceptor.close(ec);
  });
}

fault_proxy::counters fault_proxy::stats() const {
  counters c;
  c.accepted = impl_->accepted;
  c.open = impl_->open;
  c.bytes_up = impl_->bytes_up;
  c.bytes_down = impl_->bytes_down;
  c.replies_dropped = impl_->replies_dropped;
  c.turns = impl_->turns;
  return c;
}

} // namespace jobd::bench
