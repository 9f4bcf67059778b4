// A job handler runs one type of job. Handlers are registered by type name in
// a handler_registry; the handler actors call run() for each claimed job.
//
// run() may block (file I/O, HTTP): it runs in a handler actor of its own
// thread. It must be safe to call concurrently from several handler actors.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "storage/job.hpp"

namespace jobd {

/// What a run produced.
struct outcome {
  bool ok = false;
  std::string result;  ///< JSON text (ok only)
  std::string error;   ///< one line (failure only)
  bool permanent = false; ///< retrying cannot help (bad payload, 401, ...)
  ms_t retry_after_ms = 0; ///< >0: retry no sooner than this (e.g. 429)

  static outcome success(std::string result_json) {
    outcome o;
    o.ok = true;
    o.result = std::move(result_json);
    return o;
  }
  static outcome failure(std::string error, bool permanent = false,
                         ms_t retry_after_ms = 0) {
    outcome o;
    o.error = std::move(error);
    o.permanent = permanent;
    o.retry_after_ms = retry_after_ms;
    return o;
  }
};

/// A running job's latest progress, passed from its handler's thread to
/// the pool. A handler may report as often as it likes (every sample,
/// every token): only the latest report is kept, and the pool stores it at
/// most once per worker.progress_interval (actors/pool_state.hpp). Thread
/// safe.
class progress_slot {
public:
  /// Keeps this report (fraction 0..1, negative = unknown; the message is
  /// cleaned and cut by progress_text()), replacing an unstored one.
  void report(double fraction, std::string_view message);

  /// The report not stored yet, if any; taking it marks it stored.
  std::optional<std::pair<double, std::string>> take();

  /// Forgets any report (a new job starts).
  void reset();

private:
  std::mutex mutex_;
  double fraction_ = -1;
  std::string message_;
  bool fresh_ = false;
};

/// What a handler may ask of the runtime while it runs.
struct run_context {
  /// Becomes true when the runtime shuts down or gives the job up; a long
  /// handler should return soon after (its outcome is then discarded and
  /// the job handed back).
  const std::atomic<bool>* cancelled = nullptr;

  /// Where report_progress() goes; null = nowhere (tests, benchmarks).
  progress_slot* progress = nullptr;

  bool is_cancelled() const {
    return cancelled != nullptr && cancelled->load();
  }

  /// Reports how far the job is: `fraction` done (0..1; negative when the
  /// total is unknown) and a short message ("120 of 300 samples written").
  /// Cheap: call it as often as the work advances; the runtime stores the
  /// latest report now and then (not one write per call), and the API,
  /// the events and the dashboard show it as the job's `progress`.
  void report_progress(double fraction, std::string_view message) const {
    if (progress != nullptr)
      progress->report(fraction, message);
  }
};

/// A payload problem, named for the user: field "payload.samples[3].prompt",
/// message "must be a string".
struct field_error {
  std::string field;
  std::string message;
};

class job_handler {
public:
  virtual ~job_handler() = default;

  /// Checks a payload before the job is stored (HTTP and CLI call this), so
  /// a bad payload is refused at once instead of failing later. The default
  /// accepts any JSON object.
  virtual std::optional<field_error> validate(std::string_view payload) const;

  /// Runs one job. Exceptions derived from std::exception count as a
  /// retryable failure; anything else kills the handler actor, which the
  /// pool replaces (the job is failed with the reason and retried).
  virtual outcome run(const job& j, run_context& ctx) = 0;

  /// How many jobs of this type may run at once in one process (0 = no
  /// limit beyond the pool size).
  virtual int32_t max_concurrency() const { return 0; }

  /// False for a type run by workers outside jobd (handler = external):
  /// its jobs are claimed only by them (job_store::claim_types), never by
  /// this process's pool (job_store::declare_types marks it).
  virtual bool in_process() const { return true; }
};

/// Handlers by job type. Filled at start-up, read-only afterwards.
class handler_registry {
public:
  void add(std::string type, std::shared_ptr<job_handler> h) {
    handlers_[std::move(type)] = std::move(h);
  }

  /// The handler for `type`, or nullptr.
  std::shared_ptr<job_handler> find(const std::string& type) const {
    auto i = handlers_.find(type);
    return i == handlers_.end() ? nullptr : i->second;
  }

  /// Registered type names, sorted.
  std::vector<std::string> types() const {
    std::vector<std::string> out;
    for (auto& kv : handlers_)
      out.push_back(kv.first);
    return out;
  }

  /// The type names whose handlers run in this process (in_process()),
  /// sorted; and those served by external workers.
  std::vector<std::string> in_process_types() const;
  std::vector<std::string> external_types() const;

  /// The registered type names for a message: "ECHO, FINE_TUNE_EXPORT".
  std::string type_list() const;

  /// Validates a payload for `type`: unknown types are refused (field
  /// "type"), and the payload must satisfy the handler's validate().
  std::optional<field_error> validate(const std::string& type,
                                      std::string_view payload) const;

private:
  std::map<std::string, std::shared_ptr<job_handler>> handlers_;
};

} // namespace jobd
