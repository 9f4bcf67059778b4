// What every connection of one server shares: the settings, the store actor,
// the handler registry, metrics, the event hub, and the list of open
// connections that stop() closes. Internal to the http module.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/expected.hpp>

#include "actors/store_actor.hpp"
#include "handlers/handler.hpp"
#include "http/events.hpp"
#include "http/metrics.hpp"
#include "http/server.hpp"

namespace jobd {

/// A connection the server can close when it stops.
class closable {
public:
  virtual ~closable() = default;
  /// Closes the connection soon (posts to its strand). Any thread.
  virtual void close_soon() = 0;
};

class worker_waiters;
class worker_roster;

struct server_context {
  http_config cfg;
  std::string token; ///< effective API token ("" = no auth)
  /// Effective worker token ("" = the worker routes take the API token as
  /// every route does); opens /api/worker/* only.
  std::string worker_token;
  /// This context (set at start), for callbacks that outlive a request.
  std::weak_ptr<server_context> self;
  /// The long-poll fetches of the worker protocol (http/worker_api.hpp).
  std::shared_ptr<worker_waiters> waiters;
  /// The external workers this server has heard from (when each was last
  /// written as seen; http/worker_api.cpp).
  std::shared_ptr<worker_roster> roster;
  /// http.cors_origins parsed: the origins allowed, or any.
  std::vector<std::string> cors_origins;
  bool cors_any = false;
  /// The Access-Control-Allow-Origin value for a request from `origin`:
  /// "*", the configured origin it equals (never the request's own bytes),
  /// or "" (not allowed, or no Origin).
  std::string cors_allow(std::string_view origin) const {
    if (origin.empty())
      return {};
    if (cors_any)
      return "*";
    for (auto& o : cors_origins)
      if (o == origin)
        return o;
    return {};
  }
  caf::actor_system* sys = nullptr;
  store_actor store;
  /// Where the API's reads go when not empty (see http_server::start).
  read_pool readers;
  std::shared_ptr<const handler_registry> handlers;
  http_metrics metrics;
  std::shared_ptr<event_hub> hub = std::make_shared<event_hub>();
  /// This process's workers' lease counts (null: no workers here).
  std::shared_ptr<const worker_counters> counters;

  // -- open connections ------------------------------------------------------
  std::mutex mtx;
  std::condition_variable all_closed;
  std::unordered_map<const void*, std::weak_ptr<closable>> connections;
  std::atomic<bool> stopping{false};

  /// Counts a new connection; false (and not counted) when
  /// max_connections are open or the server is stopping.
  bool admit(const void* key, std::weak_ptr<closable> c) {
    std::lock_guard<std::mutex> guard{mtx};
    if (stopping
        || connections.size() >= static_cast<size_t>(cfg.max_connections))
      return false;
    connections.emplace(key, std::move(c));
    metrics.connections_open = static_cast<int64_t>(connections.size());
    ++metrics.connections_total;
    return true;
  }

  /// Forgets a connection (its destructor calls this).
  void release(const void* key) {
    std::lock_guard<std::mutex> guard{mtx};
    connections.erase(key);
    metrics.connections_open = static_cast<int64_t>(connections.size());
    if (connections.empty())
      all_closed.notify_all();
  }

  /// The gateway actors of run_on_gateway; set at start, ended by stop().
  std::vector<caf::actor> gateways;
  std::atomic<size_t> next_gateway{0};

  caf::timespan request_timeout() const {
    return std::chrono::milliseconds{cfg.request_timeout_ms};
  }
};

/// Spawns `count` gateway actors for server_context::gateways.
std::vector<caf::actor> spawn_gateways(caf::actor_system& sys, int count);

/// Runs `task` on one of the server's gateway actors (round robin). The
/// gateways are a few long-lived actors that turn requests into messages
/// to the store actor and back, so a request costs no actor spawn. Any
/// thread.
void run_on_gateway(server_context& ctx,
                    std::function<void(caf::event_based_actor*)> task);

/// Runs `task` on a gateway after `delay` (timers of the worker
/// protocol's long poll). Any thread.
void run_on_gateway_later(server_context& ctx, std::chrono::milliseconds delay,
                          std::function<void(caf::event_based_actor*)> task);

/// Sends one request to `dest` (an actor handle) without blocking the
/// caller: a gateway sends it and calls `done` (on a CAF thread) with the
/// reply or the error (the request times out after http.request_timeout).
template <class Result, class Dest, class... Ts>
void ask_actor(server_context& ctx, Dest dest,
               std::function<void(caf::expected<Result>)> done, Ts... xs) {
  run_on_gateway(ctx, [dest = std::move(dest), timeout = ctx.request_timeout(),
                       done = std::move(done),
                       xs...](caf::event_based_actor* self) mutable {
    self->request(dest, timeout, std::move(xs)...)
      .then([done](Result& r) { done(std::move(r)); },
            [done](caf::error& e) { done(std::move(e)); });
  });
}

/// ask_actor to the store actor (writes, and reads with no read pool).
template <class Result, class... Ts>
void ask_store(server_context& ctx,
               std::function<void(caf::expected<Result>)> done, Ts... xs) {
  ask_actor<Result>(ctx, ctx.store, std::move(done), std::move(xs)...);
}

/// A read (get, list, stats): to the next reader of the read pool, or to
/// the store actor when the server has none.
template <class Result, class... Ts>
void ask_reader(server_context& ctx,
                std::function<void(caf::expected<Result>)> done, Ts... xs) {
  if (ctx.readers.empty())
    return ask_store<Result>(ctx, std::move(done), std::move(xs)...);
  ask_actor<Result>(ctx, ctx.readers.next(), std::move(done),
                    std::move(xs)...);
}

} // namespace jobd
