// CAF type IDs and atoms of the actors module, and the narrow typed handles
// that travel in its messages. (Atoms in CAF 0.17 are at most 10
// characters.) One block per module: storage, then handlers, then actors.
#pragma once

#include <cstdint>
#include <vector>

#include <caf/type_id.hpp>
#include <caf/typed_actor.hpp>

#include "handlers/type_ids.hpp"
#include "storage/job.hpp"

namespace jobd {

// Settings the actors take live (SIGHUP), defined beside their actors;
// their inspect() functions are there too.
struct scheduler_config;
struct retry_config;
struct retention_config;
struct pool_reconfig;
struct schedule_actor_config;

} // namespace jobd

CAF_BEGIN_TYPE_ID_BLOCK(jobd_actors, caf::id_block::jobd_handlers::end)

  CAF_ADD_TYPE_ID(jobd_actors, (jobd::scheduler_config))
  CAF_ADD_TYPE_ID(jobd_actors, (jobd::retry_config))
  CAF_ADD_TYPE_ID(jobd_actors, (jobd::retention_config))
  CAF_ADD_TYPE_ID(jobd_actors, (jobd::pool_reconfig))
  CAF_ADD_TYPE_ID(jobd_actors, (jobd::schedule_actor_config))
  CAF_ADD_TYPE_ID(jobd_actors, (jobd::completion))
  CAF_ADD_TYPE_ID(jobd_actors, (std::vector<jobd::completion>))

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
  CAF_ADD_ATOM(jobd_actors, jobd, feed_atom, "feed")
  CAF_ADD_ATOM(jobd_actors, jobd, fence_atom, "fence")
  CAF_ADD_ATOM(jobd_actors, jobd, cancel_atom, "cancel")
  CAF_ADD_ATOM(jobd_actors, jobd, progress_atom, "progress")
  CAF_ADD_ATOM(jobd_actors, jobd, pause_atom, "pause")
  CAF_ADD_ATOM(jobd_actors, jobd, resume_atom, "resume")
  CAF_ADD_ATOM(jobd_actors, jobd, bulk_atom, "bulk")
  CAF_ADD_ATOM(jobd_actors, jobd, schedules_atom, "schedules")
  CAF_ADD_ATOM(jobd_actors, jobd, attempts_atom, "attempts")
  CAF_ADD_ATOM(jobd_actors, jobd, workers_atom, "workers")

// Handles that travel in messages: each names only the message its
// receiver is sent, so any actor that takes it can be passed (a typed
// handle converts to one with fewer messages).
namespace jobd {

/// Told (wake_atom) whenever work may have become due: the scheduler.
using wake_listener = caf::typed_actor<caf::reacts_to<wake_atom>>;

/// Told (changed_atom, job) after each change to a job: live updates.
using change_listener = caf::typed_actor<caf::reacts_to<changed_atom, job>>;

/// Told (cancel_atom, ref) after this process cancelled or settled a job
/// by hand (its attempt `ref` may be running here): the handler pool,
/// which stops it at once instead of at its next heartbeat.
using settle_listener
  = caf::typed_actor<caf::reacts_to<cancel_atom, lease_ref>>;

/// Takes claimed jobs to run (run_atom, jobs): the handler pool.
using job_runner
  = caf::typed_actor<caf::reacts_to<run_atom, std::vector<job>>>;

} // namespace jobd

  CAF_ADD_TYPE_ID(jobd_actors, (jobd::wake_listener))
  CAF_ADD_TYPE_ID(jobd_actors, (jobd::change_listener))
  CAF_ADD_TYPE_ID(jobd_actors, (jobd::job_runner))
  CAF_ADD_TYPE_ID(jobd_actors, (jobd::settle_listener))

CAF_END_TYPE_ID_BLOCK(jobd_actors)
