// The job (and a schedule) as JSON: what the API, the event stream and
// `jobd jobs get` print.
#pragma once

#include <string>

#include "storage/job.hpp"

namespace jobd {

/// The job as the API shows it (camelCase, times ISO-8601, payload and
/// result embedded as JSON, lease fields included as lockedBy/leaseExpiresAt
/// and attempt; uniqueKey, uniqueStates and uniqueUntil null without a
/// key; timeoutMs null for the type's default; progress null until the handler reported, else {fraction (null
/// when unknown), message (null when none), updatedAt}). `with_duplicate` (the replies of POST /api/jobs) adds
/// "duplicate": whether this is an existing job returned in place of a new
/// one with the same unique key.
std::string job_to_json(const job& j, bool with_duplicate = false);

/// A recurring schedule as the API and `jobd schedules list --json` show
/// it: its definition, times ISO-8601, lastRunAt and lastJobId null before
/// the first run, nextRunAt (the next cron run after `now`) null while
/// paused.
std::string schedule_json(const schedule& s, ms_t now);

/// A job's attempts as GET /api/jobs/{id}/attempts shows them:
/// {"jobId", "attempts": [{attempt, worker, startedAt, endedAt, outcome,
/// error}], "truncated"}, oldest first; worker, times and error null when
/// not known / not ended / none.
std::string attempts_json(const std::string& job_id,
                          const attempt_history& h);

/// The external workers as GET /api/workers shows them: {"workers":
/// [{id, host, types, firstSeenAt, lastSeenAt, online, jobs}], "asOf",
/// "truncated"}, most recently seen first; host null when not known, jobs
/// the ids of the jobs each holds now.
std::string workers_json(const worker_list& w);

} // namespace jobd
