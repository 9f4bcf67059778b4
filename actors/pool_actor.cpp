// Behaviour of the handler pool (duties: pool_state.hpp).
#include "actors/pool_state.hpp"

#include "actors/handler_state.hpp"
#include "actors/log.hpp"
#include "actors/write_retry.hpp"
#include "storage/errors.hpp"

#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace jobd {

namespace {

void spawn_handler(pool_ptr self) {
  auto& st = self->state;
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  auto progress = std::make_shared<progress_slot>();
  pool_actor me{self};
  handler_actor h;
  if (st.cfg.detached)
    h = self->spawn<caf::detached>(handler_fn, me, st.registry, cancel,
                                   progress, st.cfg.ledger_path);
  else
    h = self->spawn(handler_fn, me, st.registry, cancel, progress,
                    st.cfg.ledger_path);
  self->monitor(h);
  st.generation_of[h.address()] = st.generation;
  st.all_handlers->push_back(h);
  st.cancel_flags[h.address()] = cancel;
  st.progress_slots[h.address()] = progress;
  st.idle.push_back(h);
}

// Handlers alive and not retiring: the pool's current size.
int32_t live_handlers(const pool_state& st) {
  return static_cast<int32_t>(st.all_handlers->size() - st.retiring.size());
}

// Tells an idle (or just finished) handler to exit; its down message then
// removes it without a replacement.
void retire(pool_ptr self, const handler_actor& h) {
  auto& st = self->state;
  st.idle.erase(std::remove(st.idle.begin(), st.idle.end(), h), st.idle.end());
  st.retiring.insert(h.address());
  self->send_exit(h, caf::exit_reason::user_shutdown);
}

// Spawns handlers until the pool has its configured size.
void top_up(pool_ptr self) {
  auto& st = self->state;
  while (!st.stopping && live_handlers(st) < st.cfg.workers)
    spawn_handler(self);
}

// A handler that finished a job: idle again, unless the pool shrank or
// its handlers were replaced meanwhile.
void handler_free(pool_ptr self, const handler_actor& h) {
  auto& st = self->state;
  if (st.generation_of[h.address()] != st.generation
      || live_handlers(st) > st.cfg.workers)
    retire(self, h);
  else
    st.idle.push_back(h);
}

// Now in microseconds by the pool's run clock (see pool_config).
int64_t now_us(const pool_state& st) {
  if (st.cfg.run_clock)
    return st.cfg.run_clock->now_ms() * 1000;
  using namespace std::chrono;
  return duration_cast<microseconds>(steady_clock::now().time_since_epoch())
    .count();
}

// Now by the fencing clock (pool_config::clock), ms.
ms_t fence_now(const pool_state& st) {
  return st.cfg.clock ? st.cfg.clock->now_ms()
                      : system_clock_source{}.now_ms();
}

// A lease extended at `at` must be given up by this time (duty 3a).
ms_t fence_deadline(const pool_state& st, ms_t at) {
  auto margin = st.cfg.fence_margin_ms > 0 ? st.cfg.fence_margin_ms
                                           : st.cfg.lease_ms / 6;
  return at + st.cfg.lease_ms - margin;
}

void count(const pool_state& st, std::atomic<int64_t> worker_counters::*c,
           int64_t n = 1) {
  if (st.cfg.counters && n > 0)
    (*st.cfg.counters.*c) += n;
}

// Stops a running job whose lease is gone or could not be renewed: its
// handler is told to cancel and its outcome will be dropped (duty 3a).
// Stops a running job (once): its handler is told to cancel and its
// outcome will be dropped; logged as `event` at `level` with `why`.
void stop_running(pool_state::running& r, log_level level, const char* event,
                  const std::string& why) {
  if (r.fenced)
    return;
  r.fenced = true;
  r.cancel->store(true);
  log_event(level, event,
            {{"id", r.j.id}, {"type", r.j.type},
             log_num("attempt", r.j.attempt), {"worker", r.j.locked_by},
             {"why", why}});
}

void fence(pool_state::running& r, const std::string& why) {
  stop_running(r, log_level::warn, "job fenced",
               why + "; stopping it so it cannot run twice (its outcome "
                     "will not be recorded)");
}

// Arms the fencing check while jobs are held, often enough to stop a job
// well within the margin (a quarter of it, 10 ms .. 1 s).
void arm_fence(pool_ptr self) {
  auto& st = self->state;
  if (st.fence_timer || (st.busy.empty() && st.queue.empty()))
    return;
  st.fence_timer = true;
  auto margin = st.cfg.lease_ms - fence_deadline(st, 0);
  auto every = std::clamp<ms_t>(margin / 4, 10, 1'000);
  // Sooner for a timeout due before then (duty 3c).
  auto now = fence_now(st);
  for (auto& kv : st.busy)
    if (kv.second.timeout_at > 0 && !kv.second.fenced)
      every = std::clamp<ms_t>(kv.second.timeout_at - now, 1, every);
  self->delayed_send(self, std::chrono::milliseconds(every),
                     fence_atom::value);
}

// Arms the progress timer while jobs run (duty 3b).
void arm_progress(pool_ptr self) {
  auto& st = self->state;
  if (st.progress_timer || st.busy.empty() || st.cfg.progress_interval_ms <= 0)
    return;
  st.progress_timer = true;
  self->delayed_send(self, std::chrono::milliseconds(st.cfg.progress_interval_ms),
                     progress_atom::value);
}

// The report `r`'s handler made since the last one stored, if any.
std::optional<progress_update> fresh_progress(pool_state::running& r) {
  if (r.fenced || !r.progress)
    return std::nullopt;
  auto got = r.progress->take();
  if (!got)
    return std::nullopt;
  return progress_update{lease_ref{r.j.id, r.j.attempt}, got->first,
                         std::move(got->second)};
}

// Stores progress reports; `timer` marks the timer's write (one in flight).
void store_progress(pool_ptr self, std::vector<progress_update> updates,
                    bool timer) {
  if (updates.empty())
    return;
  if (timer)
    self->state.storing_progress = true;
  self->request(self->state.store, caf::infinite, progress_atom::value,
                std::move(updates))
    .then(
      [=](std::vector<std::string>&) {
        if (timer)
          self->state.storing_progress = false;
      },
      [=](caf::error& err) {
        // Progress is advisory: the next report replaces this one.
        if (timer)
          self->state.storing_progress = false;
        log_event(log_level::debug, "progress not stored",
                  {{"why", message_of(err)}});
      });
}

// The timeout of a job (duty 3c): its own, else its type's, else the
// pool's; 0 = none.
ms_t timeout_of(const pool_state& st, const job& j) {
  if (j.timeout_ms > 0)
    return j.timeout_ms;
  auto t = st.cfg.timeout_by_type.find(j.type);
  if (t != st.cfg.timeout_by_type.end() && t->second > 0)
    return t->second;
  return st.cfg.job_timeout_ms;
}

bool type_has_room(pool_state& st, const std::string& type) {
  auto h = st.registry->find(type);
  if (!h || h->max_concurrency() <= 0)
    return true;
  return st.running_by_type[type] < h->max_concurrency();
}

void tell_free_slots(pool_ptr self, int32_t n) {
  if (self->state.scheduler && n != 0)
    caf::anon_send(self->state.scheduler, slots_atom::value, n);
}

// Starts queued jobs on idle handlers, oldest first, skipping jobs whose
// type is at its concurrency limit.
void dispatch(pool_ptr self) {
  auto& st = self->state;
  for (auto i = st.queue.begin(); i != st.queue.end() && !st.idle.empty();) {
    if (!type_has_room(st, i->j.type)) {
      ++i;
      continue;
    }
    auto h = st.idle.back();
    st.idle.pop_back();
    auto& flag = st.cancel_flags[h.address()];
    flag->store(false);
    auto& progress = st.progress_slots[h.address()];
    progress->reset();
    st.running_by_type[i->j.type] += 1;
    auto& r = st.busy[h.address()]
      = pool_state::running{i->j,       flag, progress, h,
                            now_us(st), i->deadline};
    r.timeout_ms = timeout_of(st, i->j);
    if (r.timeout_ms > 0)
      r.timeout_at = fence_now(st) + r.timeout_ms;
    self->send(h, run_atom::value, std::move(i->j));
    i = st.queue.erase(i);
  }
  arm_progress(self);
  arm_fence(self); // also watches the timeouts of the jobs just started
}

// Once nothing runs any more during shutdown, take the final step (the
// release_atom handler) now instead of at the deadline.
void maybe_finish_shutdown(pool_ptr self) {
  auto& st = self->state;
  if (st.stopping && st.busy.empty() && st.shutdown_rp.pending()
      && !st.finishing)
    self->send(self, release_atom::value);
}

// A handler is free again after running `r`.
void finished(pool_ptr self, const pool_state::running& r) {
  auto& st = self->state;
  auto& n = st.running_by_type[r.j.type];
  if (n > 0)
    --n;
  tell_free_slots(self, 1);
}

// The prefetch allowance now (duty 2a): workers x prefetch_wait / the mean
// run time, at most cfg.prefetch; none before a job finished.
int32_t allowance_of(const pool_state& st) {
  if (st.stopping || st.cfg.prefetch <= 0 || st.mean_run_us < 0)
    return 0;
  auto budget = static_cast<double>(st.cfg.workers)
                * static_cast<double>(st.cfg.prefetch_wait_ms) * 1000.0
                / std::max(st.mean_run_us, 1.0);
  return static_cast<int32_t>(
    std::min(budget, static_cast<double>(st.cfg.prefetch)));
}

void release_jobs(pool_ptr self, std::vector<lease_ref> refs);

// Tells the scheduler of a change of the allowance.
void update_allowance(pool_ptr self) {
  auto& st = self->state;
  auto next = allowance_of(st);
  if (next == st.allowance)
    return;
  tell_free_slots(self, next - st.allowance);
  st.allowance = next;
}

// Hands back the queued jobs beyond workers + allowance, newest first, once
// the oldest has waited over hand_back_after_ms: jobs turned slow, and
// other workers can run these meanwhile (duty 2a).
void hand_back_stale(pool_ptr self) {
  auto& st = self->state;
  if (st.stopping || st.queue.empty()
      || now_us(st) - st.queue.front().since_us
           <= pool_state::hand_back_after_ms * 1000)
    return;
  auto held = st.busy.size() + st.queue.size();
  auto capacity = static_cast<size_t>(std::max(st.cfg.workers + st.allowance,
                                               0));
  std::vector<lease_ref> refs;
  while (held > capacity && !st.queue.empty()) {
    auto& j = st.queue.back().j;
    refs.push_back(lease_ref{j.id, j.attempt});
    st.queue.pop_back();
    --held;
  }
  if (refs.empty())
    return;
  log_line("handing back " + std::to_string(refs.size())
           + " prefetched job(s): the oldest waited over "
           + std::to_string(pool_state::hand_back_after_ms / 1000) + " s");
  tell_free_slots(self, static_cast<int32_t>(refs.size()));
  release_jobs(self, std::move(refs));
}

// A job ran for `us` microseconds: fold it into the mean run time (1/8
// weight).
void note_run_time(pool_state& st, int64_t run_us) {
  auto us = static_cast<double>(std::max<int64_t>(run_us, 0));
  st.mean_run_us = st.mean_run_us < 0 ? us : st.mean_run_us
                                               + (us - st.mean_run_us) / 8;
}

std::vector<lease_ref> refs_of(const pool_state& st, bool include_queue) {
  std::vector<lease_ref> refs;
  for (auto& kv : st.busy)
    refs.push_back(lease_ref{kv.second.j.id, kv.second.j.attempt});
  if (include_queue)
    for (auto& q : st.queue)
      refs.push_back(lease_ref{q.j.id, q.j.attempt});
  return refs;
}

// Writes a completion. A transient store error (the database restarting,
// the file locked) is retried with backoff for about a minute, so the
// outcome is kept; fencing makes a repeat harmless. If it still fails,
// the lease runs out and the job runs again: at least once.
void record_completion(pool_ptr self, lease_ref ref, std::string result,
                       int32_t tries) {
  self->request(self->state.store, caf::infinite, complete_atom::value, ref,
                result)
    .then([=](bool applied) {
            if (applied)
              return;
            count(self->state, &worker_counters::outcomes_refused);
            log_line("the completion of job " + ref.id + " (attempt "
                     + std::to_string(ref.attempt)
                     + ") was refused: the attempt no longer holds the job "
                       "(its lease ran out, or it was settled by hand)");
          },
          [=](caf::error& err) {
            if (is_transient(code_of(err)) && tries < outcome_write_tries) {
              self->delayed_send(self, outcome_retry_delay(tries),
                                 complete_atom::value, ref, result,
                                 tries + 1);
              return;
            }
            log_line("could not record completion of " + ref.id + ": "
                     + message_of(err));
          });
}

// Sends the completions gathered so far in one write, unless one is in
// flight (its reply sends the next). While stopping they go at once, so
// the final release (a barrier: the store answers writes in order) comes
// after them. A transient error retries each one on its own, as
// record_completion does.
void flush_completions(pool_ptr self) {
  auto& st = self->state;
  if ((st.completing && !st.stopping) || st.completions.empty())
    return;
  st.completing = true;
  auto batch = std::move(st.completions);
  st.completions.clear();
  self->request(st.store, caf::infinite, complete_atom::value, batch)
    .then(
      [=](int64_t applied) {
        auto refused = static_cast<int64_t>(batch.size()) - applied;
        if (refused > 0) {
          count(self->state, &worker_counters::outcomes_refused, refused);
          log_line(std::to_string(refused) + " of " + std::to_string(batch.size())
                   + " completion(s) refused: those attempts no longer hold "
                     "their jobs (leases ran out, or settled by hand)");
        }
        self->state.completing = false;
        flush_completions(self);
      },
      [=](caf::error& err) {
        self->state.completing = false;
        if (is_transient(code_of(err)))
          for (auto& c : batch)
            self->delayed_send(self, outcome_retry_delay(0),
                               complete_atom::value, c.ref, c.result,
                               int32_t{1});
        else
          log_line("could not record " + std::to_string(batch.size())
                   + " completion(s): " + message_of(err));
        flush_completions(self);
      });
}

// Drops the queued jobs `gone` picks (not started: nothing runs), each
// counted in `counter` and logged with `why`; their slots are free again.
template <class Pred>
void drop_queued(pool_ptr self, Pred gone,
                 std::atomic<int64_t> worker_counters::*counter,
                 const char* why) {
  auto& st = self->state;
  for (auto q = st.queue.begin(); q != st.queue.end();) {
    if (!gone(*q)) {
      ++q;
      continue;
    }
    count(st, counter);
    log_event(log_level::warn, "job dropped",
              {{"id", q->j.id}, {"type", q->j.type},
               log_num("attempt", q->j.attempt), {"worker", q->j.locked_by},
               {"why", why}});
    q = st.queue.erase(q);
    tell_free_slots(self, 1);
  }
}

// A heartbeat sent at `sent` for `refs` renewed `renewed_ids`: their
// deadlines move on; a job asked for but not renewed is someone else's now
// and stops (duty 3a).
void note_renewals(pool_ptr self, ms_t sent, const std::vector<lease_ref>& refs,
                   const std::vector<std::string>& renewed_ids) {
  auto& st = self->state;
  if (st.heartbeat_failing) {
    st.heartbeat_failing = false;
    log_line("heartbeats work again");
  }
  std::set<std::string> renewed(renewed_ids.begin(), renewed_ids.end());
  std::map<std::string, int32_t> asked;
  for (auto& r : refs)
    asked[r.id] = r.attempt;
  auto lost = [&](const job& j) {
    auto a = asked.find(j.id);
    return a != asked.end() && a->second == j.attempt
           && renewed.count(j.id) == 0;
  };
  auto until = fence_deadline(st, sent);
  for (auto& kv : st.busy) {
    auto& r = kv.second;
    if (r.timed_out) {
      // Its attempt failed (duty 3c): the lease is gone on purpose.
    } else if (lost(r.j)) {
      count(st, &worker_counters::leases_lost);
      fence(r, "its lease was not renewed (another worker or an operator "
               "holds the job now)");
    } else if (renewed.count(r.j.id) != 0) {
      r.deadline = std::max(r.deadline, until);
    }
  }
  drop_queued(
    self, [&](const pool_state::queued& q) { return lost(q.j); },
    &worker_counters::leases_lost,
    "its lease was not renewed before it started; dropped");
  for (auto& q : st.queue)
    if (renewed.count(q.j.id) != 0)
      q.deadline = std::max(q.deadline, until);
}

void release_jobs(pool_ptr self, std::vector<lease_ref> refs) {
  if (refs.empty())
    return;
  self->request(self->state.store, caf::infinite, release_atom::value,
                std::move(refs))
    .then([=](int64_t n) { self->state.released += n; },
          [=](caf::error& err) {
            // The leases run out instead and the jobs are rescued later.
            log_line("could not hand jobs back: " + message_of(err));
          });
}

// Renews the leases of the running and queued jobs (a heartbeat, by the
// timer or because a job was settled in another process): those renewed
// get a later deadline, the others stop (note_renewals).
void renew_leases(pool_ptr self) {
  auto& st = self->state;
  hand_back_stale(self);
  auto refs = refs_of(st, true);
  auto sent = fence_now(st);
  if (refs.empty())
    return;
  self->request(st.store, caf::infinite, heartbeat_atom::value, refs)
    .then(
      [=](std::vector<std::string>& renewed_ids) {
        note_renewals(self, sent, refs, renewed_ids);
      },
      [=](caf::error& err) {
        // One line per outage, not one per heartbeat.
        auto& st = self->state;
        if (st.heartbeat_failing)
          return;
        st.heartbeat_failing = true;
        log_line("heartbeats failing (" + message_of(err)
                 + "); running jobs stop once their leases can no "
                   "longer be renewed in time");
      });
}

} // namespace

pool_actor::behavior_type pool_fn(pool_ptr self, pool_config cfg,
                                  std::shared_ptr<const handler_registry> reg,
                                  store_actor store, retry_actor retry,
                                  scheduler_actor scheduler) {
  auto& st = self->state;
  st.cfg = cfg;
  st.registry = std::move(reg);
  st.store = std::move(store);
  st.retry = std::move(retry);
  st.scheduler = std::move(scheduler);
  for (int32_t i = 0; i < cfg.workers; ++i)
    spawn_handler(self);
  // Handlers end with their pool (a handler busy in a blocking job ends
  // when the job returns).
  self->attach_functor([handlers = st.all_handlers](const caf::error&) {
    for (auto& h : *handlers)
      caf::anon_send_exit(h, caf::exit_reason::user_shutdown);
  });
  self->set_down_handler([=](caf::down_msg& dm) {
    auto& st = self->state;
    auto addr = dm.source;
    st.idle.erase(std::remove_if(st.idle.begin(), st.idle.end(),
                                 [&](const handler_actor& h) {
                                   return h.address() == addr;
                                 }),
                  st.idle.end());
    st.cancel_flags.erase(addr);
    st.progress_slots.erase(addr);
    st.retiring.erase(addr);
    st.generation_of.erase(addr);
    auto& all = *st.all_handlers;
    all.erase(std::remove_if(all.begin(), all.end(),
                             [&](const handler_actor& h) {
                               return h.address() == addr;
                             }),
              all.end());
    auto i = st.busy.find(addr);
    if (i != st.busy.end()) {
      auto r = std::move(i->second);
      st.busy.erase(i);
      if (!st.stopping)
        self->send(st.retry, failed_atom::value, r.j,
                   outcome::failure("handler crashed: " + caf::to_string(dm.reason)));
      finished(self, r);
    }
    top_up(self);
    dispatch(self);
    maybe_finish_shutdown(self);
  });
  self->delayed_send(self, std::chrono::milliseconds(cfg.heartbeat_interval_ms),
                     heartbeat_atom::value);
  return {
    [=](run_atom, std::vector<job>& jobs) {
      auto& st = self->state;
      if (st.stopping) {
        std::vector<lease_ref> refs;
        for (auto& j : jobs)
          refs.push_back(lease_ref{j.id, j.attempt});
        release_jobs(self, std::move(refs));
        return;
      }
      auto deadline = fence_deadline(st, fence_now(st));
      if (log_enabled(log_level::debug))
        for (auto& j : jobs)
        {
          std::vector<log_field> fields{{"id", j.id},
                                        {"type", j.type},
                                        log_num("attempt", j.attempt),
                                        {"worker", j.locked_by}};
          if (log_payloads())
            fields.push_back(log_payload(j.payload));
          log_event(log_level::debug, "job claimed", fields);
        }
      for (auto& j : jobs)
        st.queue.push_back(
          pool_state::queued{std::move(j), now_us(st), deadline});
      dispatch(self);
      arm_fence(self);
    },
    [=](done_atom, outcome& out) {
      auto& st = self->state;
      auto sender = self->current_sender();
      auto i = sender ? st.busy.find(sender->address()) : st.busy.end();
      if (i == st.busy.end())
        return; // given up at the shutdown deadline: already handed back
      auto r = std::move(i->second);
      st.busy.erase(i);
      // Its last report goes before its outcome (duty 3b).
      if (auto last = fresh_progress(r))
        store_progress(self, {std::move(*last)}, false);
      handler_free(self, r.handler);
      auto run_us = now_us(st) - r.started_us;
      note_run_time(st, run_us);
      lease_ref ref{r.j.id, r.j.attempt};
      if (r.fenced) {
        // Stopped (duty 3a): another worker may hold the job by now.
      } else if (out.ok) {
        if (log_enabled(log_level::debug))
          log_event(log_level::debug, "job completed",
                    {{"id", r.j.id}, {"type", r.j.type},
                     log_num("attempt", r.j.attempt),
                     {"worker", r.j.locked_by},
                     log_num("duration_ms", run_us / 1000)});
        st.completions.push_back(completion{ref, std::move(out.result)});
        flush_completions(self);
      } else {
        self->send(st.retry, failed_atom::value, r.j, std::move(out));
      }
      finished(self, r);
      top_up(self);
      dispatch(self);
      update_allowance(self);
      hand_back_stale(self);
      maybe_finish_shutdown(self);
    },
    [=](complete_atom, lease_ref& ref, std::string& result, int32_t tries) {
      record_completion(self, std::move(ref), std::move(result), tries);
    },
    [=](cancel_atom, lease_ref& ref) {
      auto& st = self->state;
      auto same = [&](const job& j) {
        return j.id == ref.id && j.attempt == ref.attempt;
      };
      for (auto& kv : st.busy)
        if (same(kv.second.j))
          stop_running(kv.second, log_level::info, "job stopped",
                       "cancelled or settled by hand");
      drop_queued(
        self, [&](const pool_state::queued& q) { return same(q.j); },
        &worker_counters::jobs_fenced,
        "cancelled or settled by hand before it started; dropped");
    },
    [=](heartbeat_atom) {
      renew_leases(self);
      auto& st = self->state;
      self->delayed_send(self,
                         std::chrono::milliseconds(st.cfg.heartbeat_interval_ms),
                         heartbeat_atom::value);
    },
    [=](cancel_atom) { renew_leases(self); },
    [=](progress_atom) {
      auto& st = self->state;
      st.progress_timer = false;
      // One write in flight: reports made meanwhile wait for the next tick
      // (each slot keeps only the latest).
      if (!st.storing_progress) {
        std::vector<progress_update> updates;
        for (auto& kv : st.busy)
          if (auto u = fresh_progress(kv.second))
            updates.push_back(std::move(*u));
        store_progress(self, std::move(updates), true);
      }
      arm_progress(self);
    },
    [=](fence_atom) {
      auto& st = self->state;
      auto now = fence_now(st);
      for (auto& kv : st.busy) {
        auto& r = kv.second;
        if (!r.fenced && r.timeout_at > 0 && now >= r.timeout_at) {
          // Duty 3c: stop it and fail the attempt now, retryably.
          auto why = "timed out after " + std::to_string(r.timeout_ms)
                     + " ms (timeoutMs)";
          r.timed_out = true;
          stop_running(r, log_level::warn, "job timed out", why);
          self->send(st.retry, failed_atom::value, r.j,
                     outcome::failure(why));
          continue;
        }
        if (!r.fenced && now >= r.deadline) {
          count(st, &worker_counters::jobs_fenced);
          fence(r, "its lease was last renewed over lease - margin ago "
                       "(the database did not answer the heartbeats)");
        }
      }
      drop_queued(
        self, [&](const pool_state::queued& q) { return now >= q.deadline; },
        &worker_counters::jobs_fenced,
        "its lease could not be renewed before it started; dropped (the "
        "rescuer hands it back)");
      st.fence_timer = false;
      arm_fence(self);
    },
    [=](shutdown_atom, ms_t deadline_ms) -> caf::result<int64_t> {
      auto& st = self->state;
      st.stopping = true;
      flush_completions(self);
      std::vector<lease_ref> queued;
      for (auto& q : st.queue)
        queued.push_back(lease_ref{q.j.id, q.j.attempt});
      st.queue.clear();
      release_jobs(self, std::move(queued));
      st.shutdown_rp = self->make_response_promise<int64_t>();
      auto rp = st.shutdown_rp;
      self->delayed_send(self, std::chrono::milliseconds(deadline_ms),
                         release_atom::value);
      maybe_finish_shutdown(self);
      return rp;
    },
    [=](release_atom) {
      auto& st = self->state;
      if (!st.shutdown_rp.pending() || st.finishing)
        return;
      st.finishing = true;
      auto refs = refs_of(st, false);
      for (auto& kv : st.busy)
        kv.second.cancel->store(true);
      st.busy.clear();
      auto rp = st.shutdown_rp;
      if (refs.empty()) {
        // Reply only after earlier releases are committed: the store answers
        // writes in order, so an empty release is a barrier.
        self->request(st.store, caf::infinite, release_atom::value,
                      std::vector<lease_ref>{})
          .then([=](int64_t) mutable { rp.deliver(self->state.released); },
                [=](caf::error&) mutable { rp.deliver(self->state.released); });
        return;
      }
      self->request(st.store, caf::infinite, release_atom::value, refs)
        .then(
          [=](int64_t n) mutable {
            self->state.released += n;
            rp.deliver(self->state.released);
          },
          [=](caf::error& err) mutable { rp.deliver(err); });
    },
    [=](status_atom) {
      auto& st = self->state;
      return std::make_tuple(static_cast<int32_t>(st.busy.size()),
                             static_cast<int32_t>(st.queue.size()));
    },
    [=](reconfig_atom, pool_reconfig& next) {
      auto& st = self->state;
      st.cfg.workers = next.workers;
      st.cfg.prefetch = next.prefetch;
      st.cfg.prefetch_wait_ms = next.prefetch_wait_ms;
      if (next.registry && next.registry != st.registry) {
        st.registry = std::move(next.registry);
        ++st.generation;
      }
      // Idle handlers go first: older ones, then any beyond the new size.
      auto idle = st.idle;
      for (auto& h : idle)
        if (st.generation_of[h.address()] != st.generation
            || live_handlers(st) > st.cfg.workers)
          retire(self, h);
      top_up(self);
      dispatch(self);
      update_allowance(self);
    },
    [=](slots_atom) {
      auto& st = self->state;
      return std::make_tuple(
        static_cast<int32_t>(st.all_handlers->size()), st.cfg.workers);
    },
  };
}

} // namespace jobd
