// A job_store that passes every call to a real store, except that the next
// `fail_completes` complete(), `fail_fails` fail() and `fail_claims` claim()
// calls report the database as unavailable (as PostgreSQL does while it
// restarts; claim() reports `claim_error` instead when set), and the next
// `full_enqueues` enqueue() calls report a full disk; hold_enqueues() makes
// enqueue() hang until released.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>

#include "storage/store.hpp"

namespace jobd::test {

class flaky_store final : public job_store {
public:
  explicit flaky_store(std::unique_ptr<job_store> inner)
    : inner_(std::move(inner)) {}

  std::atomic<int> fail_completes{0};
  std::atomic<int> fail_fails{0};
  std::atomic<int> fail_claims{0};
  /// What a failed claim() reports (default: the database unavailable).
  std::atomic<errc> claim_error{errc::unavailable};
  /// The next this many enqueue() calls report a full disk (errc::full),
  /// storing nothing, as SQLite and PostgreSQL do when out of space.
  std::atomic<int> full_enqueues{0};
  /// Runs once at the start of the next changes() call (e.g. another
  /// process commits between the store actor's two reads), then is cleared.
  std::function<void()> before_changes;
  /// Runs once right after the next list() call read its page (another
  /// process changes a job between a bulk call's read and its write), then
  /// is cleared.
  std::function<void()> after_list;
  /// claim() calls so far.
  std::atomic<int> claims{0};
  /// While true, heartbeat() reports the database unreachable.
  std::atomic<bool> fail_heartbeats{false};
  /// heartbeat() calls so far.
  std::atomic<int> heartbeats{0};
  /// progress() calls so far.
  std::atomic<int> progress_writes{0};
  /// The largest `limit` any claim() was called with.
  std::atomic<int32_t> max_claim_limit{0};

  /// While held, enqueue() waits (a database that hangs) until released.
  void hold_enqueues(bool held) {
    {
      std::lock_guard<std::mutex> guard{hold_mtx_};
      held_ = held;
    }
    hold_cv_.notify_all();
  }

  caf::expected<std::vector<job>>
  enqueue(const std::vector<new_job>& jobs) override {
    {
      std::unique_lock<std::mutex> guard{hold_mtx_};
      hold_cv_.wait(guard, [this] { return !held_; });
    }
    if (full_enqueues > 0) {
      --full_enqueues;
      return make_error(errc::full, "the database is full (no space left on "
                                    "its disk); nothing was stored "
                                    "(simulated)");
    }
    return inner_->enqueue(jobs);
  }
  caf::expected<std::vector<job>>
  claim(const std::string& worker, int32_t limit, ms_t lease_ms) override {
    if (limit > max_claim_limit)
      max_claim_limit = limit;
    ++claims;
    if (fail_claims > 0) {
      --fail_claims;
      if (claim_error != errc::unavailable)
        return make_error(claim_error, "claim failed (simulated)");
      return down();
    }
    return inner_->claim(worker, limit, lease_ms);
  }
  caf::expected<bool> complete(const lease_ref& ref, const std::string& worker,
                               const std::string& result_json) override {
    if (fail_completes > 0) {
      --fail_completes;
      return down();
    }
    return inner_->complete(ref, worker, result_json);
  }
  caf::expected<fail_outcome> fail(const lease_ref& ref,
                                   const std::string& worker,
                                   const std::string& error, bool permanent,
                                   ms_t retry_delay_ms) override {
    if (fail_fails > 0) {
      --fail_fails;
      return down();
    }
    return inner_->fail(ref, worker, error, permanent, retry_delay_ms);
  }
  caf::expected<std::vector<std::string>>
  heartbeat(const std::string& worker, const std::vector<lease_ref>& refs,
            ms_t lease_ms) override {
    ++heartbeats;
    if (fail_heartbeats.load()) // a partition: the database does not answer
      return make_error(errc::unavailable,
                        "the database does not answer (simulated)");
    return inner_->heartbeat(worker, refs, lease_ms);
  }
  caf::expected<std::vector<std::string>>
  progress(const std::string& worker,
           const std::vector<progress_update>& updates) override {
    ++progress_writes;
    return inner_->progress(worker, updates);
  }
  caf::expected<int64_t> release(const std::string& worker,
                                 const std::vector<lease_ref>& refs) override {
    return inner_->release(worker, refs);
  }
  caf::expected<int64_t>
  rescue_expired(std::vector<job>* rescued = nullptr) override {
    return inner_->rescue_expired(rescued);
  }
  caf::expected<job> get(const std::string& id) override {
    return inner_->get(id);
  }
  caf::expected<std::vector<job>>
  claim_types(const std::string& worker, const std::vector<std::string>& types,
              int32_t limit, ms_t lease_ms) override {
    return inner_->claim_types(worker, types, limit, lease_ms);
  }
  caf::error declare_types(const std::vector<std::string>& external,
                           const std::vector<std::string>& in_process) override {
    return inner_->declare_types(external, in_process);
  }
  caf::expected<std::vector<std::string>> external_types() override {
    return inner_->external_types();
  }
  caf::error see_workers(const std::vector<worker_info>& seen) override {
    return inner_->see_workers(seen);
  }
  caf::expected<worker_list> workers() override {
    return inner_->workers();
  }
  caf::expected<attempt_history> attempts(const std::string& id,
                                          int32_t limit) override {
    return inner_->attempts(id, limit);
  }
  caf::expected<job> get_for_update(const std::string& id) override {
    return inner_->get_for_update(id);
  }
  caf::expected<job_page> list(const job_filter& f) override {
    auto page = inner_->list(f);
    if (after_list) {
      auto fn = std::move(after_list);
      after_list = nullptr;
      fn();
    }
    return page;
  }
  caf::expected<job> retry(const std::string& id) override {
    return inner_->retry(id);
  }
  caf::error remove(const std::string& id) override {
    return inner_->remove(id);
  }
  caf::expected<job> update(const std::string& id,
                            const job_patch& p) override {
    return inner_->update(id, p);
  }
  caf::expected<type_pause> pause_type(const std::string& type,
                                       const std::string& note) override {
    return inner_->pause_type(type, note);
  }
  caf::expected<bool> resume_type(const std::string& type) override {
    return inner_->resume_type(type);
  }
  caf::expected<schedule> put_schedule(const schedule& s) override {
    return inner_->put_schedule(s);
  }
  caf::expected<std::vector<schedule>> schedules() override {
    return inner_->schedules();
  }
  caf::expected<bool> remove_schedule(const std::string& name) override {
    return inner_->remove_schedule(name);
  }
  caf::expected<schedule> pause_schedule(const std::string& name,
                                         bool paused) override {
    return inner_->pause_schedule(name, paused);
  }
  caf::expected<std::vector<job>>
  fire_schedule(const std::string& name, ms_t run_at, bool by_hand) override {
    return inner_->fire_schedule(name, run_at, by_hand);
  }
  caf::expected<job_counts> counts() override { return inner_->counts(); }
  caf::expected<int64_t> change_position() override {
    return inner_->change_position();
  }
  caf::expected<change_page> changes(int64_t after, int32_t limit) override {
    if (auto fn = std::move(before_changes)) {
      before_changes = nullptr;
      fn();
    }
    return inner_->changes(after, limit);
  }
  caf::expected<int64_t> prune(ms_t older_than, int32_t batch) override {
    return inner_->prune(older_than, batch);
  }
  caf::error batch(const std::function<caf::error()>& fn) override {
    return inner_->batch(fn);
  }
  caf::error checkpoint() override { return inner_->checkpoint(); }
  int64_t free_bytes() override { return inner_->free_bytes(); }

private:
  std::mutex hold_mtx_;
  std::condition_variable hold_cv_;
  bool held_ = false;
  static caf::error down() {
    return make_error(errc::unavailable, "cannot connect to the database "
                                         "(simulated restart)");
  }
  std::unique_ptr<job_store> inner_;
};

} // namespace jobd::test
