// The worker protocol: workers outside jobd, in any language, run the jobs
// of the types served externally (`[types.NAME] handler = external`) over
// HTTP, with the guarantees jobd's own workers have:
//
//   POST /api/worker/fetch      {"worker", "types", "max"?, "waitMs"?,
//                                "leaseMs"?, "host"?} -> {"jobs":
//                               [job...]}: claims
//                               up to max due jobs of those types, each
//                               with its attempt (the fencing token) and
//                               leaseExpiresAt; with waitMs it waits (long
//                               poll) until one is due or the time is up,
//                               and answers as soon as a job arrives.
//   POST /api/worker/heartbeat  {"worker", "jobs": [{"id", "attempt"}],
//                               "leaseMs"?} -> {"renewed": [ids], "lost":
//                               [ids]}: renews the leases still held; a
//                               lost job (cancelled, settled by hand, or its
//                               lease ran out and it was handed to another
//                               worker) must be dropped: nothing its worker
//                               says about it counts any more.
//   POST /api/worker/complete   {"worker", "id", "attempt", "result"?}
//   POST /api/worker/fail       {"worker", "id", "attempt", "error",
//                               "retryable"? (default true), "retryAfterMs"?}
//                               -> the job as it is now; 409 when the worker
//                               no longer holds the attempt (changes
//                               nothing).
//
// Delivery promise (storage/store.hpp holds it; nothing here weakens it):
// at least once (a worker that vanishes loses its leases and its jobs run
// again), never twice at once (a claim is one statement; every later call
// is fenced by id + attempt + worker), durable on reply. The types asked
// for must be external types: a worker cannot take the jobs jobd runs.
//
// Every call counts as a sighting of its worker (GET /api/workers: id,
// host, types, last seen, jobs in hand), written at most every
// worker_seen_every_ms per worker (and at once for a worker new to this
// server, before its first fetch claims), in the store actor's next write
// batch. A waiting fetch counts too.
//
// Auth: with http.worker_token set, these routes take it (or the API
// token); the worker token opens no other route.
#pragma once

#include <memory>

#include "http/api.hpp"

namespace jobd {

/// The long-poll fetches waiting for work (internal to the server).
class worker_waiters;

/// Creates the waiters of a server and subscribes them to the store's
/// changes: a job enqueued through this process wakes a waiting fetch at
/// once, one enqueued by another process within the change feed's poll
/// (store_actor_config::feed_poll_ms, 100 ms); every waiting fetch also
/// tries again each second (retries coming due).
std::shared_ptr<worker_waiters> start_worker_waiters(server_context& ctx);

/// How many fetches wait now (for /metrics).
int64_t waiting_fetches(const server_context& ctx);

/// True for the routes under /api/worker/.
bool is_worker_route(route_id id);

/// Runs the handler of a worker route (see handle_request).
void handle_worker_request(const std::shared_ptr<server_context>& ctx,
                           route_id id, const api_request& req,
                           reply_fn reply);

} // namespace jobd
