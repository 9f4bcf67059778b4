// Rules every backend applies the same way, kept in one place so they
// cannot drift apart: what a new job may be and how it is stored
// (job_store::enqueue), what a list filter may ask, what a manual change may
// do (job_store::update, PATCH /api/jobs/{id}), and the errors a refused
// change reports.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/error.hpp>

#include "storage/job.hpp"

namespace jobd {

/// Checks jobs before they are stored: a type, maxRetries in 0..100,
/// timeoutMs in 0..7 days, a uniqueKey of at most 255 bytes without
/// control characters, whose uniqueStates include PENDING and PROCESSING
/// and whose period is within 366 days (neither without a key).
/// Errors: invalid, naming the field ("jobs[2].maxRetries: ..." in a batch).
caf::error validate_new_jobs(const std::vector<new_job>& jobs);

/// The row enqueue() stores for `nj` at time `now`, id included: PENDING,
/// payload "{}" when empty, due at `now` when scheduled_for is 0; a unique
/// key taken in all states unless it says which, until the end of the
/// current period (if it has one).
job stored_job(const new_job& nj, ms_t now);

/// Whether `j`, as it is, takes its unique key (the unique index holds it:
/// JOBD_UNIQUE_HOLDS).
bool holds_unique_key(const job& j);

/// Checks a list filter: a known status, limit 1..500, a cursor of the
/// shape this server returns, a search text (q) of at most 200 bytes
/// without control characters, and a type among `known_types` (the handler
/// registry's names: storage knows no handlers, so the HTTP and CLI layers
/// pass them in; the stores pass none, which accepts any type). Errors:
/// invalid, naming the field ("type: expected one of ECHO, ..., got
/// 'NOPE'").
caf::error validate_filter(const job_filter& f,
                           const std::vector<std::string>& known_types = {});

/// Checks a page size (list, change feed): 1..500. Errors: invalid
/// ("limit: must be 1..500, got 0").
caf::error validate_limit(int32_t limit);

/// Whether an operator may move a job from `from` to `to`.
bool transition_allowed(job_status from, job_status to);

/// Checks what a patch says before any row is read: maxRetries in 0..100.
/// Errors: invalid, naming the field.
caf::error validate_patch(const job_patch& p);

/// Applies `p` to `j` (the row as read, inside the write transaction) at
/// time `now`. On success `j` is the row to write back. Errors: conflict
/// (transition not allowed; schedule fields of a PROCESSING job), `j` then
/// unspecified.
caf::error apply_patch(job& j, const job_patch& p, ms_t now);

// -- the errors of a refused change (same words on every backend) ----------

/// not_found: "no job with id '...'".
caf::error job_not_found(const std::string& id);

/// conflict: retry() of a job that is not FAILED.
caf::error not_retryable(const std::string& id, job_status status);

/// conflict: a change by hand (retry, update) would put `j` in a state
/// that takes its unique key, which `holder` already holds.
caf::error unique_key_taken(const job& j, const job& holder);

/// Whether `text` holds a control character (C0 or DEL). Text from
/// outside that is shown in replies, the dashboard and log lines as it is
/// (a unique key, a cancel's reason and who) must hold none.
bool has_control_chars(std::string_view text);

/// A progress message as it may be stored and shown: control characters
/// (C0, DEL) become spaces, and it is cut to max_progress_message_bytes,
/// never inside a UTF-8 character (invalid UTF-8 becomes U+FFFD first).
std::string progress_text(std::string_view message);

/// Text from outside as it may be stored and shown (an external worker's
/// error): control characters become spaces, invalid UTF-8 U+FFFD, cut to
/// `max_bytes` on a character boundary. progress_text is this at
/// max_progress_message_bytes.
std::string clean_text(std::string_view text, size_t max_bytes);

/// A fraction as it may be stored: within 0..1 (a value outside is
/// clamped); NaN and negative values mean "unknown" (-1).
double progress_fraction(double fraction);

/// The longest cancel reason and "by" (bytes), in the API and the CLI.
constexpr size_t max_cancel_reason_bytes = 500;
constexpr size_t max_cancel_by_bytes = 100;

/// conflict: cancel() of a job that is no longer PENDING or PROCESSING.
caf::error not_cancellable(const std::string& id, job_status status);

/// The attempt a change by hand (update(), cancel()) ends, to record in
/// its transaction, if any: a PROCESSING job settled by hand (its running
/// attempt: cancelled, completed or failed, ending now), or a COMPLETED
/// job run again (its completing attempt, as the row kept it). `before` is
/// the row as read, `after` as apply_patch left it.
std::optional<attempt_record> attempt_ended_by_hand(const job& before,
                                                    const job& after,
                                                    ms_t now);

/// A job's attempt history from its recorded attempts (newest first, as
/// attempts_sql reads them, at most `limit` + 1 rows) and its row: oldest
/// first, the newest `limit`, with the attempt the row holds added when it
/// is not recorded (running while PROCESSING; completed while COMPLETED).
attempt_history assemble_history(const job& j,
                                 std::vector<attempt_record> newest_first,
                                 int32_t limit);

/// The error text a cancelled job carries: "cancelled", " by <by>" and
/// ": <reason>" when given.
std::string cancel_note(const std::string& by, const std::string& reason);

/// The longest search text (job_filter::q), in bytes.
constexpr size_t max_search_bytes = 200;

/// The longest note of a pause (bytes): pause_note of a reason and a
/// "by" within the cancel limits fits.
constexpr size_t max_pause_note_bytes = 700;

/// The note a pause carries: "paused", " by <by>" and ": <reason>" when
/// given (as cancel_note).
std::string pause_note(const std::string& by, const std::string& reason);

/// Checks a pause before it is stored: a type name (not empty, at most
/// 100 bytes, no control characters), a note of at most
/// max_pause_note_bytes without control characters. Errors: invalid,
/// naming the field ("type: ...", "note: ...").
caf::error validate_pause(const std::string& type, const std::string& note);

/// The statuses a bulk request acts on, in the order job_store::bulk
/// visits them: its status if set, else all the action applies to (retry:
/// FAILED; cancel: PENDING, PROCESSING; delete: COMPLETED, FAILED,
/// CANCELLED).
std::vector<job_status> bulk_statuses(const bulk_request& r);

/// Whether `j`, as read now, is one `r` acts on: its status among
/// bulk_statuses(r), its type (if set), and for a delete with
/// finished_before its completedAt before it.
bool bulk_matches(const bulk_request& r, const job& j);

/// Checks a bulk request before any row is read: a status the action
/// applies to, a type among `known_types` (as validate_filter; none given
/// accepts any), finished_before only for delete, max within
/// 1..max_bulk_max, a note only for cancel (at most max_pause_note_bytes,
/// no control characters). Errors: invalid, naming the field ("status:
/// retry applies to FAILED jobs only, got 'PENDING'").
caf::error validate_bulk(const bulk_request& r,
                         const std::vector<std::string>& known_types = {});

/// A run of a "skip" schedule found up to this late is still created (a
/// worker busy or restarting for a moment); later it is skipped.
constexpr ms_t schedule_grace_ms = 60'000;

/// The longest catch-up window a schedule may ask for.
constexpr ms_t max_catch_up_ms = 7 * 86'400'000LL;

/// The most runs one look at a schedule creates (a long catch-up window
/// of a frequent schedule is created over several looks).
constexpr size_t max_runs_per_look = 100;

/// Checks a schedule before it is stored: a name of 1..100 bytes of
/// letters, digits, '.', '_' and '-'; a cron expression that parses; a
/// time zone the tz database has; a job type (as validate_pause's); a
/// payload that is a JSON object of at most 1 MiB; maxRetries 0..100;
/// missed "skip" or "catch_up"; catchUpMs 1 minute..7 days; source
/// "config" or "api". Errors: invalid, naming the field ("cron: minute
/// field '61': ...").
caf::error validate_schedule(const schedule& s);

/// The name part of validate_schedule. Errors: invalid ("name: ...").
caf::error validate_schedule_name(const std::string& name);

/// The run times of `s` due at `now` that are to be created, oldest first,
/// at most max_runs_per_look: those after both its last run and its
/// creation (a new schedule does not run for times before it existed),
/// and after now - catch_up_ms ("catch_up") or only the latest one, if it
/// is at most schedule_grace_ms old ("skip"). None while paused, or when
/// the cron or zone no longer loads. A schedule's runs are created in this
/// order, so its last run only ever moves forward. With `next`, also sets
/// *next to the run after `now` (0: none, paused, or it does not load), from
/// the same parse of the cron and the zone.
std::vector<ms_t> due_runs(const schedule& s, ms_t now, ms_t* next = nullptr);

/// The job a run of `s` at `run_at` creates: its type, payload, priority
/// and maxRetries, due at run_at.
new_job job_of_run(const schedule& s, ms_t run_at);

/// not_found: no schedule of that name.
caf::error no_such_schedule(const std::string& name);

/// The next run time of `s` after `now` (0: none, or it does not load).
ms_t next_run(const schedule& s, ms_t now);

/// Checks a worker sighting before it is stored (job_store::see_workers):
/// an id of 1..100 bytes, a host of at most max_worker_host_bytes, each
/// type as validate_pause's, none with control characters. Errors:
/// invalid, naming the field ("worker: ...", "host: ...", "types: ...").
caf::error validate_worker_seen(const worker_info& w);

/// A worker's types as one column's text (the names joined by newlines,
/// which no type name holds), and back.
std::string join_worker_types(const std::vector<std::string>& types);
std::vector<std::string> split_worker_types(const std::string& text);

/// Completes a list of workers read from the database: hands each its
/// jobs from `held` ((worker id, job id) pairs, oldest claim first; at most
/// max_worker_jobs_listed each) and sets online (seen within
/// worker_online_ms of `as_of`, or holding a job). `workers` holds the
/// rows read, most recently seen first, up to max_workers_listed + 1 (one
/// more marks the list truncated).
worker_list assemble_workers(std::vector<worker_info> workers,
                             const std::vector<std::pair<std::string,
                                                         std::string>>& held,
                             ms_t as_of);

/// conflict: remove() of a PROCESSING job.
caf::error still_processing(const std::string& id);

} // namespace jobd
