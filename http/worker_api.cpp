// The worker protocol (see worker_api.hpp): parsing is in job_input.cpp
// (one validator for every body), the fenced operations in the store actor;
// here the checks that need the server (external types, lease defaults),
// the long poll and the replies.
#include "http/worker_api.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <unordered_map>

#include "actors/log.hpp"
#include "http/job_input.hpp"
#include "http/job_json.hpp"
#include "storage/errors.hpp"
#include "storage/json_text.hpp"

namespace jobd {

namespace {

using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

/// How often a waiting fetch tries again without being woken (a retry
/// coming due, a wake-up missed): at most this long after a job is due.
constexpr auto recheck_every = std::chrono::milliseconds{1000};

} // namespace

/// A fetch waiting for work. Its claims run one at a time (busy); a wake-up
/// during one runs another after it (again). Every claim's jobs reach the
/// client: only a claim's answer ends the fetch (done), so no job is taken
/// for a fetch that already answered.
struct parked_fetch {
  worker_fetch req;
  ms_t lease_ms = 0;
  reply_fn reply;
  steady::time_point deadline;
  std::atomic<bool> done{false};
  std::atomic<bool> busy{false};
  std::atomic<bool> again{false};
};

class worker_waiters {
public:
  void add(std::shared_ptr<parked_fetch> p) {
    std::lock_guard<std::mutex> guard{mtx_};
    list_.push_back(std::move(p));
  }
  void remove(const parked_fetch* p) {
    std::lock_guard<std::mutex> guard{mtx_};
    list_.erase(std::remove_if(list_.begin(), list_.end(),
                               [p](const auto& x) { return x.get() == p; }),
                list_.end());
  }
  /// The waiting fetches that want jobs of `type`.
  std::vector<std::shared_ptr<parked_fetch>> wanting(const std::string& type) {
    std::vector<std::shared_ptr<parked_fetch>> out;
    std::lock_guard<std::mutex> guard{mtx_};
    for (auto& p : list_)
      if (std::find(p->req.types.begin(), p->req.types.end(), type)
          != p->req.types.end())
        out.push_back(p);
    return out;
  }
  int64_t size() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return static_cast<int64_t>(list_.size());
  }

private:
  mutable std::mutex mtx_;
  std::vector<std::shared_ptr<parked_fetch>> list_;
};

/// The external workers this server has heard from, so that each one's
/// sighting (job_store::see_workers) is written at most every
/// worker_seen_every_ms, and at once when it is new here or names another
/// host or other types. Bounded: workers silent for worker_forget_ms are
/// dropped, and all of them past max_entries (then each is written again
/// at its next call).
class worker_roster {
public:
  /// The sighting of `id` to write now, if one is due; `fresh` is set when
  /// the worker is new here or its host or types changed (a fetch then
  /// waits for the write, so the worker is listed once it has its jobs).
  /// `types` null: not said (calls other than fetch).
  std::optional<worker_info> note(const std::string& id,
                                  const std::string& host,
                                  const std::vector<std::string>* types,
                                  bool& fresh) {
    auto now = steady::now();
    std::lock_guard<std::mutex> guard{mtx_};
    if (seen_.size() >= max_entries) {
      auto forget = now - std::chrono::milliseconds{worker_forget_ms};
      for (auto i = seen_.begin(); i != seen_.end();)
        i = i->second.written < forget ? seen_.erase(i) : std::next(i);
      if (seen_.size() >= max_entries)
        seen_.clear();
    }
    auto [it, added] = seen_.try_emplace(id);
    auto& e = it->second;
    fresh = added || (!host.empty() && host != e.host)
            || (types && *types != e.types);
    if (!fresh
        && now - e.written < std::chrono::milliseconds{worker_seen_every_ms})
      return std::nullopt;
    if (!host.empty())
      e.host = host;
    if (types)
      e.types = *types;
    e.written = now;
    worker_info w;
    w.id = id;
    w.host = host;
    if (types)
      w.types = *types;
    return w;
  }

private:
  static constexpr size_t max_entries = 10'000;
  struct entry {
    std::string host;
    std::vector<std::string> types;
    steady::time_point written;
  };
  std::mutex mtx_;
  std::unordered_map<std::string, entry> seen_;
};

namespace {

/// Writes a sighting of `worker` when one is due (see worker_roster), then
/// runs `then`: at once, or, for a fetch (`types` given) of a worker new
/// here, after the write (whatever its outcome: the list of workers is
/// for people; the jobs do not wait on it).
void saw_worker(const std::shared_ptr<server_context>& ctx,
                const std::string& worker, const std::string& host,
                const std::vector<std::string>* types,
                std::function<void()> then = {}) {
  bool fresh = false;
  auto w = ctx->roster ? ctx->roster->note(worker, host, types, fresh)
                       : std::nullopt;
  if (!w) {
    if (then)
      then();
    return;
  }
  bool wait = fresh && types && then;
  std::function<void()> after = wait ? then : std::function<void()>{};
  ask_store<bool>(
    *ctx,
    [after, worker](caf::expected<bool> res) {
      if (!res)
        log_event(log_level::warn, "worker sighting not recorded",
                  {{"worker", worker}, {"error", message_of(res.error())}});
      if (after)
        after();
    },
    workers_atom::value, std::vector<worker_info>{std::move(*w)});
  if (!wait && then)
    then();
}

std::string fetched_json(const std::vector<job>& jobs) {
  std::string out = "{\"jobs\":[";
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (i > 0)
      out += ',';
    out += job_to_json(jobs[i]);
  }
  out += "]}";
  return out;
}

http_response refused(const input_error& e) {
  return error_response(e.status, e.code, e.message,
                        std::optional<std::string>{e.field});
}

http_response not_held(const std::string& worker, const lease_ref& ref) {
  return error_response(
    409, "conflict",
    "worker '" + worker + "' does not hold attempt "
      + std::to_string(ref.attempt) + " of job '" + ref.id
      + "' (it was cancelled or settled by hand, its lease ran out and it "
        "went to another worker, or it was deleted): drop the job; nothing "
        "was changed");
}

// A claim for the fetch; `last` answers even with no job (the wait is over).
void try_fetch(const std::shared_ptr<server_context>& ctx,
               const std::shared_ptr<parked_fetch>& p, bool last);

void arm_recheck(const std::shared_ptr<server_context>& ctx,
                 const std::shared_ptr<parked_fetch>& p) {
  auto now = steady::now();
  bool last = now + recheck_every >= p->deadline;
  auto wait = last ? p->deadline - now : steady::duration{recheck_every};
  std::weak_ptr<server_context> weak = ctx;
  // Rounded up (and a millisecond more: timers may fire a little early),
  // so the last claim never comes before the wait is over.
  run_on_gateway_later(
    *ctx, std::chrono::ceil<std::chrono::milliseconds>(wait) + 1ms,
    [weak, p, last](caf::event_based_actor*) {
      auto c = weak.lock();
      if (!c || p->done)
        return;
      // A worker waiting here is still there (GET /api/workers).
      saw_worker(c, p->req.worker, {}, nullptr);
      try_fetch(c, p, last);
      if (!last)
        arm_recheck(c, p); // the next recheck, or the end of the wait
    });
}

void try_fetch(const std::shared_ptr<server_context>& ctx,
               const std::shared_ptr<parked_fetch>& p, bool last) {
  if (p->done)
    return;
  if (p->busy.exchange(true)) {
    p->again = true;
    return;
  }
  std::weak_ptr<server_context> weak = ctx;
  ask_store<std::vector<job>>(
    *ctx,
    [weak, p, last](caf::expected<std::vector<job>> res) {
      auto c = weak.lock();
      bool over = last || steady::now() >= p->deadline || !c
                  || c->stopping;
      if (!res || !res->empty() || over) {
        p->done = true;
        if (c && c->waiters)
          c->waiters->remove(p.get());
        if (!res)
          p->reply(store_error_response(res.error()));
        else
          p->reply(json_response(200, fetched_json(*res)));
        return;
      }
      p->busy = false;
      // Woken while this claim ran: the job may have come just after it.
      if (p->again.exchange(false))
        try_fetch(c, p, false);
    },
    claim_atom::value, p->req.worker, p->req.types, p->req.max, p->lease_ms);
}

// The types a worker may ask for: external ones. Refusal names the field.
std::optional<input_error> check_types(const server_context& ctx,
                                       const worker_fetch& f) {
  auto external = ctx.handlers->external_types();
  for (size_t i = 0; i < f.types.size(); ++i) {
    if (std::find(external.begin(), external.end(), f.types[i])
        != external.end())
      continue;
    std::string list;
    for (auto& t : external)
      list += (list.empty() ? "" : ", ") + t;
    input_error e;
    e.field = "types[" + std::to_string(i) + "]";
    e.message = e.field + " '" + f.types[i]
                + "' is not a type served by external workers ("
                + (list.empty() ? std::string{"none is: declare one with "
                                              "[types.NAME] handler = "
                                              "external"}
                                : "they are " + list)
                + ")";
    return e;
  }
  return std::nullopt;
}

void fetch(const std::shared_ptr<server_context>& ctx, const api_request& req,
           reply_fn reply) {
  auto p = std::make_shared<parked_fetch>();
  if (auto e = parse_worker_fetch(req.body, limits_of(*ctx), p->req))
    return reply(refused(*e));
  if (auto e = check_types(*ctx, p->req))
    return reply(refused(*e));
  p->lease_ms = p->req.lease_ms; // 0: the store actor's lease
  p->reply = std::move(reply);
  auto host = p->req.host.empty() ? req.peer : p->req.host;
  saw_worker(ctx, p->req.worker, host, &p->req.types, [ctx, p] {
    p->deadline = steady::now() + std::chrono::milliseconds{p->req.wait_ms};
    if (p->req.wait_ms == 0)
      return try_fetch(ctx, p, true);
    // Waiting: parked before the first claim, so a job enqueued meanwhile
    // wakes it (a wake-up during the claim runs another).
    ctx->waiters->add(p);
    try_fetch(ctx, p, false);
    arm_recheck(ctx, p);
  });
}

void complete(const std::shared_ptr<server_context>& ctx,
              const api_request& req, reply_fn reply) {
  worker_report r;
  if (auto e = parse_worker_report(req.body, limits_of(*ctx), false, r))
    return reply(refused(*e));
  saw_worker(ctx, r.worker, {}, nullptr);
  ask_store<bool>(
    *ctx,
    [r, reply](caf::expected<bool> res) {
      if (!res)
        return reply(store_error_response(res.error()));
      if (!*res)
        return reply(not_held(r.worker, r.ref));
      reply(json_response(200, "{\"id\":" + json_string(r.ref.id)
                                 + ",\"status\":\"COMPLETED\"}"));
    },
    complete_atom::value, r.worker, r.ref, r.result);
}

void complete_all(const std::shared_ptr<server_context>& ctx,
                  const api_request& req, reply_fn reply) {
  worker_completions w;
  if (auto e = parse_worker_completions(req.body, limits_of(*ctx), w))
    return reply(refused(*e));
  saw_worker(ctx, w.worker, {}, nullptr);
  ask_store<std::vector<std::string>>(
    *ctx,
    [w, reply](caf::expected<std::vector<std::string>> res) {
      if (!res)
        return reply(store_error_response(res.error()));
      std::string completed, lost;
      for (auto& c : w.jobs) {
        bool done = std::find(res->begin(), res->end(), c.ref.id) != res->end();
        auto& list = done ? completed : lost;
        if (!list.empty())
          list += ',';
        append_json_string(list, c.ref.id);
      }
      reply(json_response(200, "{\"completed\":[" + completed
                                 + "],\"lost\":[" + lost + "]}"));
    },
    complete_atom::value, w.worker, w.jobs);
}

void fail(const std::shared_ptr<server_context>& ctx, const api_request& req,
          reply_fn reply) {
  worker_report r;
  if (auto e = parse_worker_report(req.body, limits_of(*ctx), true, r))
    return reply(refused(*e));
  saw_worker(ctx, r.worker, {}, nullptr);
  ask_store<fail_outcome>(
    *ctx,
    [r, reply](caf::expected<fail_outcome> res) {
      if (!res)
        return reply(store_error_response(res.error()));
      if (!res->applied)
        return reply(not_held(r.worker, r.ref));
      std::string out = "{\"id\":" + json_string(r.ref.id) + ",\"status\":\""
                        + to_string(res->status) + "\",\"retryCount\":"
                        + std::to_string(res->retry_count)
                        + ",\"scheduledFor\":";
      if (res->status == job_status::pending)
        append_json_string(out, format_time(res->scheduled_for));
      else
        out += "null";
      out += '}';
      reply(json_response(200, std::move(out)));
    },
    fail_atom::value, r.worker, r.ref, r.error, !r.retryable,
    r.retry_after_ms);
}

void heartbeat(const std::shared_ptr<server_context>& ctx,
               const api_request& req, reply_fn reply) {
  worker_beat b;
  if (auto e = parse_worker_beat(req.body, limits_of(*ctx), b))
    return reply(refused(*e));
  saw_worker(ctx, b.worker, {}, nullptr);
  auto lease = b.lease_ms; // 0: the store actor's lease
  ask_store<std::vector<std::string>>(
    *ctx,
    [b, reply](caf::expected<std::vector<std::string>> res) {
      if (!res)
        return reply(store_error_response(res.error()));
      std::string renewed, lost;
      for (auto& ref : b.jobs) {
        bool kept = std::find(res->begin(), res->end(), ref.id) != res->end();
        auto& list = kept ? renewed : lost;
        if (!list.empty())
          list += ',';
        append_json_string(list, ref.id);
      }
      reply(json_response(200, "{\"renewed\":[" + renewed + "],\"lost\":["
                                 + lost + "]}"));
    },
    heartbeat_atom::value, b.worker, b.jobs, lease);
}

} // namespace

std::shared_ptr<worker_waiters> start_worker_waiters(server_context& ctx) {
  ctx.roster = std::make_shared<worker_roster>();
  auto w = std::make_shared<worker_waiters>();
  std::weak_ptr<worker_waiters> weak = w;
  // Called on the store's thread, once per changed job: only a job that is
  // waiting to run can satisfy a fetch. Kicks run on the gateways.
  auto ctx_ptr = &ctx;
  auto kick = [weak, ctx_ptr](const job& j) {
    if (j.status != job_status::pending)
      return;
    auto waiters = weak.lock();
    if (!waiters)
      return;
    auto wanting = waiters->wanting(j.type);
    if (wanting.empty())
      return;
    auto self = ctx_ptr->self.lock();
    if (!self)
      return;
    for (auto& p : wanting)
      try_fetch(self, p, false);
  };
  caf::anon_send(ctx.store, caf::subscribe_atom::value, change_observer{kick});
  caf::anon_send(ctx.store, caf::subscribe_atom::value,
                 feed_observer{[weak] {
                                 auto w = weak.lock();
                                 return w && w->size() > 0;
                               },
                               [kick](const change_page& page) {
                                 for (auto& c : page.changes)
                                   if (!c.deleted)
                                     kick(c.job);
                               }});
  return w;
}

int64_t waiting_fetches(const server_context& ctx) {
  return ctx.waiters ? ctx.waiters->size() : 0;
}

bool is_worker_route(route_id id) {
  return id == route_id::worker_fetch || id == route_id::worker_heartbeat
         || id == route_id::worker_complete
         || id == route_id::worker_complete_all
         || id == route_id::worker_fail;
}

void handle_worker_request(const std::shared_ptr<server_context>& ctx,
                           route_id id, const api_request& req,
                           reply_fn reply) {
  switch (id) {
    case route_id::worker_fetch:
      return fetch(ctx, req, std::move(reply));
    case route_id::worker_heartbeat:
      return heartbeat(ctx, req, std::move(reply));
    case route_id::worker_complete:
      return complete(ctx, req, std::move(reply));
    case route_id::worker_fail:
      return fail(ctx, req, std::move(reply));
    case route_id::worker_complete_all:
      return complete_all(ctx, req, std::move(reply));
    default:
      return reply(error_response(500, "internal", "not a worker route"));
  }
}

} // namespace jobd
