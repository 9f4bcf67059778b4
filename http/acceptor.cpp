#include "http/acceptor.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/strand.hpp>

#include "http/session.hpp"
#include "storage/errors.hpp"

namespace jobd {

namespace net = boost::asio;
using tcp = net::ip::tcp;

http_acceptor::http_acceptor(net::io_context& ioc,
                             std::vector<net::io_context*> session_iocs,
                             std::shared_ptr<server_context> ctx)
  : session_iocs_(std::move(session_iocs)),
    acceptor_(net::make_strand(ioc)),
    backoff_(acceptor_.get_executor()),
    ctx_(std::move(ctx)) {
}

caf::expected<std::shared_ptr<http_acceptor>>
http_acceptor::open(net::io_context& ioc,
                    std::vector<net::io_context*> session_iocs,
                    const tcp::endpoint& ep,
                    std::shared_ptr<server_context> ctx) {
  auto l = std::make_shared<http_acceptor>(ioc, std::move(session_iocs),
                                           std::move(ctx));
  boost::beast::error_code ec;
  auto where = ep.address().to_string() + ":" + std::to_string(ep.port());
  auto fail = [&](const char* what) {
    return make_error(errc::io, "http.bind/http.port: cannot " + std::string{what}
                                  + " " + where + ": " + ec.message());
  };
  l->acceptor_.open(ep.protocol(), ec);
  if (ec)
    return fail("open a socket for");
  l->acceptor_.set_option(net::socket_base::reuse_address(true), ec);
  if (ec)
    return fail("set SO_REUSEADDR on");
  l->acceptor_.bind(ep, ec);
  if (ec)
    return fail("bind to");
  l->acceptor_.listen(net::socket_base::max_listen_connections, ec);
  if (ec)
    return fail("listen on");
  l->port_ = l->acceptor_.local_endpoint(ec).port();
  return l;
}

void http_acceptor::run() {
  net::post(acceptor_.get_executor(),
            [self = shared_from_this()] { self->accept_next(); });
}

void http_acceptor::stop() {
  net::post(acceptor_.get_executor(), [self = shared_from_this()] {
    boost::beast::error_code ec;
    self->backoff_.cancel();
    self->acceptor_.close(ec);
  });
}

void http_acceptor::accept_next() {
  if (!acceptor_.is_open())
    return;
  // Connections go to the io contexts in turn. Each context has one
  // thread, so a session's handlers never run at once, and a request
  // wakes no other thread of the server (one io_context shared by several
  // threads hands work between them: futex wake-ups on every request).
  auto& ioc = *session_iocs_[next_++ % session_iocs_.size()];
  acceptor_.async_accept(
    ioc.get_executor(),
    [self = shared_from_this()](boost::beast::error_code ec, tcp::socket s) {
      self->on_accept(ec, std::move(s));
    });
}

void http_acceptor::on_accept(boost::beast::error_code ec,
                              tcp::socket socket) {
  if (ec == net::error::operation_aborted || !acceptor_.is_open())
    return;
  if (ec) {
    // EMFILE and friends: accepting again at once would spin.
    backoff_.expires_after(std::chrono::milliseconds{50});
    backoff_.async_wait([self = shared_from_this()](boost::beast::error_code e) {
      if (!e)
        self->accept_next();
    });
    return;
  }
  socket.set_option(tcp::no_delay(true), ec);
  std::make_shared<session>(std::move(socket), ctx_)->start();
  accept_next();
}

} // namespace jobd
