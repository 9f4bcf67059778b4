// Behaviour of a reader actor (reader_state.hpp), and the read pool.
#include "actors/reader_state.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "storage/store.hpp"

namespace jobd {

reader_actor::behavior_type reader_fn(reader_ptr self,
                                      std::shared_ptr<job_store> store) {
  self->state.store = std::move(store);
  auto st = [self]() -> job_store& { return *self->state.store; };
  return {
    [=](caf::get_atom, const std::string& id) -> caf::result<job> {
      auto res = st().get(id);
      if (!res)
        return res.error();
      return std::move(*res);
    },
    [=](attempts_atom, const std::string& id) -> caf::result<attempt_history> {
      auto res = st().attempts(id, max_attempts_listed);
      if (!res)
        return res.error();
      return std::move(*res);
    },
    [=](workers_atom) -> caf::result<worker_list> {
      auto res = st().workers();
      if (!res)
        return res.error();
      return std::move(*res);
    },
    [=](list_atom, const job_filter& f) -> caf::result<job_page> {
      auto res = st().list(f);
      if (!res)
        return res.error();
      return std::move(*res);
    },
    [=](stats_atom) -> caf::result<job_counts> {
      auto res = st().counts();
      if (!res)
        return res.error();
      return std::move(*res);
    },
  };
}

reader_actor spawn_reader_actor(caf::actor_system& sys,
                                std::unique_ptr<job_store> store) {
  std::shared_ptr<job_store> shared{std::move(store)};
  return sys.spawn<caf::detached>(reader_fn, shared);
}

read_pool::read_pool(std::vector<reader_actor> readers)
  : readers_(std::move(readers)) {
}

reader_actor read_pool::next() const {
  auto i = turn_->fetch_add(1, std::memory_order_relaxed);
  return readers_[i % readers_.size()];
}

caf::expected<read_pool>
start_read_pool(caf::actor_system& sys, store_options opts, int count,
                std::shared_ptr<const clock_source> clock) {
  opts.read_only = true;
  std::vector<reader_actor> readers;
  for (int i = 0; i < count; ++i) {
    auto store = open_store(opts, clock);
    if (!store) {
      stop_read_pool(sys, read_pool{std::move(readers)});
      return store.error();
    }
    readers.push_back(spawn_reader_actor(sys, std::move(*store)));
  }
  return read_pool{std::move(readers)};
}

void stop_read_pool(caf::actor_system& sys, const read_pool& pool) {
  if (pool.empty())
    return;
  caf::scoped_actor self{sys};
  for (auto& r : pool.readers())
    self->send_exit(r, caf::exit_reason::user_shutdown);
  for (auto& r : pool.readers())
    self->wait_for(r);
}

} // namespace jobd
