// CAF type IDs and atoms of the actors module. (Atoms in CAF 0.17 are at
// most 10 characters.)
#pragma once

#include <caf/type_id.hpp>

#include "handlers/handler.hpp"
#include "storage/type_ids.hpp"

namespace jobd {

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, outcome& x) {
  return f(caf::meta::type_name("jobd::outcome"), x.ok, x.result, x.error,
           x.permanent, x.retry_after_ms);
}

// Settings the actors take live (SIGHUP), defined beside their actors;
// their inspect() functions are there too.
struct scheduler_config;
struct retry_config;
struct retention_config;
struct pool_reconfig;

} // namespace jobd

CAF_BEGIN_TYPE_ID_BLOCK(jobd_actors, caf::id_block::jobd_storage::end)

  CAF_ADD_TYPE_ID(jobd_actors, (jobd::outcome))
  CAF_ADD_TYPE_ID(jobd_actors, (jobd::scheduler_config))
  CAF_ADD_TYPE_ID(jobd_actors, (jobd::retry_config))
  CAF_ADD_TYPE_ID(jobd_actors, (jobd::retention_config))
  CAF_ADD_TYPE_ID(jobd_actors, (jobd::pool_reconfig))

  CAF_ADD_ATOM(jobd_actors, jobd, enqueue_atom, "enqueue")
  CAF_ADD_ATOM(jobd_actors, jobd, claim_atom, "claim")
  CAF_ADD_ATOM(jobd_actors, jobd, complete_atom, "complete")
  CAF_ADD_ATOM(jobd_actors, jobd, fail_atom, "fail")
  CAF_ADD_ATOM(jobd_actors, jobd, heartbeat_atom, "heartbeat")
  CAF_ADD_ATOM(jobd_actors, jobd, release_atom, "release")
  CAF_ADD_ATOM(jobd_actors, jobd, rescue_atom, "rescue")
  CAF_ADD_ATOM(jobd_actors, jobd, list_atom, "list")
  CAF_ADD_ATOM(jobd_actors, jobd, retry_atom, "retry")
  CAF_ADD_ATOM(jobd_actors, jobd, stats_atom, "stats")
  CAF_ADD_ATOM(jobd_actors, jobd, prune_atom, "prune")
  CAF_ADD_ATOM(jobd_actors, jobd, flush_atom, "flush")
  CAF_ADD_ATOM(jobd_actors, jobd, wake_atom, "wake")
  CAF_ADD_ATOM(jobd_actors, jobd, poll_atom, "poll")
  CAF_ADD_ATOM(jobd_actors, jobd, run_atom, "run")
  CAF_ADD_ATOM(jobd_actors, jobd, done_atom, "done")
  CAF_ADD_ATOM(jobd_actors, jobd, slots_atom, "slots")
  CAF_ADD_ATOM(jobd_actors, jobd, shutdown_atom, "shutdown")
  CAF_ADD_ATOM(jobd_actors, jobd, failed_atom, "failed")
  CAF_ADD_ATOM(jobd_actors, jobd, changed_atom, "changed")
  CAF_ADD_ATOM(jobd_actors, jobd, status_atom, "status")
  CAF_ADD_ATOM(jobd_actors, jobd, health_atom, "health")
  CAF_ADD_ATOM(jobd_actors, jobd, checkpoint_atom, "checkpoint")
  CAF_ADD_ATOM(jobd_actors, jobd, reconfig_atom, "reconfig")

CAF_END_TYPE_ID_BLOCK(jobd_actors)
