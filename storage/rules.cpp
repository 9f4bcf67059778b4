#include "storage/rules.hpp"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include "storage/cron.hpp"
#include "storage/errors.hpp"
#include "storage/json_text.hpp"
#include "storage/store.hpp"

namespace jobd {

caf::error validate_new_jobs(const std::vector<new_job>& jobs) {
  for (size_t i = 0; i < jobs.size(); ++i) {
    auto& nj = jobs[i];
    auto where = jobs.size() > 1 ? "jobs[" + std::to_string(i) + "]." : "";
    if (nj.type.empty())
      return make_error(errc::invalid, where + "type: must not be empty");
    if (nj.max_retries < 0 || nj.max_retries > max_max_retries)
      return make_error(errc::invalid,
                        where + "maxRetries: must be 0.."
                          + std::to_string(max_max_retries) + ", got "
                          + std::to_string(nj.max_retries));
    if (nj.timeout_ms < 0 || nj.timeout_ms > max_job_timeout_ms)
      return make_error(errc::invalid,
                        where + "timeoutMs: must be 1.."
                          + std::to_string(max_job_timeout_ms)
                          + " (7 days), or 0 for the type's default, got "
                          + std::to_string(nj.timeout_ms));
    if (nj.unique_key.empty()) {
      if (nj.unique_states != 0 || nj.unique_period_ms != 0)
        return make_error(errc::invalid,
                          where + "uniqueKey: uniqueStates and "
                                  "uniquePeriodMs need a uniqueKey");
      continue;
    }
    if (nj.unique_key.size() > max_unique_key_bytes)
      return make_error(errc::invalid,
                        where + "uniqueKey: at most "
                          + std::to_string(max_unique_key_bytes)
                          + " bytes, got "
                          + std::to_string(nj.unique_key.size()));
    if (has_control_chars(nj.unique_key))
      return make_error(errc::invalid,
                        where + "uniqueKey: must not contain control "
                                "characters");
    if (nj.unique_states != 0
        && ((nj.unique_states & ~all_status_bits) != 0
            || (nj.unique_states & active_status_bits) != active_status_bits))
      return make_error(errc::invalid,
                        where + "uniqueStates: must include PENDING and "
                                "PROCESSING (a waiting or running job "
                                "always holds its key)");
    if (nj.unique_period_ms < 0 || nj.unique_period_ms > max_unique_period_ms)
      return make_error(errc::invalid,
                        where + "uniquePeriodMs: must be 0 (none) or 1.."
                          + std::to_string(max_unique_period_ms)
                          + " (366 days), got "
                          + std::to_string(nj.unique_period_ms));
  }
  return {};
}

job stored_job(const new_job& nj, ms_t now) {
  job j;
  j.id = make_job_id(now);
  j.type = nj.type;
  j.payload = nj.payload.empty() ? "{}" : nj.payload;
  j.max_retries = nj.max_retries;
  j.priority = nj.priority;
  j.scheduled_for = nj.scheduled_for == 0 ? now : nj.scheduled_for;
  j.created_at = now;
  j.updated_at = now;
  j.timeout_ms = nj.timeout_ms;
  if (!nj.unique_key.empty()) {
    j.unique_key = nj.unique_key;
    j.unique_states = nj.unique_states == 0 ? all_status_bits
                                            : nj.unique_states;
    if (nj.unique_period_ms > 0)
      j.unique_until = (now / nj.unique_period_ms + 1) * nj.unique_period_ms;
  }
  return j;
}

bool holds_unique_key(const job& j) {
  return !j.unique_key.empty() && (j.unique_states & status_bit(j.status));
}

caf::error unique_key_taken(const job& j, const job& holder) {
  return make_error(errc::conflict,
                    "uniqueKey: job '" + j.id + "' would take key '"
                      + j.unique_key + "', which job '" + holder.id
                      + "' holds (" + to_string(holder.status)
                      + "); delete or finish that job first");
}

caf::error validate_filter(const job_filter& f,
                           const std::vector<std::string>& known_types) {
  if (!f.type.empty() && !known_types.empty()
      && std::find(known_types.begin(), known_types.end(), f.type)
           == known_types.end()) {
    std::string known;
    for (auto& t : known_types)
      known += (known.empty() ? "" : ", ") + t;
    return make_error(errc::invalid, "type: expected one of " + known
                                       + ", got '" + f.type + "'");
  }
  job_status st;
  if (!f.status.empty() && !parse_status(f.status, st))
    return make_error(errc::invalid,
                      "status: expected PENDING, PROCESSING, COMPLETED, "
                      "FAILED or CANCELLED, got '"
                        + f.status + "'");
  if (auto err = validate_limit(f.limit))
    return err;
  if (!f.cursor.empty() && !is_job_id(f.cursor))
    return make_error(errc::invalid,
                      "cursor: not a cursor this server returned");
  if (f.q.size() > max_search_bytes)
    return make_error(errc::invalid, "q: must be at most "
                                       + std::to_string(max_search_bytes)
                                       + " bytes, got "
                                       + std::to_string(f.q.size()));
  if (has_control_chars(f.q))
    return make_error(errc::invalid, "q: must not contain control characters");
  return {};
}

caf::error validate_limit(int32_t limit) {
  if (limit < 1 || limit > max_list_limit)
    return make_error(errc::invalid, "limit: must be 1.."
                                       + std::to_string(max_list_limit)
                                       + ", got " + std::to_string(limit));
  return {};
}

bool transition_allowed(job_status from, job_status to) {
  using s = job_status;
  if (from == to)
    return true;
  switch (from) {
    case s::pending:
      return to == s::failed || to == s::completed || to == s::cancelled;
    case s::failed:
      return to == s::pending || to == s::completed;
    case s::completed:
      return to == s::pending;
    case s::processing:
      return to == s::completed || to == s::failed || to == s::cancelled;
    case s::cancelled:
      return false; // final
  }
  return false;
}

caf::error validate_patch(const job_patch& p) {
  if (p.has_max_retries
      && (p.max_retries < 0 || p.max_retries > max_max_retries))
    return make_error(errc::invalid, "maxRetries: must be 0.."
                                       + std::to_string(max_max_retries));
  return {};
}

caf::error apply_patch(job& j, const job_patch& p, ms_t now) {
  if (p.has_status && p.status == job_status::cancelled
      && j.status != job_status::pending
      && j.status != job_status::processing)
    return not_cancellable(j.id, j.status);
  if (p.has_status && !transition_allowed(j.status, p.status))
    return make_error(errc::conflict, std::string{"status: cannot change a "}
                                        + to_string(j.status) + " job to "
                                        + to_string(p.status));
  bool schedule_fields = p.has_priority || p.has_scheduled_for
                         || p.has_max_retries;
  auto final_status = p.has_status ? p.status : j.status;
  if (schedule_fields && final_status == job_status::processing)
    return make_error(errc::conflict,
                      "job '" + j.id
                        + "' is PROCESSING: priority, scheduledFor and "
                          "maxRetries cannot change while it runs");
  if (p.has_priority)
    j.priority = p.priority;
  if (p.has_scheduled_for)
    j.scheduled_for = p.scheduled_for == 0 ? now : p.scheduled_for;
  if (p.has_max_retries)
    j.max_retries = p.max_retries;
  if (p.has_result)
    j.result = p.result;
  if (p.has_error)
    j.error = p.error;
  if (p.has_status && p.status != j.status) {
    auto from = j.status;
    j.status = p.status;
    switch (p.status) {
      case job_status::pending:
        j.completed_at = 0;
        if (from == job_status::failed)
          j.retry_count = 0;
        if (!p.has_scheduled_for)
          j.scheduled_for = now;
        break;
      case job_status::completed:
      case job_status::failed:
        j.completed_at = now;
        break;
      case job_status::cancelled:
        j.completed_at = now;
        if (!p.has_error)
          j.error = cancel_note({}, {});
        break;
      case job_status::processing:
        break;
    }
    // Settling a running job by hand takes its lease away: the worker's
    // own outcome will be fenced off.
    j.locked_by.clear();
    j.lease_expires_at = 0;
  }
  j.updated_at = now;
  return {};
}

std::optional<attempt_record> attempt_ended_by_hand(const job& before,
                                                    const job& after,
                                                    ms_t now) {
  if (before.attempt <= 0 || before.status == after.status)
    return std::nullopt;
  attempt_record a;
  a.attempt = before.attempt;
  a.worker = before.worked_by.empty() ? before.locked_by : before.worked_by;
  a.started_at = before.started_at;
  if (before.status == job_status::processing) {
    a.ended_at = now;
    switch (after.status) {
      case job_status::cancelled:
        a.outcome = attempt_outcome::cancelled;
        a.error = after.error;
        break;
      case job_status::completed:
        a.outcome = attempt_outcome::completed;
        a.error = "completed by hand while it ran";
        break;
      default:
        a.outcome = attempt_outcome::failed;
        a.error = after.error.empty() ? "failed by hand while it ran"
                                      : after.error;
        break;
    }
    return a;
  }
  if (before.status == job_status::completed) {
    a.ended_at = before.completed_at;
    a.outcome = attempt_outcome::completed;
    return a;
  }
  return std::nullopt;
}

attempt_history assemble_history(const job& j,
                                 std::vector<attempt_record> newest_first,
                                 int32_t limit) {
  attempt_history h;
  bool recorded = !newest_first.empty()
                  && newest_first.front().attempt >= j.attempt;
  if (j.attempt > 0 && !recorded
      && (j.status == job_status::processing
          || j.status == job_status::completed)) {
    attempt_record a;
    a.attempt = j.attempt;
    a.started_at = j.started_at;
    if (j.status == job_status::processing) {
      a.worker = j.locked_by;
      a.outcome = attempt_outcome::running;
    } else {
      a.worker = j.worked_by;
      a.ended_at = j.completed_at;
      a.outcome = attempt_outcome::completed;
    }
    newest_first.insert(newest_first.begin(), std::move(a));
  }
  if (limit < 1)
    limit = 1;
  if (newest_first.size() > static_cast<size_t>(limit)) {
    newest_first.resize(static_cast<size_t>(limit));
    h.truncated = true;
  }
  h.attempts.assign(newest_first.rbegin(), newest_first.rend());
  return h;
}

caf::error job_not_found(const std::string& id) {
  return make_error(errc::not_found, "no job with id '" + id + "'");
}

caf::error not_retryable(const std::string& id, job_status status) {
  if (status == job_status::cancelled)
    return make_error(errc::conflict,
                      "job '" + id
                        + "' is CANCELLED, which is final; enqueue a new "
                          "job to run it again");
  return make_error(errc::conflict,
                    "job '" + id + "' is " + to_string(status)
                      + "; only a FAILED job can be retried");
}

bool has_control_chars(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c < 0x20 || c == 0x7f;
  });
}

std::string progress_text(std::string_view message) {
  return clean_text(message, max_progress_message_bytes);
}

std::string clean_text(std::string_view message, size_t max_bytes) {
  std::string out;
  out.reserve(std::min(message.size(), max_bytes));
  for (size_t i = 0; i < message.size();) {
    auto c = static_cast<unsigned char>(message[i]);
    std::string_view piece;
    size_t step = 1;
    char space = ' ';
    if (c < 0x20 || c == 0x7f) {
      piece = std::string_view{&space, 1};
    } else if (c < 0x80) {
      piece = message.substr(i, 1);
    } else if (auto n = utf8_sequence_len(message, i); n > 0) {
      piece = message.substr(i, n);
      step = n;
    } else {
      piece = "\xEF\xBF\xBD"; // U+FFFD
    }
    if (out.size() + piece.size() > max_bytes)
      break;
    out.append(piece.data(), piece.size());
    i += step;
  }
  return out;
}

double progress_fraction(double fraction) {
  if (!(fraction >= 0)) // NaN, negative
    return -1;
  return std::min(fraction, 1.0);
}

caf::error not_cancellable(const std::string& id, job_status status) {
  return make_error(errc::conflict,
                    "job '" + id + "' is " + to_string(status)
                      + "; only a PENDING or PROCESSING job can be "
                        "cancelled");
}

std::string cancel_note(const std::string& by, const std::string& reason) {
  std::string out = "cancelled";
  if (!by.empty())
    out += " by " + by;
  if (!reason.empty())
    out += ": " + reason;
  return out;
}

caf::error still_processing(const std::string& id) {
  return make_error(errc::conflict,
                    "job '" + id
                      + "' is PROCESSING; wait for it to finish, or set its "
                        "status to FAILED first");
}

std::string pause_note(const std::string& by, const std::string& reason) {
  std::string out = "paused";
  if (!by.empty())
    out += " by " + by;
  if (!reason.empty())
    out += ": " + reason;
  return out;
}

caf::error validate_pause(const std::string& type, const std::string& note) {
  if (type.empty())
    return make_error(errc::invalid, "type: must not be empty");
  if (type.size() > 100)
    return make_error(errc::invalid, "type: must be at most 100 bytes, got "
                                       + std::to_string(type.size()));
  if (has_control_chars(type))
    return make_error(errc::invalid,
                      "type: must not contain control characters");
  if (note.size() > max_pause_note_bytes)
    return make_error(errc::invalid,
                      "note: must be at most "
                        + std::to_string(max_pause_note_bytes)
                        + " bytes, got " + std::to_string(note.size()));
  if (has_control_chars(note))
    return make_error(errc::invalid,
                      "note: must not contain control characters");
  return {};
}

caf::error validate_worker_seen(const worker_info& w) {
  if (w.id.empty() || w.id.size() > 100 || has_control_chars(w.id))
    return make_error(errc::invalid,
                      "worker: must be 1..100 bytes without control "
                      "characters");
  if (w.host.size() > max_worker_host_bytes || has_control_chars(w.host))
    return make_error(errc::invalid,
                      "host: must be at most "
                        + std::to_string(max_worker_host_bytes)
                        + " bytes without control characters");
  for (auto& t : w.types)
    if (auto err = validate_pause(t, {}))
      return make_error(errc::invalid, "types: " + message_of(err));
  return {};
}

std::string join_worker_types(const std::vector<std::string>& types) {
  std::string out;
  for (auto& t : types) {
    if (!out.empty())
      out += '\n';
    out += t;
  }
  return out;
}

std::vector<std::string> split_worker_types(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start < text.size()) {
    auto end = text.find('\n', start);
    if (end == std::string::npos)
      end = text.size();
    if (end > start)
      out.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return out;
}

worker_list assemble_workers(
  std::vector<worker_info> workers,
  const std::vector<std::pair<std::string, std::string>>& held, ms_t as_of) {
  worker_list out;
  out.as_of = as_of;
  if (workers.size() > static_cast<size_t>(max_workers_listed)) {
    workers.resize(max_workers_listed);
    out.truncated = true;
  }
  for (auto& w : workers) {
    for (auto& [by, id] : held)
      if (by == w.id
          && w.jobs.size() < static_cast<size_t>(max_worker_jobs_listed))
        w.jobs.push_back(id);
    w.online = !w.jobs.empty() || as_of - w.last_seen_at <= worker_online_ms;
  }
  out.workers = std::move(workers);
  return out;
}

std::vector<job_status> bulk_statuses(const bulk_request& r) {
  job_status st;
  if (!r.status.empty() && parse_status(r.status, st))
    return {st};
  switch (r.action) {
    case bulk_action::retry:
      return {job_status::failed};
    case bulk_action::cancel:
      return {job_status::pending, job_status::processing};
    case bulk_action::remove:
      break;
  }
  return {job_status::completed, job_status::failed, job_status::cancelled};
}

bool bulk_matches(const bulk_request& r, const job& j) {
  auto sts = bulk_statuses(r);
  if (std::find(sts.begin(), sts.end(), j.status) == sts.end())
    return false;
  if (!r.type.empty() && j.type != r.type)
    return false;
  if (r.action == bulk_action::remove && r.finished_before > 0
      && !(j.completed_at > 0 && j.completed_at < r.finished_before))
    return false;
  return true;
}

caf::error validate_bulk(const bulk_request& r,
                         const std::vector<std::string>& known_types) {
  job_filter f;
  f.type = r.type;
  if (auto err = validate_filter(f, known_types))
    return err;
  if (!r.status.empty()) {
    job_status st;
    if (!parse_status(r.status, st))
      return make_error(errc::invalid,
                        "status: expected PENDING, PROCESSING, COMPLETED, "
                        "FAILED or CANCELLED, got '"
                          + r.status + "'");
    bulk_request all = r;
    all.status.clear();
    auto sts = bulk_statuses(all);
    if (std::find(sts.begin(), sts.end(), st) == sts.end()) {
      const char* applies
        = r.action == bulk_action::retry
            ? "retry applies to FAILED jobs only"
          : r.action == bulk_action::cancel
            ? "cancel applies to PENDING and PROCESSING jobs only"
            : "delete applies to finished jobs only (COMPLETED, FAILED, "
              "CANCELLED)";
      return make_error(errc::invalid, std::string{"status: "} + applies
                                         + ", got '" + r.status + "'");
    }
  }
  if (r.finished_before != 0) {
    if (r.action != bulk_action::remove)
      return make_error(errc::invalid,
                        "finishedBefore: only delete takes it");
    if (r.finished_before < 0 || r.finished_before > max_time_ms)
      return make_error(errc::invalid, "finishedBefore: out of range");
  }
  if (r.max < 1 || r.max > max_bulk_max)
    return make_error(errc::invalid, "max: must be 1.."
                                       + std::to_string(max_bulk_max)
                                       + ", got " + std::to_string(r.max));
  if (!r.note.empty() && r.action != bulk_action::cancel)
    return make_error(errc::invalid, "note: only cancel takes a reason");
  if (r.note.size() > max_pause_note_bytes)
    return make_error(errc::invalid,
                      "note: must be at most "
                        + std::to_string(max_pause_note_bytes)
                        + " bytes, got " + std::to_string(r.note.size()));
  if (has_control_chars(r.note))
    return make_error(errc::invalid,
                      "note: must not contain control characters");
  return {};
}

caf::error validate_schedule_name(const std::string& name) {
  if (name.empty() || name.size() > 100)
    return make_error(errc::invalid, "name: must be 1..100 bytes, got "
                                       + std::to_string(name.size()));
  for (unsigned char c : name)
    if (!(std::isalnum(c) || c == '.' || c == '_' || c == '-'))
      return make_error(errc::invalid,
                        "name: may hold only letters, digits, '.', '_' and "
                        "'-', got " + json_string(name));
  return {};
}

caf::error validate_schedule(const schedule& s) {
  if (auto err = validate_schedule_name(s.name))
    return err;
  auto cron = cron_expr::parse(s.cron);
  if (!cron)
    return cron.error();
  auto tz = time_zone::load(s.time_zone);
  if (!tz)
    return make_error(errc::invalid, "timeZone: " + message_of(tz.error()));
  if (auto err = validate_pause(s.type, {}))
    return err;
  if (s.payload.size() > (1u << 20))
    return make_error(errc::invalid, "payload: must be at most 1 MiB");
  if (!is_json_object(s.payload))
    return make_error(errc::invalid, "payload: must be a JSON object");
  if (s.max_retries < 0 || s.max_retries > max_max_retries)
    return make_error(errc::invalid,
                      "maxRetries: must be 0.." + std::to_string(max_max_retries)
                        + ", got " + std::to_string(s.max_retries));
  if (s.missed != "skip" && s.missed != "catch_up")
    return make_error(errc::invalid, "missed: must be skip or catch_up, got "
                                       + json_string(s.missed));
  if (s.catch_up_ms < 60'000 || s.catch_up_ms > max_catch_up_ms)
    return make_error(errc::invalid,
                      "catchUpMs: must be 60000..604800000 (1 minute..7 "
                      "days), got " + std::to_string(s.catch_up_ms));
  if (s.source != "config" && s.source != "api")
    return make_error(errc::invalid, "source: must be config or api, got "
                                       + json_string(s.source));
  return {};
}

std::vector<ms_t> due_runs(const schedule& s, ms_t now, ms_t* next) {
  if (next)
    *next = 0;
  if (s.paused)
    return {};
  auto cron = cron_expr::parse(s.cron);
  auto tz = time_zone::load(s.time_zone);
  if (!cron || !tz)
    return {};
  if (next)
    *next = cron->next_after(now, *tz).value_or(0);
  // A run at exactly the creation time counts (a schedule made at 10:00
  // for "0 10 * * *" runs today), hence - 1.
  ms_t after = std::max(s.last_run_at, s.created_at - 1);
  if (s.missed == "catch_up")
    return cron->runs_between(std::max(after, now - s.catch_up_ms), now, *tz,
                              max_runs_per_look);
  auto runs = cron->runs_between(std::max(after, now - schedule_grace_ms - 1),
                                 now, *tz, SIZE_MAX);
  if (runs.size() > 1)
    runs.erase(runs.begin(), runs.end() - 1);
  return runs;
}

new_job job_of_run(const schedule& s, ms_t run_at) {
  new_job nj;
  nj.type = s.type;
  nj.payload = s.payload;
  nj.priority = s.priority;
  nj.max_retries = s.max_retries;
  nj.scheduled_for = run_at;
  return nj;
}

caf::error no_such_schedule(const std::string& name) {
  return make_error(errc::not_found,
                    "no schedule named " + json_string(name));
}

ms_t next_run(const schedule& s, ms_t now) {
  auto cron = cron_expr::parse(s.cron);
  auto tz = time_zone::load(s.time_zone);
  if (!cron || !tz)
    return 0;
  return cron->next_after(now, *tz).value_or(0);
}

} // namespace jobd
