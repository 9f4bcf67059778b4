// A connection's life ends with its io_context: whatever state it is in when
// the server stops, nothing it holds (the server context, and through it
// the store actor) outlives it. A leaked reference to the store actor makes
// CAF wait forever for its detached thread when the actor system ends.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/write.hpp>

#include "http/context.hpp"
#include "http/session.hpp"
#include "support/http_fixture.hpp"

using namespace jobd;
using namespace std::chrono_literals;
namespace net = boost::asio;
using tcp = net::ip::tcp;

TEST_CASE("a connection lingering before close is freed when its io_context "
          "ends unrun",
          "[http][session]") {
  auto ctx = std::make_shared<server_context>();
  ctx->cfg = test::test_http_config();
  std::weak_ptr<server_context> weak_ctx = ctx;
  {
    net::io_context ioc;
    tcp::acceptor acceptor{ioc, {net::ip::make_address("127.0.0.1"), 0}};
    tcp::socket client{ioc};
    client.connect(acceptor.local_endpoint());
    auto server_side = acceptor.accept();
    std::make_shared<session>(std::move(server_side), ctx)->start();
    ctx.reset(); // the session holds the only reference now

    // A request for a page that does not exist, asking to close: the
    // server answers 404, half-closes, and lingers reading what the client
    // still sends (the client sends nothing and keeps its end open).
    std::string request =
      "GET /no-such-page HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    net::write(client, net::buffer(request));
    std::string reply;
    bool replied = false;
    client.non_blocking(true);
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!replied && std::chrono::steady_clock::now() < deadline) {
      ioc.run_for(10ms);
      char buf[4096];
      boost::system::error_code ec;
      auto n = client.read_some(net::buffer(buf), ec);
      reply.append(buf, n);
      // The server's half-close (EOF) ends the reply.
      replied = ec == net::error::eof;
    }
    REQUIRE(replied);
    CHECK_THAT(reply, Catch::StartsWith("HTTP/1.1 404"));
    REQUIRE_FALSE(weak_ctx.expired()); // still lingering
    // The server stops: its io_context ends with the linger read pending.
    ioc.stop();
  }
  CHECK(weak_ctx.expired());
}
