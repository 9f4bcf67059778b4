// Accepts connections and starts a session for each, on the io contexts in
// turn (one thread each, so a session's handlers never run at once).
// Accept errors (e.g. out of file descriptors) pause accepting briefly
// instead of spinning.
#pragma once

#include <memory>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/error.hpp>
#include <caf/expected.hpp>

#include "http/context.hpp"

namespace jobd {

class http_acceptor : public std::enable_shared_from_this<http_acceptor> {
public:
  /// Opens, binds and listens. Errors: errc::io naming the address.
  static caf::expected<std::shared_ptr<http_acceptor>>
  open(boost::asio::io_context& ioc,
       std::vector<boost::asio::io_context*> session_iocs,
       const boost::asio::ip::tcp::endpoint& ep,
       std::shared_ptr<server_context> ctx);

  /// Starts accepting.
  void run();

  /// Stops accepting (posts; any thread).
  void stop();

  /// The port bound.
  uint16_t port() const { return port_; }

  http_acceptor(boost::asio::io_context& ioc,
                std::vector<boost::asio::io_context*> session_iocs,
                std::shared_ptr<server_context> ctx);

private:
  void accept_next();
  void on_accept(boost::beast::error_code ec,
                 boost::asio::ip::tcp::socket socket);

  /// Where sessions run, in turn; each is run by one thread.
  std::vector<boost::asio::io_context*> session_iocs_;
  size_t next_ = 0;
  boost::asio::ip::tcp::acceptor acceptor_;
  boost::asio::steady_timer backoff_;
  std::shared_ptr<server_context> ctx_;
  uint16_t port_ = 0;
};

} // namespace jobd
