#include "actors/pool_actor_impl.hpp"

#include <fcntl.h>
#include <unistd.h>

#include "actors/log.hpp"
#include "storage/errors.hpp"

#include <caf/actor_cast.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace jobd {

handler_actor::behavior_type
handler_fn(handler_actor::pointer self, pool_actor pool,
           std::shared_ptr<const handler_registry> reg,
           std::shared_ptr<std::atomic<bool>> cancel, std::string ledger_path) {
  return {
    [=](run_atom, const job& j) {
      if (!ledger_path.empty()) {
        // One write() with O_APPEND: lines from many processes never mix.
        auto line = j.id + " " + std::to_string(j.attempt) + " "
                    + std::to_string(getpid()) + "\n";
        int fd = ::open(ledger_path.c_str(), O_WRONLY | O_APPEND | O_CREAT,
                        0644);
        if (fd >= 0) {
          auto n = ::write(fd, line.data(), line.size());
          (void) n;
          ::close(fd);
        }
      }
      outcome out;
      auto h = reg->find(j.type);
      if (!h) {
        out = outcome::failure("no handler for job type '" + j.type
                                 + "' (this worker knows: "
                                 + reg->type_list() + ")",
                               true);
      } else {
        run_context ctx;
        ctx.cancelled = cancel.get();
        try {
          out = h->run(j, ctx);
        } catch (const std::exception& e) {
          out = outcome::failure(std::string{"handler threw: "} + e.what());
        }
        // Anything else propagates: the actor dies and the pool fails the
        // job with the exit reason, then replaces this handler.
      }
      // Sent (not anonymous): the pool knows the job by its sender.
      self->send(pool, done_atom::value, std::move(out));
    },
  };
}

namespace {

void spawn_handler(pool_ptr self) {
  auto& st = self->state;
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  auto me = caf::actor_cast<pool_actor>(self);
  handler_actor h;
  if (st.cfg.detached)
    h = self->spawn<caf::detached>(handler_fn, me, st.registry, cancel,
                                   st.cfg.ledger_path);
  else
    h = self->spawn(handler_fn, me, st.registry, cancel, st.cfg.ledger_path);
  self->monitor(h);
  st.generation_of[h.address()] = st.generation;
  st.all_handlers->push_back(caf::actor_cast<caf::actor>(h));
  st.cancel_flags[h.address()] = cancel;
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

bool type_has_room(pool_state& st, const std::string& type) {
  auto h = st.registry->find(type);
  if (!h || h->max_concurrency() <= 0)
    return true;
  return st.running_by_type[type] < h->max_concurrency();
}

void tell_free_slots(pool_ptr self, int32_t n) {
  if (self->state.scheduler && n != 0)
    caf::anon_send(caf::actor_cast<scheduler_actor>(self->state.scheduler),
                   slots_atom::value, n);
}

// Starts queued jobs on idle handlers, oldest first, skipping jobs whose
// type is at its concurrency limit.
void dispatch(pool_ptr self) {
  auto& st = self->state;
  for (auto i = st.queue.begin(); i != st.queue.end() && !st.idle.empty();) {
    if (!type_has_room(st, i->type)) {
      ++i;
      continue;
    }
    auto h = st.idle.back();
    st.idle.pop_back();
    auto& flag = st.cancel_flags[h.address()];
    flag->store(false);
    st.running_by_type[i->type] += 1;
    st.busy[h.address()] = pool_state::running{*i, flag};
    self->send(h, run_atom::value, *i);
    i = st.queue.erase(i);
  }
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

std::vector<lease_ref> refs_of(const pool_state& st, bool include_queue) {
  std::vector<lease_ref> refs;
  for (auto& kv : st.busy)
    refs.push_back(lease_ref{kv.second.j.id, kv.second.j.attempt});
  if (include_queue)
    for (auto& j : st.queue)
      refs.push_back(lease_ref{j.id, j.attempt});
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
    .then([](bool) {},
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

} // namespace

pool_actor::behavior_type pool_fn(pool_ptr self, pool_config cfg,
                                  std::shared_ptr<const handler_registry> reg,
                                  store_actor store, retry_actor retry) {
  auto& st = self->state;
  st.cfg = cfg;
  st.registry = std::move(reg);
  st.store = std::move(store);
  st.retry = std::move(retry);
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
    st.retiring.erase(addr);
    st.generation_of.erase(addr);
    auto& all = *st.all_handlers;
    all.erase(std::remove_if(all.begin(), all.end(),
                             [&](const caf::actor& h) {
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
      if (!st.scheduler)
        st.scheduler = caf::actor_cast<caf::actor>(self->current_sender());
      if (st.stopping) {
        std::vector<lease_ref> refs;
        for (auto& j : jobs)
          refs.push_back(lease_ref{j.id, j.attempt});
        release_jobs(self, std::move(refs));
        return;
      }
      for (auto& j : jobs)
        st.queue.push_back(std::move(j));
      dispatch(self);
    },
    [=](done_atom, outcome& out) {
      auto& st = self->state;
      auto addr = self->current_sender();
      auto i = st.busy.find(caf::actor_cast<caf::actor_addr>(addr));
      if (i == st.busy.end())
        return; // given up at the shutdown deadline: already handed back
      auto r = std::move(i->second);
      st.busy.erase(i);
      handler_free(self, caf::actor_cast<handler_actor>(addr));
      lease_ref ref{r.j.id, r.j.attempt};
      if (out.ok) {
        record_completion(self, ref, std::move(out.result), 0);
      } else {
        self->send(st.retry, failed_atom::value, r.j, std::move(out));
      }
      finished(self, r);
      top_up(self);
      dispatch(self);
      maybe_finish_shutdown(self);
    },
    [=](complete_atom, lease_ref& ref, std::string& result, int32_t tries) {
      record_completion(self, std::move(ref), std::move(result), tries);
    },
    [=](heartbeat_atom) {
      auto& st = self->state;
      auto refs = refs_of(st, true);
      if (!refs.empty())
        self->request(st.store, caf::infinite, heartbeat_atom::value, refs)
          .then([](std::vector<std::string>&) {},
                [=](caf::error& err) {
                  log_line("heartbeat failed: " + message_of(err));
                });
      self->delayed_send(self,
                         std::chrono::milliseconds(st.cfg.heartbeat_interval_ms),
                         heartbeat_atom::value);
    },
    [=](shutdown_atom, ms_t deadline_ms) -> caf::result<int64_t> {
      auto& st = self->state;
      st.stopping = true;
      std::vector<lease_ref> queued;
      for (auto& j : st.queue)
        queued.push_back(lease_ref{j.id, j.attempt});
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
    },
    [=](slots_atom) {
      auto& st = self->state;
      return std::make_tuple(
        static_cast<int32_t>(st.all_handlers->size()), st.cfg.workers);
    },
  };
}

} // namespace jobd
