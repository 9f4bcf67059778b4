#include "storage/store.hpp"

#include "storage/rules.hpp"

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

caf::expected<bulk_result> job_store::bulk(const bulk_request& r) {
  bulk_result out;
  out.action = r.action;
  bulk_progress at;
  while (!at.done)
    if (auto err = bulk_step(r, at, out))
      return err;
  return out;
}

caf::error job_store::bulk_step(const bulk_request& r, bulk_progress& at,
                                bulk_result& out) {
  if (auto err = validate_bulk(r))
    return err;
  out.action = r.action;
  auto statuses = bulk_statuses(r);
  const auto batch_rows = static_cast<size_t>(bulk_batch_rows);
  // 1. The next matching jobs, up to a batch, by the list query's reads
  //    (no transaction), status by status, newest first.
  std::vector<std::string> ids;
  while (!at.done && ids.size() < batch_rows) {
    if (at.status_index >= statuses.size()) {
      at.done = true;
      break;
    }
    job_filter f;
    f.status = to_string(statuses[at.status_index]);
    f.type = r.type;
    f.limit = bulk_batch_rows;
    f.cursor = at.cursor;
    auto page = list(f);
    if (!page)
      return page.error();
    bool full = false;
    for (auto& j : page->jobs) {
      if (bulk_matches(r, j)) {
        if (out.matched == r.max) {
          out.more = true; // one more matches than max allows
          at.done = true;
          break;
        }
        if (ids.size() == batch_rows) {
          full = true; // this job starts the next batch
          break;
        }
        ++out.matched;
        ids.push_back(j.id);
      }
      at.cursor = j.id;
    }
    if (!at.done && !full && page->next_cursor.empty()) {
      ++at.status_index; // this status is read to its end
      at.cursor.clear();
    }
  }
  if (ids.empty())
    return {};
  // 2. One transaction for them. Each is read again under the write (a
  //    worker may have claimed or finished it since the list read it) and
  //    skipped unless it still matches; an operation the single call would
  //    refuse (conflict: a unique key taken, a state changed) is skipped
  //    too, and the rest of the batch goes on.
  std::vector<job> done;
  int64_t changed = 0;
  auto err = batch([&]() -> caf::error {
    done.clear();
    changed = 0;
    for (auto& id : ids) {
      auto cur = get_for_update(id);
      if (!cur) {
        if (code_of(cur.error()) == errc::not_found)
          continue;
        return cur.error();
      }
      if (!bulk_matches(r, *cur))
        continue;
      caf::error e;
      if (r.action == bulk_action::remove) {
        e = remove(id);
      } else {
        auto res = r.action == bulk_action::retry ? retry(id)
                                                  : cancel(id, r.note);
        if (res)
          done.push_back(std::move(*res));
        else
          e = res.error();
      }
      if (!e) {
        ++changed;
        continue;
      }
      auto code = code_of(e);
      if (code != errc::conflict && code != errc::not_found)
        return e;
    }
    return {};
  });
  if (err) {
    out.matched -= static_cast<int64_t>(ids.size()); // none of them done
    at.done = true;
    return err;
  }
  out.changed += changed;
  out.skipped = out.matched - out.changed;
  for (auto& j : done)
    out.jobs.push_back(std::move(j));
  return {};
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
