// The job as JSON: what the API, the event stream and `jobd jobs get`
// print.
#pragma once

#include <string>

#include "storage/job.hpp"

namespace jobd {

/// The job as the API shows it (camelCase, times ISO-8601, payload and
/// result embedded as JSON, lease fields included as lockedBy/leaseExpiresAt
/// and attempt).
std::string job_to_json(const job& j);

} // namespace jobd
