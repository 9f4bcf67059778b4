#include "storage/store.hpp"

#include "storage/rules.hpp"

namespace jobd {

caf::expected<std::vector<std::string>>
job_store::complete_all(const std::string& worker,
                        const std::vector<completion>& done) {
  std::vector<std::string> applied;
  auto err = batch([&]() -> caf::error {
    applied.clear();
    for (auto& c : done) {
      auto res = complete(c.ref, worker, c.result);
      if (!res)
        return res.error();
      if (*res)
        applied.push_back(c.ref.id);
    }
    return {};
  });
  if (err)
    return err;
  return applied;
}

caf::expected<job> job_store::cancel(const std::string& id,
                                     const std::string& note) {
  job_patch p;
  p.has_status = true;
  p.status = job_status::cancelled;
  p.has_error = true;
  p.error = note;
  return update(id, p);
}

caf::expected<type_pause> stored_pause(job_store& st,
                                       const std::string& type) {
  auto all = st.counts();
  if (!all)
    return all.error();
  for (auto& p : all->paused)
    if (p.type == type)
      return p;
  return make_error(errc::io, "the pause of '" + type + "' was not stored");
}

caf::expected<schedule> stored_schedule(job_store& st,
                                        const std::string& name) {
  auto all = st.schedules();
  if (!all)
    return all.error();
  for (auto& s : *all)
    if (s.name == name)
      return s;
  return no_such_schedule(name);
}

} // namespace jobd
