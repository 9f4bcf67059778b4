// Rules every backend applies the same way, kept in one place so they
// cannot drift apart: what a new job may be (job_store::enqueue) and what a
// manual change may do (job_store::update, PATCH /api/jobs/{id}).
#pragma once

#include <string>
#include <vector>

#include <caf/error.hpp>

#include "storage/job.hpp"

namespace jobd {

/// Checks jobs before they are stored: a type, maxRetries in 0..100.
/// Errors: invalid, naming the field ("jobs[2].maxRetries: ..." in a batch).
caf::error validate_new_jobs(const std::vector<new_job>& jobs);

/// Checks a list filter: a known status, limit 1..500, a cursor of the
/// shape this server returns, and a type among `known_types` (the handler
/// registry's names: storage knows no handlers, so the HTTP and CLI layers
/// pass them in; the stores pass none, which accepts any type). Errors:
/// invalid, naming the field ("type: expected one of ECHO, ..., got
/// 'NOPE'").
caf::error validate_filter(const job_filter& f,
                           const std::vector<std::string>& known_types = {});

/// Whether an operator may move a job from `from` to `to`.
bool transition_allowed(job_status from, job_status to);

/// Applies `p` to `j` (the row as read, inside the write transaction) at
/// time `now`. On success `j` is the row to write back. Errors: conflict
/// (transition not allowed; schedule fields of a PROCESSING job), `j` then
/// unspecified.
caf::error apply_patch(job& j, const job_patch& p, ms_t now);

} // namespace jobd
