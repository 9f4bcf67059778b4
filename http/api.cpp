#include "http/api.hpp"

#include <algorithm>
#include <cctype>
#include <map>

#include <caf/sec.hpp>
#include <caf/send.hpp>

#include "http/assets.hpp"
#include "http/job_input.hpp"
#include "http/job_json.hpp"
#include "http/worker_api.hpp"
#include "storage/clock.hpp"
#include "storage/errors.hpp"
#include "storage/json_text.hpp"
#include "storage/rules.hpp"

namespace jobd {

namespace http = boost::beast::http;

http_response json_response(unsigned status, std::string body) {
  http_response res{static_cast<http::status>(status), 11};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  res.body() = std::move(body);
  return res;
}

http_response error_response(unsigned status, const std::string& code,
                             const std::string& message,
                             const std::optional<std::string>& field) {
  std::string body = "{\"error\":{\"code\":";
  append_json_string(body, code);
  body += ",\"message\":";
  append_json_string(body, message);
  if (field) {
    body += ",\"field\":";
    append_json_string(body, *field);
  }
  body += "}}";
  auto res = json_response(status, std::move(body));
  if (status == 503)
    res.set(http::field::retry_after, "1");
  return res;
}

http_response health_response(const std::string& reason, int64_t free_bytes) {
  std::string body = reason.empty() ? "{\"status\":\"ok\"" : "{\"status\":\"unhealthy\"";
  if (!reason.empty()) {
    body += ",\"reason\":";
    append_json_string(body, reason);
  }
  body += ",\"storage\":{\"freeBytes\":";
  body += free_bytes >= 0 ? std::to_string(free_bytes) : std::string{"null"};
  body += "}}";
  auto res = json_response(reason.empty() ? 200 : 503, std::move(body));
  if (!reason.empty())
    res.set(http::field::retry_after, std::to_string(storage_full_retry_after_s));
  return res;
}

http_response store_error_response(const caf::error& err) {
  if (err == caf::sec::request_timeout)
    return error_response(503, "timeout",
                          "the job store did not answer in time; try again");
  auto msg = message_of(err);
  switch (code_of(err)) {
    case errc::not_found:
      return error_response(404, "not_found", msg);
    case errc::conflict:
      return error_response(409, "conflict", msg);
    case errc::invalid: {
      // Store messages read "field: what is wrong".
      std::optional<std::string> field;
      auto colon = msg.find(": ");
      if (colon != std::string::npos && colon > 0
          && msg.substr(0, colon).find(' ') == std::string::npos)
        field = msg.substr(0, colon);
      return error_response(400, "invalid_field", msg, field);
    }
    case errc::busy:
      return error_response(503, "busy",
                            "the database is busy; try again: " + msg);
    case errc::unavailable:
      return error_response(503, "unavailable", msg);
    case errc::shutting_down:
      return error_response(503, "shutting_down", msg);
    case errc::full: {
      // Freeing space takes an operator, not a moment: ask clients to come
      // back later than for a busy lock.
      auto res = error_response(503, "storage_full", msg);
      res.set(http::field::retry_after, std::to_string(storage_full_retry_after_s));
      return res;
    }
    default:
      return error_response(500, "internal", msg);
  }
}

bool prefers_minimal(std::string_view prefer) {
  while (!prefer.empty()) {
    auto comma = prefer.find(',');
    auto item = prefer.substr(0, comma);
    prefer = comma == std::string_view::npos ? std::string_view{}
                                             : prefer.substr(comma + 1);
    // "return=minimal", any case, spaces around '=', value maybe quoted;
    // parameters after ';' do not change it.
    std::string norm;
    for (char c : item.substr(0, item.find(';')))
      if (c != ' ' && c != '\t' && c != '"')
        norm += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (norm == "return=minimal")
      return true;
  }
  return false;
}

bool token_matches(const std::string& presented, const std::string& expected) {
  // Touch every byte of `presented` whatever matches, so timing reveals
  // neither the position of the first difference nor the token.
  if (expected.empty())
    return false;
  unsigned char diff = presented.size() == expected.size() ? 0 : 1;
  for (size_t i = 0; i < presented.size(); ++i)
    diff |= static_cast<unsigned char>(presented[i])
            ^ static_cast<unsigned char>(expected[i % expected.size()]);
  return diff == 0;
}

job_input_limits limits_of(const server_context& ctx) {
  job_input_limits l;
  l.max_depth = static_cast<size_t>(ctx.cfg.max_depth);
  l.max_batch_jobs = static_cast<size_t>(ctx.cfg.max_batch_jobs);
  return l;
}

namespace {

http_response from_input_error(const input_error& e) {
  // Every input error is about the input: field "" is the body as a whole.
  return error_response(e.status, e.code, e.message,
                        std::optional<std::string>{e.field});
}

http_response no_such_job(const std::string& id) {
  return error_response(404, "not_found",
                        "no job with id '" + id
                          + "' (job ids are 26-character ULIDs as returned "
                            "by POST /api/jobs)");
}

http_response no_such_type(const std::string& type,
                           const std::vector<std::string>& types) {
  std::string known;
  for (auto& t : types)
    known += (known.empty() ? "" : ", ") + t;
  // The name is echoed only when it is one a type could have.
  auto named = validate_pause(type, "") ? std::string{"that name"}
                                        : "'" + type + "'";
  return error_response(404, "not_found",
                        "no job type " + named + "; the types are " + known);
}

std::string jobs_json(const std::vector<job>& jobs,
                      bool with_duplicate = false) {
  std::string out = "[";
  for (auto& j : jobs) {
    if (out.size() > 1)
      out += ',';
    out += job_to_json(j, with_duplicate);
  }
  out += ']';
  return out;
}

// The minimal replies (Prefer: return=minimal): {"id":...}, {"ids":[...]}.
// A duplicate (unique key taken) adds "duplicate":true, resp.
// "duplicates": the positions of the duplicates in the batch.
std::string id_json(const job& j) {
  std::string out = "{\"id\":";
  append_json_string(out, j.id);
  if (j.duplicate)
    out += ",\"duplicate\":true";
  out += '}';
  return out;
}

std::string ids_json(const std::vector<job>& jobs) {
  std::string out;
  out.reserve(16 + jobs.size() * 29);
  out += "{\"ids\":[";
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (i > 0)
      out += ',';
    append_json_string(out, jobs[i].id);
  }
  out += ']';
  bool any = false;
  for (size_t i = 0; i < jobs.size(); ++i)
    if (jobs[i].duplicate) {
      out += any ? "," : ",\"duplicates\":[";
      out += std::to_string(i);
      any = true;
    }
  out += any ? "]}" : "}";
  return out;
}

// Replies with a job, or with the store's error.
std::function<void(caf::expected<job>)> reply_job(reply_fn reply,
                                                  unsigned status = 200) {
  return [reply = std::move(reply), status](caf::expected<job> res) {
    if (!res)
      return reply(store_error_response(res.error()));
    reply(json_response(status, job_to_json(*res)));
  };
}

void serve_asset(const api_request& req, std::string_view name,
                 const reply_fn& reply) {
  auto a = find_asset(name);
  if (!a)
    return reply(error_response(404, "not_found",
                                "no dashboard file '" + std::string{name}
                                  + "'"));
  if (!req.if_none_match.empty() && std::string_view{req.if_none_match} == a->etag) {
    http_response res{http::status::not_modified, 11};
    res.set(http::field::etag, std::string{a->etag});
    return reply(std::move(res));
  }
  http_response res{http::status::ok, 11};
  res.set(http::field::content_type, std::string{a->content_type});
  // Revalidate every time (cheap with the ETag), so a new jobd binary's
  // dashboard is picked up at once.
  res.set(http::field::cache_control, "no-cache");
  res.set(http::field::etag, std::string{a->etag});
  res.body() = std::string{a->data};
  reply(std::move(res));
}

// Counts as {"PENDING":n,...} with every status present.
struct count_table {
  std::map<std::string, int64_t> by_status;
  std::map<std::string, std::map<std::string, int64_t>> by_type;
  int64_t total = 0;

  explicit count_table(const job_counts& c) {
    for (auto s : {"PENDING", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED"})
      by_status[s] = 0;
    for (size_t i = 0; i < c.count.size(); ++i) {
      by_status[c.status[i]] += c.count[i];
      by_type[c.type[i]][c.status[i]] += c.count[i];
      total += c.count[i];
    }
  }
};

// {"action":..,"matched":N,"changed":N,"skipped":N,"more":bool}
std::string bulk_json(const bulk_result& r) {
  std::string out = "{\"action\":";
  append_json_string(out, to_string(r.action));
  out += ",\"matched\":" + std::to_string(r.matched);
  out += ",\"changed\":" + std::to_string(r.changed);
  out += ",\"skipped\":" + std::to_string(r.skipped);
  out += ",\"more\":";
  out += r.more ? "true}" : "false}";
  return out;
}

// {"type":..,"paused":true,"pausedAt":..,"note":..}
std::string pause_json(const type_pause& p) {
  std::string out = "{\"type\":";
  append_json_string(out, p.type);
  out += ",\"paused\":true,\"pausedAt\":";
  append_json_string(out, format_time(p.paused_at));
  out += ",\"note\":";
  append_json_string(out, p.note);
  out += '}';
  return out;
}

ms_t wall_now() {
  return system_clock_source{}.now_ms();
}

// The reply of a route that answers one schedule.
std::function<void(caf::expected<schedule>)> reply_schedule(reply_fn reply,
                                                            int status = 200) {
  return [reply = std::move(reply), status](caf::expected<schedule> res) {
    if (!res)
      return reply(store_error_response(res.error()));
    reply(json_response(status, schedule_json(*res, wall_now())));
  };
}

std::string stats_json(const server_context& ctx, const job_counts& c) {
  count_table t{c};
  std::string out = "{\"total\":" + std::to_string(t.total);
  out += ",\"byStatus\":{";
  bool first = true;
  for (auto& [s, n] : t.by_status) {
    out += first ? "" : ",";
    first = false;
    append_json_string(out, s);
    out += ':' + std::to_string(n);
  }
  out += "},\"byType\":{";
  first = true;
  for (auto& [type, m] : t.by_type) {
    out += first ? "" : ",";
    first = false;
    append_json_string(out, type);
    int64_t sum = 0;
    std::string inner;
    for (auto s :
         {"PENDING", "PROCESSING", "COMPLETED", "FAILED", "CANCELLED"}) {
      auto i = m.find(s);
      auto n = i == m.end() ? 0 : i->second;
      sum += n;
      inner += std::string{",\""} + s + "\":" + std::to_string(n);
    }
    out += ":{\"total\":" + std::to_string(sum) + inner + "}";
  }
  // Throughput: jobs this process saw finish, in 10-second buckets.
  auto now = system_clock_source{}.now_ms();
  auto buckets = ctx.hub->throughput().snapshot(now);
  int64_t last_minute = 0, last_minute_failed = 0, last_five = 0;
  auto per_minute = 60'000 / throughput_ring::bucket_ms;
  for (size_t i = 0; i < buckets.size(); ++i) {
    auto age = static_cast<int64_t>(buckets.size() - 1 - i);
    if (age < per_minute) {
      last_minute += buckets[i].completed;
      last_minute_failed += buckets[i].failed;
    }
    if (age < 5 * per_minute)
      last_five += buckets[i].completed;
  }
  char avg[32];
  std::snprintf(avg, sizeof(avg), "%.1f", static_cast<double>(last_five) / 5);
  out += "},\"throughput\":{\"bucketSeconds\":"
         + std::to_string(throughput_ring::bucket_ms / 1000)
         + ",\"completedLastMinute\":" + std::to_string(last_minute)
         + ",\"failedLastMinute\":" + std::to_string(last_minute_failed)
         + ",\"completedPerMinute\":" + avg + ",\"buckets\":[";
  for (size_t i = 0; i < buckets.size(); ++i) {
    out += i == 0 ? "{\"start\":" : ",{\"start\":";
    append_json_string(out, format_time(buckets[i].start));
    out += ",\"completed\":" + std::to_string(buckets[i].completed)
           + ",\"failed\":" + std::to_string(buckets[i].failed) + "}";
  }
  out += "]},\"paused\":[";
  for (size_t i = 0; i < c.paused.size(); ++i) {
    if (i > 0)
      out += ',';
    out += pause_json(c.paused[i]);
  }
  out += "],\"eventStreams\":"
         + std::to_string(ctx.metrics.event_streams_open.load()) + "}";
  return out;
}

std::string metrics_text(const server_context& ctx, const job_counts& c) {
  std::string out = "# HELP jobd_jobs Jobs in the store by status and type.\n"
                    "# TYPE jobd_jobs gauge\n";
  for (size_t i = 0; i < c.count.size(); ++i)
    out += "jobd_jobs{status=\"" + prometheus_label(c.status[i]) + "\",type=\""
           + prometheus_label(c.type[i]) + "\"} " + std::to_string(c.count[i])
           + "\n";
  out += "# HELP jobd_type_paused Job types paused by hand (1 while paused).\n"
         "# TYPE jobd_type_paused gauge\n";
  for (auto& p : c.paused)
    out += "jobd_type_paused{type=\"" + prometheus_label(p.type) + "\"} 1\n";
  out += "# HELP jobd_jobs_finished_total Jobs this process saw finish, by "
         "outcome.\n# TYPE jobd_jobs_finished_total counter\n";
  out += "jobd_jobs_finished_total{status=\"COMPLETED\"} "
         + std::to_string(ctx.hub->completed_total.load()) + "\n";
  out += "jobd_jobs_finished_total{status=\"FAILED\"} "
         + std::to_string(ctx.hub->failed_total.load()) + "\n";
  append_metric(out, "jobd_worker_fetches_waiting",
                "External workers' fetches waiting for a job (long poll).",
                "gauge", waiting_fetches(ctx));
  if (auto& c = ctx.counters) {
    auto counter = [&](const char* name, const char* help, int64_t v) {
      append_metric(out, name, help, "counter", v);
    };
    counter("jobd_leases_lost_total",
            "Jobs whose lease a heartbeat did not renew (another worker or "
            "an operator held them); each was stopped.",
            c->leases_lost.load());
    counter("jobd_jobs_fenced_total",
            "Jobs stopped because their leases could not be renewed in time "
            "(the database did not answer).",
            c->jobs_fenced.load());
    counter("jobd_outcomes_refused_total",
            "Completions the database refused: the attempt no longer held "
            "the job.",
            c->outcomes_refused.load());
    counter("jobd_database_outages_total",
            "Outages: runs of claims failing because the database was down, "
            "locked or full.",
            c->database_outages.load());
    counter("jobd_claims_failed_total",
            "Claims that failed because the database was down, locked or "
            "full.",
            c->claims_failed.load());
  }
  out += ctx.hub->timings.render();
  out += ctx.metrics.render();
  return out;
}

} // namespace

void handle_request(const std::shared_ptr<server_context>& ctx, const route& r,
                    api_request req, reply_fn reply) {
  auto& c = *ctx;
  if (is_worker_route(r.id))
    return handle_worker_request(ctx, r.id, req, std::move(reply));
  switch (r.id) {
    case route_id::healthz: {
      // The whole chain must answer (the store actor reads the database),
      // and storage must be writable: no write failed lately and the disk
      // has room (see store_actor.hpp, health_atom).
      run_on_gateway(c, [store = c.store, timeout = c.request_timeout(),
                         reply](caf::event_based_actor* self) {
        self->request(store, timeout, health_atom::value)
          .then(
            [reply](std::string& reason, int64_t free) {
              reply(health_response(reason, free));
            },
            [reply](caf::error& err) {
              auto e = store_error_response(err);
              e.result(http::status::service_unavailable);
              reply(std::move(e));
            });
      });
      return;
    }
    case route_id::metrics: {
      ask_reader<job_counts>(
        c,
        [ctx, reply](caf::expected<job_counts> res) {
          if (!res)
            return reply(store_error_response(res.error()));
          http_response out{http::status::ok, 11};
          out.set(http::field::content_type,
                  "text/plain; version=0.0.4; charset=utf-8");
          out.body() = metrics_text(*ctx, *res);
          reply(std::move(out));
        },
        stats_atom::value);
      return;
    }
    case route_id::stats: {
      ask_reader<job_counts>(
        c,
        [ctx, reply](caf::expected<job_counts> res) {
          if (!res)
            return reply(store_error_response(res.error()));
          reply(json_response(200, stats_json(*ctx, *res)));
        },
        stats_atom::value);
      return;
    }
    case route_id::list_jobs: {
      job_filter f;
      if (auto e = parse_list_query(req.query, f))
        return reply(from_input_error(*e));
      // An unknown type would list nothing; refuse it like a bad status.
      if (auto err = validate_filter(f, c.handlers->types()))
        return reply(store_error_response(err));
      ask_reader<job_page>(
        c,
        [reply](caf::expected<job_page> res) {
          if (!res)
            return reply(store_error_response(res.error()));
          std::string out = "{\"jobs\":" + jobs_json(res->jobs)
                            + ",\"nextCursor\":";
          if (res->next_cursor.empty())
            out += "null";
          else
            append_json_string(out, res->next_cursor);
          out += '}';
          reply(json_response(200, std::move(out)));
        },
        list_atom::value, std::move(f));
      return;
    }
    case route_id::create_job:
    case route_id::create_batch: {
      std::vector<new_job> jobs;
      bool many = false;
      if (auto e = parse_jobs_body(req.body, r.id == route_id::create_batch,
                                   *c.handlers, limits_of(c), jobs, many))
        return reply(from_input_error(*e));
      // The hot path: the store actor calls back from its own thread after
      // the commit (no actor in between); the session bounds the wait by
      // http.request_timeout.
      caf::anon_send(
        c.store, enqueue_atom::value, std::move(jobs),
        enqueue_reply{[reply, many, minimal = req.prefer_minimal](
                        caf::expected<std::vector<job>> res) {
          if (!res)
            return reply(store_error_response(res.error()));
          if (!many && res->empty())
            return reply(error_response(500, "internal",
                                        "the store stored no job"));
          std::string body;
          if (minimal)
            body = many ? ids_json(*res) : id_json(res->front());
          else
            body = many ? "{\"jobs\":" + jobs_json(*res, true) + "}"
                        : job_to_json(res->front(), true);
          // 201 when something was created; 200 when every job asked for
          // was a duplicate (an existing job with the same unique key).
          bool created = std::any_of(res->begin(), res->end(),
                                     [](const job& j) { return !j.duplicate; });
          auto out = json_response(created ? 201 : 200, std::move(body));
          if (!many)
            out.set(http::field::location, "/api/jobs/" + res->front().id);
          if (minimal)
            out.set("Preference-Applied", "return=minimal");
          reply(std::move(out));
        }});
      return;
    }
    case route_id::get_job:
      if (!is_job_id(req.param))
        return reply(no_such_job(req.param));
      ask_reader<job>(c, reply_job(std::move(reply)), caf::get_atom::value,
                      req.param);
      return;
    case route_id::job_attempts: {
      if (!is_job_id(req.param))
        return reply(no_such_job(req.param));
      ask_reader<attempt_history>(
        c,
        [reply, id = req.param](caf::expected<attempt_history> res) {
          if (!res)
            return reply(store_error_response(res.error()));
          reply(json_response(200, attempts_json(id, *res)));
        },
        attempts_atom::value, req.param);
      return;
    }
    case route_id::list_workers: {
      ask_reader<worker_list>(
        c,
        [reply](caf::expected<worker_list> res) {
          if (!res)
            return reply(store_error_response(res.error()));
          reply(json_response(200, workers_json(*res)));
        },
        workers_atom::value);
      return;
    }
    case route_id::patch_job: {
      if (!is_job_id(req.param))
        return reply(no_such_job(req.param));
      job_patch patch;
      if (auto e = parse_patch_body(req.body, limits_of(c), patch))
        return reply(from_input_error(*e));
      ask_store<job>(c, reply_job(std::move(reply)), caf::update_atom::value,
                     req.param, std::move(patch));
      return;
    }
    case route_id::delete_job: {
      if (!is_job_id(req.param))
        return reply(no_such_job(req.param));
      ask_store<bool>(
        c,
        [reply](caf::expected<bool> res) {
          if (!res)
            return reply(store_error_response(res.error()));
          // Streams hear of it from the change feed, as of any deletion.
          http_response out{http::status::no_content, 11};
          reply(std::move(out));
        },
        caf::delete_atom::value, req.param);
      return;
    }
    case route_id::retry_job:
      if (!is_job_id(req.param))
        return reply(no_such_job(req.param));
      ask_store<job>(c, reply_job(std::move(reply)), retry_atom::value,
                     req.param);
      return;
    case route_id::cancel_job: {
      if (!is_job_id(req.param))
        return reply(no_such_job(req.param));
      std::string note;
      if (auto e = parse_cancel_body(req.body, limits_of(c), note))
        return reply(from_input_error(*e));
      ask_store<job>(c, reply_job(std::move(reply)), cancel_atom::value,
                     req.param, std::move(note));
      return;
    }
    case route_id::bulk_jobs: {
      bulk_request br;
      if (auto e = parse_bulk_body(req.body, limits_of(c), br))
        return reply(from_input_error(*e));
      // A type this server runs, as for a list: a typo must not match
      // nothing (and say so only after the work was asked for).
      if (auto err = validate_bulk(br, c.handlers->types()))
        return reply(store_error_response(err));
      ask_store<bulk_result>(
        c,
        [reply](caf::expected<bulk_result> res) {
          if (!res)
            return reply(store_error_response(res.error()));
          reply(json_response(200, bulk_json(*res)));
        },
        bulk_atom::value, std::move(br));
      return;
    }
    case route_id::pause_type: {
      // Only a type this server knows: a typo must not pause nothing.
      auto types = c.handlers->types();
      if (std::find(types.begin(), types.end(), req.param) == types.end())
        return reply(no_such_type(req.param, types));
      std::string note;
      if (auto e = parse_pause_body(req.body, limits_of(c), note))
        return reply(from_input_error(*e));
      ask_store<type_pause>(
        c,
        [reply](caf::expected<type_pause> res) {
          if (!res)
            return reply(store_error_response(res.error()));
          reply(json_response(200, pause_json(*res)));
        },
        pause_atom::value, req.param, std::move(note));
      return;
    }
    case route_id::resume_type: {
      // Any type name: a type paused by an older configuration can be
      // resumed too.
      if (auto err = validate_pause(req.param, ""))
        return reply(no_such_type(req.param, c.handlers->types()));
      ask_store<bool>(
        c,
        [reply, type = req.param](caf::expected<bool> res) {
          if (!res)
            return reply(store_error_response(res.error()));
          std::string out = "{\"type\":";
          append_json_string(out, type);
          out += ",\"paused\":false,\"wasPaused\":";
          out += *res ? "true}" : "false}";
          reply(json_response(200, std::move(out)));
        },
        resume_atom::value, req.param);
      return;
    }
    case route_id::list_schedules: {
      ask_store<std::vector<schedule>>(
        c,
        [reply](caf::expected<std::vector<schedule>> res) {
          if (!res)
            return reply(store_error_response(res.error()));
          auto now = wall_now();
          std::string out = "{\"schedules\":[";
          for (size_t i = 0; i < res->size(); ++i) {
            if (i > 0)
              out += ',';
            out += schedule_json((*res)[i], now);
          }
          out += "]}";
          reply(json_response(200, std::move(out)));
        },
        schedules_atom::value);
      return;
    }
    case route_id::get_schedule: {
      ask_store<std::vector<schedule>>(
        c,
        [reply, name = req.param](caf::expected<std::vector<schedule>> res) {
          if (!res)
            return reply(store_error_response(res.error()));
          for (auto& s : *res)
            if (s.name == name)
              return reply(json_response(200, schedule_json(s, wall_now())));
          reply(store_error_response(no_such_schedule(name)));
        },
        schedules_atom::value);
      return;
    }
    case route_id::put_schedule: {
      schedule s;
      s.name = req.param;
      s.source = "api";
      if (auto err = validate_schedule_name(s.name))
        return reply(store_error_response(err));
      if (auto e = parse_schedule_body(req.body, *c.handlers, limits_of(c), s))
        return reply(from_input_error(*e));
      ask_store<schedule>(
        c,
        [reply](caf::expected<schedule> res) {
          if (!res)
            return reply(store_error_response(res.error()));
          // 201 for a new schedule, 200 for a redefinition.
          bool created = res->created_at == res->updated_at;
          auto out = json_response(created ? 201 : 200,
                                   schedule_json(*res, wall_now()));
          if (created)
            out.set(http::field::location, "/api/schedules/" + res->name);
          reply(std::move(out));
        },
        schedules_atom::value, std::move(s));
      return;
    }
    case route_id::delete_schedule: {
      ask_store<bool>(
        c,
        [reply, name = req.param](caf::expected<bool> res) {
          if (!res)
            return reply(store_error_response(res.error()));
          if (!*res)
            return reply(store_error_response(no_such_schedule(name)));
          reply(http_response{http::status::no_content, 11});
        },
        schedules_atom::value, caf::delete_atom::value, req.param);
      return;
    }
    case route_id::pause_schedule:
    case route_id::resume_schedule:
      ask_store<schedule>(c, reply_schedule(std::move(reply)),
                          schedules_atom::value, pause_atom::value, req.param,
                          r.id == route_id::pause_schedule);
      return;
    case route_id::run_schedule: {
      // Run now: a job from the schedule as it is, paused or not.
      ask_store<std::vector<job>>(
        c,
        [reply, name = req.param](caf::expected<std::vector<job>> res) {
          if (!res)
            return reply(store_error_response(res.error()));
          if (res->empty())
            return reply(store_error_response(no_such_schedule(name)));
          auto out = json_response(201, job_to_json(res->front(), true));
          out.set(http::field::location, "/api/jobs/" + res->front().id);
          reply(std::move(out));
        },
        schedules_atom::value, run_atom::value, req.param, wall_now(), true);
      return;
    }
    case route_id::dashboard:
      return serve_asset(req, "index.html", reply);
    case route_id::dashboard_asset:
      // Only the files the page loads; the others have their own routes.
      if (req.param != "app.js" && req.param != "app.css")
        return reply(error_response(404, "not_found",
                                    "no dashboard file '" + req.param
                                      + "' (the files are app.js and "
                                        "app.css)"));
      return serve_asset(req, req.param, reply);
    case route_id::client_js:
      return serve_asset(req, "jobs-client.js", reply);
    case route_id::client_types:
      return serve_asset(req, "jobs-client.d.ts", reply);
    case route_id::openapi:
      return serve_asset(req, "openapi.yaml", reply);
    case route_id::events:
      break;
    case route_id::worker_fetch: // handle_worker_request, above
    case route_id::worker_heartbeat:
    case route_id::worker_complete:
    case route_id::worker_complete_all:
    case route_id::worker_fail:
      break;
  }
  reply(error_response(500, "internal", "route not handled"));
}

} // namespace jobd
