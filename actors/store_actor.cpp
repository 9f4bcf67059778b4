#include "actors/store_state.hpp"

#include "actors/log.hpp"
#include "storage/rules.hpp"

#include <algorithm>
#include <atomic>
#include <random>
#include <unordered_set>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <unistd.h>

namespace jobd {

struct enqueue_reply::once {
  fn_type fn;
  std::atomic<bool> called{false};
  ~once() {
    if (!called && fn)
      fn(make_error(errc::shutting_down,
                    "the job store stopped before storing the job"));
  }
};

enqueue_reply::enqueue_reply(fn_type fn)
  : once_(std::make_shared<once>()) {
  once_->fn = std::move(fn);
}

void enqueue_reply::operator()(caf::expected<std::vector<job>> res) const {
  if (once_ && !once_->called.exchange(true))
    once_->fn(std::move(res));
}

void store_actor_state::tell_change(const job& j) const {
  for (auto& s : subscribers)
    caf::anon_send(s, changed_atom::value, j);
  for (auto& o : observers)
    o.fn(j);
}

std::string default_worker_id() {
  char host[256] = "localhost";
  gethostname(host, sizeof(host) - 1);
  std::random_device rd;
  char suffix[8];
  std::snprintf(suffix, sizeof(suffix), "%04x", rd() & 0xffff);
  return std::string{host} + ":" + std::to_string(getpid()) + ":" + suffix;
}

namespace {

// Queues a write for the next commit; `deliver` gets its result after the
// commit. `fn` runs inside the transaction and fills the result; errors of
// the single call (invalid, not_found, conflict) go to its own caller
// without aborting the batch.
template <class T>
void queue_write_to(store_actor_ptr self, std::function<caf::expected<T>()> fn,
                    bool wakes, std::function<void(caf::expected<T>)> deliver) {
  auto res = std::make_shared<caf::expected<T>>(caf::error{});
  auto& st = self->state;
  st.writes.push_back(store_actor_state::pending_write{
    [fn = std::move(fn), res]() -> caf::error {
      *res = fn();
      if (!*res) {
        if (is_transient(code_of(res->error())))
          return res->error();
      }
      return {};
    },
    [deliver = std::move(deliver), res](const caf::error& batch_err) {
      if (batch_err)
        deliver(batch_err);
      else
        deliver(std::move(*res));
    }});
  if (wakes)
    st.wake_after_flush = true;
  if (!st.flush_scheduled) {
    st.flush_scheduled = true;
    self->send(self, flush_atom::value);
  }
}

// The same, replying to the current request through a response promise.
template <class T>
caf::result<T> queue_write(store_actor_ptr self,
                           std::function<caf::expected<T>()> fn,
                           bool wakes) {
  auto rp = self->make_response_promise<T>();
  queue_write_to<T>(self, std::move(fn), wakes,
                    [rp](caf::expected<T> res) mutable {
                      if (res)
                        rp.deliver(std::move(*res));
                      else
                        rp.deliver(res.error());
                    });
  return rp;
}

// A change by hand (update, cancel) that wakes the scheduler, goes to the
// live updates, and, once committed, tells the settle listeners of a job
// it left not PROCESSING: the pool stops that attempt if it runs it, at
// once rather than at its next heartbeat (whose renewal would fail anyway).
// Workers of other processes on a SQLite file are told too
// (wake_jobs_settled): they renew their leases at once.
caf::result<job> queue_settling_write(store_actor_ptr self,
                                      std::function<caf::expected<job>()> fn) {
  auto rp = self->make_response_promise<job>();
  auto write = [self, fn = std::move(fn)]() -> caf::expected<job> {
    auto res = fn();
    if (res && self->state.watched())
      self->state.changed_jobs.push_back(*res);
    return res;
  };
  queue_write_to<job>(
    self, std::move(write), true, [self, rp](caf::expected<job> res) mutable {
      if (!res) {
        rp.deliver(res.error());
        return;
      }
      if (res->status == job_status::cancelled)
        log_event(log_level::info, "job cancelled",
                  {{"id", res->id}, {"type", res->type},
                   log_num("attempt", res->attempt), {"note", res->error}});
      if (res->status != job_status::processing) {
        for (auto& t : self->state.settle_targets)
          caf::anon_send(t, cancel_atom::value,
                         lease_ref{res->id, res->attempt});
        // A job that has run may be running in another process (SQLite):
        // its worker renews its leases now and stops it.
        if (res->attempt > 0 && self->state.cfg.wake_others)
          self->state.cfg.wake_others->notify(wake_jobs_settled);
      }
      rp.deliver(std::move(*res));
    });
  return rp;
}

// A change to a schedule: once committed, the schedule listeners look at
// the schedules again (a new or resumed schedule may run soon).
template <class T>
caf::result<T> queue_schedule_write(store_actor_ptr self,
                                    std::function<caf::expected<T>()> fn) {
  auto rp = self->make_response_promise<T>();
  queue_write_to<T>(self, std::move(fn), false,
                    [self, rp](caf::expected<T> res) mutable {
                      if (!res) {
                        rp.deliver(res.error());
                        return;
                      }
                      for (auto& t : self->state.schedule_targets)
                        caf::anon_send(t, wake_atom::value);
                      rp.deliver(std::move(*res));
                    });
  return rp;
}

ms_t now_of(const store_actor_state& st) {
  return st.cfg.clock ? st.cfg.clock->now_ms()
                      : system_clock_source{}.now_ms();
}

// The idle checkpoint comes checkpoint_idle_ms from now, carrying the write
// count it saw (a write since then postpones it).
void arm_checkpoint(store_actor_ptr self) {
  auto& st = self->state;
  st.checkpoint_timer = true;
  self->delayed_send(self, std::chrono::milliseconds(st.cfg.checkpoint_idle_ms),
                     checkpoint_atom::value, st.writes_committed);
}

// Records the outcome of a write that reached the database: a success arms
// the idle checkpoint; an I/O error or a full disk marks storage unhealthy
// for write_error_window_ms.
void note_write(store_actor_ptr self, const caf::error& err) {
  auto& st = self->state;
  if (err) {
    auto code = code_of(err);
    if (code == errc::io || code == errc::full) {
      st.last_write_error_at = std::max<ms_t>(now_of(st), 1);
      st.last_write_error = message_of(err);
    }
    return;
  }
  ++st.writes_committed;
  if (st.cfg.checkpoint_idle_ms > 0 && !st.checkpoint_timer)
    arm_checkpoint(self);
}

// Work may be due: wake the registered actors and the other processes.
void wake_all(store_actor_state& st) {
  for (auto& t : st.wake_targets)
    caf::anon_send(t, wake_atom::value);
  if (st.cfg.wake_others)
    st.cfg.wake_others->notify();
}

// The change feed: while an observer wants it, reads the pages committed
// since the last read and hands them on (up to 20 pages of 500 a time; the
// rest at the next read), then keeps the poll timer armed.
void read_feed(store_actor_ptr self) {
  auto& st = self->state;
  // Asked once per read: wanted() may take a lock (the hub's streams).
  std::vector<const feed_observer*> readers;
  for (auto& f : st.feeds)
    if (f.wanted())
      readers.push_back(&f);
  if (readers.empty()) {
    st.feed_pos = -1;
    return;
  }
  if (!st.feed_timer) {
    st.feed_timer = true;
    self->delayed_send(self, std::chrono::milliseconds(st.cfg.feed_poll_ms),
                       feed_atom::value);
  }
  if (st.feed_pos < 0) {
    auto pos = st.store->change_position();
    if (pos)
      st.feed_pos = *pos;
    return; // a read failure: the next read tries again
  }
  for (int pages = 0; pages < 20; ++pages) {
    auto page = st.store->changes(st.feed_pos, 500);
    if (!page)
      return; // busy or io: the next read starts from the same position
    st.feed_pos = page->next;
    if (!page->changes.empty() || page->gap)
      for (auto f : readers)
        f->fn(*page);
    if (!page->more)
      return;
  }
}

// A stream joins the feed (feed_resume): first the live feed is brought up
// to date for the streams already open, then this one gets its replay, then
// it joins, all on this thread, so no commit falls between.
void resume_feed(store_actor_ptr self, feed_resume& r) {
  auto& st = self->state;
  read_feed(self);
  int64_t upto = st.feed_pos;
  if (upto < 0) {
    auto pos = st.store->change_position();
    upto = pos ? *pos : -1;
  }
  int64_t through = upto;
  if (r.after >= 0) {
    change_page gap;
    gap.gap = true;
    if (upto >= 0 && r.after > upto) {
      r.replay(gap); // an id from another database, or made up
    } else {
      auto after = r.after;
      bool whole = false;
      for (int pages = 0; pages < 20; ++pages) {
        auto page = st.store->changes(after, 500);
        if (!page)
          break;
        r.replay(*page);
        after = page->next;
        if (page->gap || !page->more || (upto >= 0 && after >= upto)) {
          whole = true;
          break;
        }
      }
      if (!whole)
        r.replay(gap);
      through = std::max(through, after);
    }
  }
  r.join(through);
  if (st.feed_pos < 0)
    st.feed_pos = upto;
  read_feed(self); // arms the poll timer now that somebody wants the feed
}

void flush(store_actor_ptr self) {
  auto& st = self->state;
  st.flush_scheduled = false;
  if (st.writes.empty())
    return;
  auto writes = std::move(st.writes);
  st.writes.clear();
  auto err = st.store->batch([&]() -> caf::error {
    for (auto& w : writes)
      if (auto e = w.apply())
        return e;
    return {};
  });
  note_write(self, err);
  for (auto& w : writes)
    w.reply(err);
  if (!err && st.wake_after_flush)
    wake_all(st);
  st.wake_after_flush = false;
  // Live updates: re-read changed jobs only when somebody listens.
  auto ids = std::move(st.changed_ids);
  auto jobs = std::move(st.changed_jobs);
  st.changed_ids.clear();
  st.changed_jobs.clear();
  if (!err)
    read_feed(self);
  if (err || !st.watched())
    return;
  // Each job once, as it is now: one commit may change a job twice (its
  // last progress and its completion), and a listener counts each change.
  std::unordered_set<std::string> seen;
  for (auto& j : jobs)
    seen.insert(j.id);
  for (auto& id : ids)
    if (seen.insert(id).second)
      if (auto j = st.store->get(id))
        jobs.push_back(std::move(*j));
  for (auto& j : jobs)
    st.tell_change(j);
}

// What one transaction of a bulk call did, made known: a retry makes jobs
// due; a cancelled job that has run may be running here (the pool stops
// it) or in another process; live updates get the jobs as they are now.
void announce_bulk(store_actor_ptr self, const bulk_result& step) {
  auto& st = self->state;
  if (step.jobs.empty())
    return;
  if (step.action == bulk_action::retry)
    wake_all(st);
  if (step.action == bulk_action::cancel) {
    bool ran = false;
    for (auto& j : step.jobs) {
      if (j.attempt == 0)
        continue; // never claimed: no worker runs it
      ran = true;
      for (auto& t : st.settle_targets)
        caf::anon_send(t, cancel_atom::value, lease_ref{j.id, j.attempt});
    }
    if (ran && st.cfg.wake_others)
      st.cfg.wake_others->notify(wake_jobs_settled);
  }
  read_feed(self);
  if (st.watched())
    for (auto& j : step.jobs)
      st.tell_change(j);
}

// One transaction of the bulk call in progress, then the reply if it is
// done, and the next turn if any bulk call is left.
void bulk_turn(store_actor_ptr self) {
  auto& st = self->state;
  if (st.bulks.empty())
    return;
  if (st.flush_scheduled)
    flush(self); // the writes queued before it commit first
  auto& run = st.bulks.front();
  auto changed_before = run.out.changed;
  auto err = st.store->bulk_step(run.request, run.at, run.out);
  if (err)
    note_write(self, err);
  else if (run.out.changed > changed_before)
    note_write(self, caf::error{});
  announce_bulk(self, run.out);
  run.out.jobs.clear(); // announced; the reply carries the counts
  if (err || run.at.done) {
    auto& r = run.request;
    if (run.out.changed > 0) {
      // The filter as given (fields not set left out), then the counts.
      std::vector<log_field> fields{{"action", to_string(r.action)}};
      if (!r.status.empty())
        fields.push_back({"status", r.status});
      if (!r.type.empty())
        fields.push_back({"type", r.type});
      if (r.finished_before > 0)
        fields.push_back({"finished_before", format_time(r.finished_before)});
      for (auto& f : {log_num("matched", run.out.matched),
                      log_num("changed", run.out.changed),
                      log_num("skipped", run.out.skipped)})
        fields.push_back(f);
      if (!r.note.empty())
        fields.push_back({"note", r.note});
      if (err)
        fields.push_back({"error", message_of(err)});
      log_event(err ? log_level::warn : log_level::info, "bulk action",
                fields);
    }
    if (err)
      run.reply.deliver(err);
    else
      run.reply.deliver(std::move(run.out));
    st.bulks.pop_front();
  }
  if (!st.bulks.empty())
    self->send(self, bulk_atom::value);
}

} // namespace

store_actor::behavior_type store_actor_fn(store_actor_ptr self,
                                          std::shared_ptr<job_store> store,
                                          store_actor_config cfg) {
  self->state.store = std::move(store);
  self->state.cfg = std::move(cfg);
  if (self->state.cfg.worker_id.empty())
    self->state.cfg.worker_id = default_worker_id();
  self->set_down_handler([=](caf::down_msg& dm) {
    auto drop = [&](auto& xs) {
      xs.erase(std::remove_if(xs.begin(), xs.end(),
                              [&](const auto& a) {
                                return a.address() == dm.source;
                              }),
               xs.end());
    };
    drop(self->state.subscribers);
    drop(self->state.wake_targets);
    drop(self->state.settle_targets);
    drop(self->state.schedule_targets);
  });
  auto st = [self]() -> store_actor_state& { return self->state; };
  // An enqueue as a write of the next batch.
  auto enqueue_write = [=](std::vector<new_job> jobs) {
    return [=, jobs = std::move(jobs)]() -> caf::expected<std::vector<job>> {
      auto res = st().store->enqueue(jobs);
      if (res && st().watched())
        for (auto& j : *res)
          st().changed_jobs.push_back(j);
      return res;
    };
  };
  auto track = [self](std::string id) {
    if (self->state.watched())
      self->state.changed_ids.push_back(std::move(id));
  };
  return {
    [=](enqueue_atom, std::vector<new_job> jobs) {
      return queue_write<std::vector<job>>(self, enqueue_write(jobs), true);
    },
    [=](enqueue_atom, std::vector<new_job> jobs, enqueue_reply reply) {
      queue_write_to<std::vector<job>>(
        self, enqueue_write(std::move(jobs)), true,
        [reply](caf::expected<std::vector<job>> res) {
          reply(std::move(res));
        });
    },
    [=](claim_atom, int32_t limit) -> caf::result<std::vector<job>> {
      // Draining a backlog (the last claim found work), a claim joins the
      // group commit like any other write: it shares one commit (one fsync)
      // with the completions queued alongside, instead of one commit each.
      // This took `jobd bench` W2 from ~0.41 to ~0.31 commits per job.
      // Idle (the last claim found nothing: a poll), it runs at once, where
      // the store's read-only probe keeps it off the write lock. Either way
      // the jobs are handed out only after their claim is committed.
      if (st().claiming_backlog)
        return queue_write<std::vector<job>>(
          self,
          [=]() -> caf::expected<std::vector<job>> {
            auto res = st().store->claim(st().cfg.worker_id, limit,
                                         st().cfg.lease_ms);
            if (res) {
              st().claiming_backlog = !res->empty();
              if (st().watched())
                for (auto& j : *res)
                  st().changed_jobs.push_back(j);
            }
            return res;
          },
          false);
      auto res = st().store->claim(st().cfg.worker_id, limit, st().cfg.lease_ms);
      if (!res) {
        note_write(self, res.error());
        return res.error();
      }
      if (!res->empty())
        note_write(self, caf::error{});
      st().claiming_backlog = !res->empty();
      if (!res->empty())
        read_feed(self);
      if (st().watched())
        for (auto& j : *res)
          st().tell_change(j);
      return std::move(*res);
    },
    [=](complete_atom, lease_ref ref, std::string result) {
      return queue_write<bool>(
        self,
        [=]() -> caf::expected<bool> {
          auto res = st().store->complete(ref, st().cfg.worker_id, result);
          if (res && *res)
            track(ref.id);
          return res;
        },
        false);
    },
    [=](complete_atom, std::vector<completion> done) {
      return queue_write<int64_t>(
        self,
        [=]() -> caf::expected<int64_t> {
          auto res = st().store->complete_all(st().cfg.worker_id, done);
          if (!res)
            return res.error();
          for (auto& id : *res)
            track(id);
          return static_cast<int64_t>(res->size());
        },
        false);
    },
    [=](fail_atom, lease_ref ref, std::string error, bool permanent,
        ms_t delay) {
      return queue_write<fail_outcome>(
        self,
        [=]() -> caf::expected<fail_outcome> {
          auto res = st().store->fail(ref, st().cfg.worker_id, error,
                                      permanent, delay);
          if (res && res->applied)
            track(ref.id);
          return res;
        },
        false);
    },
    [=](heartbeat_atom, std::vector<lease_ref> refs) {
      return queue_write<std::vector<std::string>>(
        self,
        [=]() {
          return st().store->heartbeat(st().cfg.worker_id, refs,
                                       st().cfg.lease_ms);
        },
        false);
    },
    [=](claim_atom, std::string worker, std::vector<std::string> types,
        int32_t limit, ms_t lease_ms) {
      return queue_write<std::vector<job>>(
        self,
        [=]() -> caf::expected<std::vector<job>> {
          auto res = st().store->claim_types(
            worker, types, limit, lease_ms > 0 ? lease_ms : st().cfg.lease_ms);
          if (res && st().watched())
            for (auto& j : *res)
              st().changed_jobs.push_back(j);
          return res;
        },
        false);
    },
    [=](workers_atom, std::vector<worker_info> seen) {
      return queue_write<bool>(
        self,
        [=]() -> caf::expected<bool> {
          if (auto err = st().store->see_workers(seen))
            return err;
          return true;
        },
        false);
    },
    [=](workers_atom) -> caf::result<worker_list> {
      auto res = st().store->workers();
      if (!res)
        return res.error();
      return std::move(*res);
    },
    [=](complete_atom, std::string worker, lease_ref ref, std::string result) {
      return queue_write<bool>(
        self,
        [=]() -> caf::expected<bool> {
          auto res = st().store->complete(ref, worker, result);
          if (res && *res)
            track(ref.id);
          return res;
        },
        false);
    },
    [=](complete_atom, std::string worker, std::vector<completion> done) {
      return queue_write<std::vector<std::string>>(
        self,
        [=]() -> caf::expected<std::vector<std::string>> {
          auto res = st().store->complete_all(worker, done);
          if (res)
            for (auto& id : *res)
              track(id);
          return res;
        },
        false);
    },
    [=](fail_atom, std::string worker, lease_ref ref, std::string error,
        bool permanent, ms_t retry_after_ms) {
      return queue_write<fail_outcome>(
        self,
        [=]() -> caf::expected<fail_outcome> {
          // The backoff needs the retry count, which cannot change while
          // the attempt is held (a rescue would fence this fail off).
          ms_t delay = retry_after_ms;
          if (!permanent) {
            auto cur = st().store->get(ref.id);
            if (!cur) {
              if (code_of(cur.error()) == errc::not_found)
                return fail_outcome{}; // deleted: stale
              return cur.error();
            }
            std::uniform_real_distribution<double> u{0.0, 1.0};
            delay = std::max(backoff_for(cur->retry_count, st().cfg.retry,
                                         u(st().rng)),
                             retry_after_ms);
          }
          auto res = st().store->fail(ref, worker, error, permanent, delay);
          if (res && res->applied)
            track(ref.id);
          return res;
        },
        // A retry due now (retryAfter 0 and no backoff) wakes fetchers.
        true);
    },
    [=](heartbeat_atom, std::string worker, std::vector<lease_ref> refs,
        ms_t lease_ms) {
      return queue_write<std::vector<std::string>>(
        self,
        [=]() {
          return st().store->heartbeat(
            worker, refs, lease_ms > 0 ? lease_ms : st().cfg.lease_ms);
        },
        false);
    },
    [=](progress_atom, std::vector<progress_update> updates) {
      return queue_write<std::vector<std::string>>(
        self,
        [=]() -> caf::expected<std::vector<std::string>> {
          auto res = st().store->progress(st().cfg.worker_id, updates);
          if (res)
            for (auto& id : *res)
              track(id);
          return res;
        },
        false);
    },
    [=](release_atom, std::vector<lease_ref> refs) {
      return queue_write<int64_t>(
        self,
        [=]() -> caf::expected<int64_t> {
          auto res = st().store->release(st().cfg.worker_id, refs);
          if (res)
            for (auto& r : refs)
              track(r.id);
          return res;
        },
        true);
    },
    [=](rescue_atom) -> caf::result<int64_t> {
      std::vector<job> rescued;
      auto res = st().store->rescue_expired(&rescued);
      if (!res) {
        note_write(self, res.error());
        return res.error();
      }
      // One line per job; the error names the worker that lost it.
      for (auto& j : rescued)
        log_event(log_level::warn, "job rescued",
                  {{"id", j.id}, {"type", j.type},
                   log_num("attempt", j.attempt),
                   {"status", to_string(j.status)},
                   log_num("retries", j.retry_count), {"error", j.error}});
      if (*res > 0) {
        note_write(self, caf::error{});
        wake_all(st());
        read_feed(self);
      }
      return *res;
    },
    [=](caf::get_atom, std::string id) -> caf::result<job> {
      auto res = st().store->get(id);
      if (!res)
        return res.error();
      return std::move(*res);
    },
    [=](attempts_atom, std::string id) -> caf::result<attempt_history> {
      auto res = st().store->attempts(id, max_attempts_listed);
      if (!res)
        return res.error();
      return std::move(*res);
    },
    [=](list_atom, job_filter f) -> caf::result<job_page> {
      auto res = st().store->list(f);
      if (!res)
        return res.error();
      return std::move(*res);
    },
    [=](retry_atom, std::string id) {
      return queue_write<job>(
        self,
        [=]() -> caf::expected<job> {
          auto res = st().store->retry(id);
          if (res && st().watched())
            st().changed_jobs.push_back(*res);
          return res;
        },
        true);
    },
    [=](caf::delete_atom, std::string id) {
      return queue_write<bool>(
        self,
        [=]() -> caf::expected<bool> {
          if (auto err = st().store->remove(id))
            return err;
          return true;
        },
        false);
    },
    [=](caf::update_atom, std::string id, job_patch patch) {
      return queue_settling_write(
        self, [=] { return st().store->update(id, patch); });
    },
    [=](cancel_atom, std::string id, std::string note) {
      return queue_settling_write(
        self, [=] { return st().store->cancel(id, note); });
    },
    [=](pause_atom, std::string type, std::string note) {
      auto rp = self->make_response_promise<type_pause>();
      queue_write_to<type_pause>(
        self, [=] { return st().store->pause_type(type, note); }, false,
        [rp](caf::expected<type_pause> res) mutable {
          if (!res) {
            rp.deliver(res.error());
            return;
          }
          log_event(log_level::warn, "type paused",
                    {{"type", res->type}, {"note", res->note}});
          rp.deliver(std::move(*res));
        });
      return rp;
    },
    [=](resume_atom, std::string type) {
      auto rp = self->make_response_promise<bool>();
      queue_write_to<bool>(
        self, [=] { return st().store->resume_type(type); }, true,
        [rp, type](caf::expected<bool> res) mutable {
          if (!res) {
            rp.deliver(res.error());
            return;
          }
          if (*res)
            log_event(log_level::info, "type resumed", {{"type", type}});
          rp.deliver(*res);
        });
      return rp;
    },
    [=](bulk_atom, bulk_request r) -> caf::result<bulk_result> {
      if (auto err = validate_bulk(r))
        return err;
      auto rp = self->make_response_promise<bulk_result>();
      if (st().bulks.empty())
        self->send(self, bulk_atom::value);
      st().bulks.push_back({std::move(r), {}, {}, rp});
      return rp;
    },
    [=](bulk_atom) { bulk_turn(self); },
    [=](schedules_atom) -> caf::result<std::vector<schedule>> {
      auto res = st().store->schedules();
      if (!res)
        return res.error();
      return std::move(*res);
    },
    [=](schedules_atom, wake_listener l) {
      self->monitor(l);
      st().schedule_targets.push_back(std::move(l));
    },
    [=](schedules_atom, schedule s) {
      return queue_schedule_write<schedule>(
        self, [=] { return st().store->put_schedule(s); });
    },
    [=](schedules_atom, caf::delete_atom, std::string name) {
      return queue_schedule_write<bool>(
        self, [=] { return st().store->remove_schedule(name); });
    },
    [=](schedules_atom, pause_atom, std::string name, bool paused) {
      return queue_schedule_write<schedule>(
        self, [=] { return st().store->pause_schedule(name, paused); });
    },
    [=](schedules_atom, run_atom, std::string name, ms_t run_at,
        bool by_hand) {
      return queue_write<std::vector<job>>(
        self,
        [=]() -> caf::expected<std::vector<job>> {
          auto res = st().store->fire_schedule(name, run_at, by_hand);
          if (res && st().watched())
            for (auto& j : *res)
              st().changed_jobs.push_back(j);
          return res;
        },
        true);
    },
    [=](stats_atom) -> caf::result<job_counts> {
      auto res = st().store->counts();
      if (!res)
        return res.error();
      return std::move(*res);
    },
    [=](prune_atom, ms_t older_than, int32_t batch) -> caf::result<int64_t> {
      auto res = st().store->prune(older_than, batch);
      if (!res) {
        note_write(self, res.error());
        return res.error();
      }
      if (*res > 0) {
        note_write(self, caf::error{});
        read_feed(self);
      }
      return *res;
    },
    [=](wake_atom, wake_listener target) {
      self->monitor(target);
      st().wake_targets.push_back(std::move(target));
    },
    [=](caf::subscribe_atom, change_observer& obs) {
      if (obs.fn)
        st().observers.push_back(std::move(obs));
    },
    [=](caf::subscribe_atom, feed_observer& obs) {
      if (obs.wanted && obs.fn)
        st().feeds.push_back(std::move(obs));
    },
    [=](feed_atom) {
      st().feed_timer = false;
      read_feed(self);
    },
    [=](feed_atom, feed_resume& r) { resume_feed(self, r); },
    [=](caf::subscribe_atom, change_listener target) {
      self->monitor(target);
      st().subscribers.push_back(std::move(target));
    },
    [=](caf::subscribe_atom, settle_listener target) {
      self->monitor(target);
      st().settle_targets.push_back(std::move(target));
    },
    [=](flush_atom) { flush(self); },
    [=](health_atom) -> caf::result<std::string, int64_t> {
      auto& s = st();
      // A read proves the database answers (an id that cannot exist is
      // not_found at once).
      auto probe = s.store->get("00000000000000000000000000");
      if (!probe && code_of(probe.error()) != errc::not_found)
        return probe.error();
      auto free = s.store->free_bytes();
      std::string reason;
      auto now = now_of(s);
      if (s.last_write_error_at > 0
          && now - s.last_write_error_at < s.cfg.write_error_window_ms)
        reason = "a write failed "
                 + std::to_string((now - s.last_write_error_at) / 1000)
                 + " s ago: " + s.last_write_error;
      else if (free >= 0 && s.cfg.min_free_bytes > 0
               && free < s.cfg.min_free_bytes)
        reason = "only " + std::to_string(free)
                 + " bytes free on the database's file system, under "
                   "storage.min_free_bytes ("
                 + std::to_string(s.cfg.min_free_bytes) + ")";
      return caf::result<std::string, int64_t>{std::move(reason), free};
    },
    [=](checkpoint_atom, uint64_t seen) {
      auto& s = st();
      s.checkpoint_timer = false;
      if (seen != s.writes_committed)
        return arm_checkpoint(self); // written since: another idle period
      if (auto err = s.store->checkpoint())
        note_write(self, err);
    },
  };
}

store_actor spawn_store_actor(caf::actor_system& sys,
                              std::unique_ptr<job_store> store,
                              store_actor_config cfg) {
  std::shared_ptr<job_store> shared{std::move(store)};
  if (cfg.detached)
    return sys.spawn<caf::detached>(store_actor_fn, shared, std::move(cfg));
  return sys.spawn(store_actor_fn, shared, std::move(cfg));
}

} // namespace jobd
