// The HTTP actor's public face: `jobd serve` starts one of these beside the
// worker runtime. (Implemented in http/*.cpp; see README "HTTP API".)
//
// Contract for the implementation (issue "HTTP API"):
// - start() binds cfg.bind:cfg.port (port 0 = ephemeral; port() tells which)
//   and serves on its own io threads until stop() or destruction.
// - Every REST request becomes a message to the store actor; the HTTP code
//   never touches the database itself.
// - Errors: start() fails with a message naming the setting (address in
//   use, bad bind address).
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/expected.hpp>

#include "actors/settings.hpp"
#include "actors/store_actor.hpp"
#include "handlers/handler.hpp"

namespace jobd {

struct http_config; // defined by the HTTP module (http/config.hpp)

} // namespace jobd
