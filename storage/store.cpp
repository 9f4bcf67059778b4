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

caf::expected<bulk_result> job_store::bulk(const bulk_request& r) {
  if (auto err = validate_bulk(r))
    return err;
  bulk_result out;
  out.action = r.action;
  std::vector<std::string> ids; // matched, not yet acted on
  // One transaction for up to bulk_batch_rows jobs. Each is read again
  // under the write (a worker may have claimed or finished it since the
  // list read it) and skipped unless it still matches; an operation the
  // single call would refuse (conflict: a unique key taken, a state
  // changed) is skipped too, the rest of the batch goes on.
  auto apply = [&]() -> caf::error {
    if (ids.empty())
      return {};
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
    if (err)
      return err;
    out.changed += changed;
    for (auto& j : done)
      out.jobs.push_back(std::move(j));
    ids.clear();
    return {};
  };
  for (auto status : bulk_statuses(r)) {
    job_filter f;
    f.status = to_string(status);
    f.type = r.type;
    f.limit = bulk_batch_rows;
    for (;;) {
      auto page = list(f);
      if (!page)
        return page.error();
      for (auto& j : page->jobs) {
        if (!bulk_matches(r, j))
          continue;
        if (out.matched == r.max) {
          out.more = true;
          break;
        }
        ++out.matched;
        ids.push_back(j.id);
        if (ids.size() == static_cast<size_t>(bulk_batch_rows))
          if (auto err = apply())
            return err;
      }
      if (out.more || page->next_cursor.empty())
        break;
      f.cursor = page->next_cursor;
    }
    if (out.more)
      break;
  }
  if (auto err = apply())
    return err;
  out.skipped = out.matched - out.changed;
  return out;
}

} // namespace jobd
