// One HTTP connection. Everything it does runs on its own strand.
//
// Duties, per request (keep-alive repeats them):
// 1. Wait for the first bytes (http.idle_timeout), then read the header
//    (http.header_timeout: a client that trickles a header is dropped;
//    over 16 KiB: 431). A header RFC 9112 says to refuse gets 400 and the
//    connection closes: malformed, obsolete line folding, no Host in
//    HTTP/1.1 or more than one Host.
// 2. Match the route; refuse at once, without reading the body, what the
//    header already rules out: 404, 405, 401, 413 (Content-Length over the
//    route's limit), 415. Such a refusal closes the connection, since the
//    unread body would otherwise be taken for the next request.
// 3. Read the body (http.read_timeout; the parser stops at the route's
//    limit: 413 for chunked bodies too). A body that cannot be parsed (a
//    bad chunk size) gets 400, then the connection closes.
// 4. Hand the request to handle_request; its reply, from whichever thread,
//    is posted back to this strand and written (http.write_timeout). HEAD
//    runs the GET route and writes only the response header.
// 5. GET /api/events turns the connection into an event stream: frames
//    from the event hub are queued and written in order, a heartbeat
//    comment goes out every http.sse_heartbeat, and a reader too slow to
//    keep up (queue over max_queued_events) is dropped; it reconnects.
#pragma once

#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/string_body.hpp>

#include "http/api.hpp"
#include "http/context.hpp"

namespace jobd {

class session : public std::enable_shared_from_this<session>,
                public closable,
                public event_sink {
public:
  /// Frames an event stream may have waiting before it is dropped.
  static constexpr size_t max_queued_events = 4096;

  session(boost::asio::ip::tcp::socket&& socket,
          std::shared_ptr<server_context> ctx);
  ~session() override;

  /// Starts serving, or answers 503 and closes when the server is at
  /// http.max_connections (or stopping).
  void start();

  void close_soon() override;
  void push(std::shared_ptr<const std::string> frame, int64_t seq) override;

private:
  enum class phase { reading, handling, writing, streaming, closing, closed };

  void wait_for_request();
  void read_header();
  /// Reads until the header is whole (or over the limit), then parses it.
  void scan_header();
  /// Refuses obsolete line folding, then hands `header` to the parser.
  void parse_header(std::string_view header);
  void on_header(boost::beast::error_code ec);
  void read_body();
  void on_body(boost::beast::error_code ec);
  void dispatch();
  /// Writes a response; `close` ends the connection after it.
  void send(http_response res, bool close);
  void on_written(bool close, boost::beast::error_code ec);
  /// Shuts down sending, reads what the client still sends for a short
  /// while (so it gets our response instead of a reset), then closes.
  void linger_close();
  void linger_read();
  void close_now();
  void note_timeout(const boost::beast::error_code& ec);

  // -- event streams ---------------------------------------------------------
  /// Starts an event stream; `last_event_id` is the request's
  /// Last-Event-ID (a feed position to resume after; anything else is
  /// ignored and the stream starts from now).
  void start_events(boost::beast::string_view last_event_id);
  void enqueue_frame(std::shared_ptr<const std::string> frame);
  void write_next_frame();
  void arm_heartbeat();
  void watch_peer();

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::shared_ptr<server_context> ctx_;
  std::optional<boost::beast::http::request_parser<
    boost::beast::http::string_body>>
    parser_;
  bool admitted_ = false;
  /// Counted in metrics.requests_in_flight (from dispatch to its answer).
  bool in_flight_ = false;
  /// Ends this session's in-flight count, if any.
  void end_in_flight();
  phase phase_ = phase::reading;
  bool close_after_reply_ = false; ///< server stopping during a request
  size_t lingered_ = 0; ///< bytes dropped while lingering before close

  // The request being served.
  const route* route_ = nullptr;
  std::string route_label_ = "unmatched";
  std::string method_;
  unsigned version_ = 11;
  bool keep_alive_ = false;
  std::string param_;
  uint64_t body_limit_ = 0;
  std::chrono::steady_clock::time_point started_;
  std::shared_ptr<http_response> response_; ///< alive while being written
  /// Writes only the header of response_, for HEAD.
  std::optional<boost::beast::http::response_serializer<
    boost::beast::http::string_body>>
    serializer_;
  bool head_request_ = false;
  /// Access-Control-Allow-Origin for this request's response ("" = none):
  /// its Origin is in http.cors_origins (server_context::cors_allow).
  std::string cors_origin_;
  /// The request's path without its query (which may hold ?token=), at
  /// most 256 bytes, for the access log.
  std::string path_;
  size_t header_scanned_ = 0; ///< header bytes already searched for the end

  // Event stream state.
  std::deque<std::shared_ptr<const std::string>> frames_;
  bool writing_frame_ = false;
  bool is_event_stream_ = false;
  /// Live frames of changes up to this feed position are dropped: the
  /// stream's replay gave them (set on the store's thread, before the
  /// first live frame is pushed).
  std::atomic<int64_t> skip_through_{-1};
  boost::asio::steady_timer heartbeat_;

  // The request being handled: its number, and the timer that answers 503
  // if the store does not answer within http.request_timeout.
  uint64_t request_seq_ = 0;
  boost::asio::steady_timer request_timer_;
  /// True while request `seq` still waits for its answer.
  bool answering(uint64_t seq) const;
};

} // namespace jobd
