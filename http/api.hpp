// The request handlers behind the route table: each takes a parsed request
// and eventually calls `reply` exactly once (on whatever thread the answer
// is ready: an io thread for input errors and static files, a CAF thread
// after a store round trip). The session posts the response to its strand.
//
// Status codes (openapi.yaml is the contract; tests/http/contract_test.cpp
// checks the server against it):
//   200 OK, 201 created, 204 deleted, 304 static file unchanged;
//   400 bad JSON or a bad field (error.field names it; "" for the body as
//   a whole), 401 missing or wrong token, 404 no such route or job, 405
//   wrong method (Allow lists the right ones), 409 the job's state forbids
//   the change, 413 body over the limit, 415 body not application/json,
//   500 database error, 503 store busy, unavailable, shutting down, full
//   (code storage_full) or not answering in time (Retry-After); /healthz
//   503 when storage is unhealthy. The session adds 400 bad_request
//   (malformed HTTP), 431 and 503 too_many_connections.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <caf/error.hpp>

#include "http/context.hpp"
#include "http/job_input.hpp"
#include "http/router.hpp"

namespace jobd {

using http_response =
  boost::beast::http::response<boost::beast::http::string_body>;
using reply_fn = std::function<void(http_response)>;

/// A request as the handlers see it.
struct api_request {
  boost::beast::http::verb method;
  std::string path;         ///< without the query string
  std::string query;        ///< after '?', still percent-encoded
  std::string param;        ///< the route's {x} segment
  std::string body;
  std::string if_none_match; ///< for static files
  /// The client's address, set for POST /api/worker/fetch only.
  std::string peer;
  /// `Prefer: return=minimal` (RFC 7240): an enqueue replies ids only.
  bool prefer_minimal = false;
};

/// Runs the handler of `r`. REQUIRES: auth, content type and body size
/// were checked by the session; r.id is not route_id::events.
void handle_request(const std::shared_ptr<server_context>& ctx, const route& r,
                    api_request req, reply_fn reply);

/// The JSON limits of this server's bodies (http.max_depth, ...).
job_input_limits limits_of(const server_context& ctx);

/// A JSON response with the given status.
http_response json_response(unsigned status, std::string body);

/// {"error":{"code":...,"message":...,"field":...}}. `field` is the
/// offending field's path ("jobs[2].priority"), "" for the request body as
/// a whole, or std::nullopt (omitted) when the error is not about the body.
http_response error_response(unsigned status, const std::string& code,
                             const std::string& message,
                             const std::optional<std::string>& field
                             = std::nullopt);

/// Retry-After (seconds) of a 503 for a full disk or unhealthy storage.
constexpr int storage_full_retry_after_s = 30;

/// Maps a store error to a response: not_found 404, conflict 409,
/// invalid 400 (field from the message's "field: ..." prefix), busy,
/// unavailable, shutting_down and request timeouts 503, full 503 with code
/// storage_full and Retry-After 30, others 500.
http_response store_error_response(const caf::error& err);

/// /healthz: 200 {"status":"ok","storage":{"freeBytes":N|null}} when
/// `reason` is empty, else 503 {"status":"unhealthy","reason":...,
/// "storage":{...}} with Retry-After.
http_response health_response(const std::string& reason, int64_t free_bytes);

/// True if a Prefer header value asks for `return=minimal` (preferences
/// are comma-separated, case-insensitive; a quoted value counts too).
bool prefers_minimal(std::string_view prefer);

/// Constant-time comparison of a presented token with the configured one.
bool token_matches(const std::string& presented, const std::string& expected);

} // namespace jobd
