// Behaviour of the schedule actor (schedule_state.hpp).
#include "actors/schedule_state.hpp"

#include <algorithm>

#include <caf/typed_event_based_actor.hpp>

#include "actors/log.hpp"
#include "storage/errors.hpp"
#include "storage/rules.hpp"

namespace jobd {

namespace {

void look(schedule_ptr self);

// The look is over: sleep until the next run of any schedule (at most
// refresh_ms), or look again at once if a wake came meanwhile.
void end_look(schedule_ptr self, ms_t next_at) {
  auto& st = self->state;
  st.looking = false;
  if (st.look_again) {
    st.look_again = false;
    look(self);
    return;
  }
  auto now = st.clock->now_ms();
  ms_t wait = st.cfg.refresh_ms;
  if (next_at > 0)
    wait = std::clamp<ms_t>(next_at - now, 0, st.cfg.refresh_ms);
  // A new chain: a timer armed before (a wake looked early) is dropped.
  self->delayed_send(self, std::chrono::milliseconds(wait), poll_atom::value,
                     ++st.chain);
}

// Creates the runs of `due` (schedule name, run time) one after another,
// oldest first per schedule, then ends the look.
void fire(schedule_ptr self,
          std::shared_ptr<std::vector<std::pair<std::string, ms_t>>> due,
          size_t i, ms_t next_at) {
  if (i == due->size())
    return end_look(self, next_at);
  // Plain copies: lambdas may not capture structured bindings (clang).
  auto name = (*due)[i].first;
  auto at = (*due)[i].second;
  self->request(self->state.store, caf::infinite, schedules_atom::value,
                run_atom::value, name, at, false)
    .then(
      [=](std::vector<job>& made) {
        for (auto& j : made)
          log_event(log_level::info, "schedule run",
                    {{"schedule", name}, {"id", j.id}, {"type", j.type},
                     log_num("run_at", at)});
        fire(self, due, i + 1, next_at);
      },
      [=](caf::error& err) {
        log_event(log_level::warn, "schedule run failed",
                  {{"schedule", name}, log_num("run_at", at),
                   {"error", message_of(err)}});
        // The rest of this schedule's runs wait for the next look (they
        // must be created in order); other schedules go on.
        auto rest = std::make_shared<std::vector<std::pair<std::string, ms_t>>>();
        for (size_t k = i + 1; k < due->size(); ++k)
          if ((*due)[k].first != name)
            rest->push_back((*due)[k]);
        fire(self, rest, 0, next_at);
      });
}

void look(schedule_ptr self) {
  auto& st = self->state;
  if (st.looking) {
    st.look_again = true;
    return;
  }
  st.looking = true;
  self->request(st.store, caf::infinite, schedules_atom::value)
    .then(
      [=](std::vector<schedule>& all) {
        auto now = self->state.clock->now_ms();
        auto due = std::make_shared<std::vector<std::pair<std::string, ms_t>>>();
        ms_t next_at = 0;
        for (auto& s : all) {
          ms_t n = 0;
          auto runs = due_runs(s, now, &n);
          // A long catch-up is created max_runs_per_look at a time: the
          // next look comes straight after this one.
          if (runs.size() >= max_runs_per_look)
            self->state.look_again = true;
          for (auto t : runs)
            due->emplace_back(s.name, t);
          if (n > 0 && (next_at == 0 || n < next_at))
            next_at = n;
        }
        fire(self, due, 0, next_at);
      },
      [=](caf::error& err) {
        log_event(log_level::warn, "schedules unreadable",
                  {{"error", message_of(err)}});
        end_look(self, 0);
      });
}

} // namespace

schedule_actor::behavior_type
schedule_fn(schedule_ptr self, schedule_actor_config cfg, store_actor store,
            std::shared_ptr<const clock_source> clock) {
  self->state.cfg = cfg;
  self->state.store = std::move(store);
  self->state.clock = std::move(clock);
  self->send(self, poll_atom::value, self->state.chain);
  return {
    [=](poll_atom, uint32_t chain) {
      if (chain != self->state.chain)
        return; // replaced by a reconfigure
      look(self);
    },
    [=](wake_atom) { look(self); },
    [=](reconfig_atom, schedule_actor_config& next) {
      auto& st = self->state;
      if (next.refresh_ms == st.cfg.refresh_ms)
        return;
      st.cfg = next;
      ++st.chain;
      look(self);
    },
  };
}

} // namespace jobd
