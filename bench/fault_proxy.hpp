// A TCP proxy that plays the network between a jobd worker and PostgreSQL
// on another machine: it adds latency, partitions (blackhole), resets
// connections, loses a reply after the server acted on the request, and
// refuses connections. The `network` benchmark puts it in front of the
// database for its latency; the tests of many machines (issue 16) for the
// faults. In-process, on 127.0.0.1, with its own I/O thread; every call
// takes effect before it returns.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

namespace jobd::bench {

class fault_proxy {
public:
  /// Listens on 127.0.0.1, a free port, and forwards each connection to
  /// target_host:target_port (a numeric address or a name). Throws
  /// std::runtime_error if it cannot listen or resolve the target.
  fault_proxy(const std::string& target_host, uint16_t target_port);
  /// Closes every connection and joins the I/O thread.
  ~fault_proxy();
  fault_proxy(const fault_proxy&) = delete;
  fault_proxy& operator=(const fault_proxy&) = delete;

  /// The port it listens on.
  uint16_t port() const;

  /// Adds `ms` of delay each way to everything forwarded from now on
  /// (order kept; several chunks may be in flight, so latency does not
  /// limit throughput). 0: none.
  void set_latency_ms(int ms);

  /// A partition: nothing is forwarded either way, on open or new
  /// connections (bytes are read and discarded); connections stay open.
  void blackhole();

  /// Normal forwarding again: ends blackhole, drop_replies_and_reset,
  /// drop_reply_to, swallow_reply_to (on connections not yet swallowing)
  /// and refuse. Latency stays.
  void heal();

  /// Resets every open connection now (RST to both sides). New ones work.
  void reset_all();

  /// From now on each reply the server sends is dropped and its connection
  /// reset on both sides: the request ran, the client never hears of it.
  void drop_replies_and_reset();

  /// Once: the first request (client bytes) that contains `needle` is
  /// forwarded; the server's reply to it is dropped and that connection
  /// reset on both sides. E.g. "COMMIT": the commit happens, its reply is
  /// lost (an in-doubt commit).
  void drop_reply_to(const std::string& needle);

  /// Once: as drop_reply_to, but the reply and everything after it on that
  /// connection vanish silently and the connection stays open: the server
  /// acted, the client waits for an answer that never comes (a network
  /// that swallows packets while TCP, ended at this proxy, sees nothing
  /// wrong).
  void swallow_reply_to(const std::string& needle);

  /// New connections are refused (the port stops listening); open ones
  /// are untouched. heal() listens on the same port again.
  void refuse();

  struct counters {
    int64_t accepted = 0;        ///< connections accepted so far
    int64_t open = 0;            ///< connections open now
    int64_t bytes_up = 0;        ///< forwarded client -> server
    int64_t bytes_down = 0;      ///< forwarded server -> client
    int64_t replies_dropped = 0; ///< replies dropped (and reset)
    /// Round trips: client bytes that follow server bytes on a connection
    /// (or open it). For a client that waits for each reply, such as
    /// libpq, the number of round trips it made.
    int64_t turns = 0;
  };
  counters stats() const;

private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

} // namespace jobd::bench
