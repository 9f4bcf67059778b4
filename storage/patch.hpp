// The rules of a manual change (PATCH /api/jobs/{id}), shared by every
// backend so they cannot drift apart. See job_store::update.
#pragma once

#include <caf/error.hpp>

#include "storage/job.hpp"

namespace jobd {

/// Whether an operator may move a job from `from` to `to`.
bool transition_allowed(job_status from, job_status to);

/// Applies `p` to `j` (the row as read, inside the write transaction) at
/// time `now`. On success `j` is the row to write back. Errors: conflict
/// (transition not allowed; schedule fields of a PROCESSING job), `j` then
/// unspecified.
caf::error apply_patch(job& j, const job_patch& p, ms_t now);

} // namespace jobd
