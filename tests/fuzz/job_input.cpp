// Fuzz target: what clients send to create and change jobs: the bodies of
// POST /api/jobs, POST /api/jobs/batch and PATCH /api/jobs/{id}, and the
// query of GET /api/jobs (http/job_input), then the storage rules every
// backend applies (storage/rules: validate_new_jobs, validate_filter), with
// the built-in job types' payload checks.
// Input: first byte picks the entry point (mod 4: job body, batch body,
// patch body, list query); the rest is the body or query.
// Invariants: no crash or UB; a refusal has a message that names its field;
// what the HTTP layer accepts, storage accepts too (one rule, not two that
// drift), with well-formed JSON and times that show and read back the same.
#include <memory>

#include "fuzz/fuzz_check.hpp"
#include "handlers/builtin.hpp"
#include "http/job_input.hpp"
#include "storage/errors.hpp"
#include "storage/json_text.hpp"
#include "storage/rules.hpp"
#include "storage/store.hpp"

using namespace jobd;
using jobd::fuzz::require;

namespace {

const handler_registry& registry() {
  static const auto reg = [] {
    auto r = std::make_shared<handler_registry>();
    builtin_config cfg;
    cfg.fine_tune_export.directory = "/nonexistent/jobd-fuzz"; // never run
    register_builtin_handlers(*r, cfg,
                              std::make_shared<system_clock_source>());
    return r;
  }();
  return *reg;
}

// Small limits, so short inputs reach them.
job_input_limits limits() {
  job_input_limits l;
  l.max_depth = 8;
  l.max_batch_jobs = 5;
  return l;
}

void check_refusal(const input_error& e, const std::string& input) {
  require(!e.message.empty(), "a refusal must say why", input);
  require(e.status == 400, "input refusals are 400",
          std::to_string(e.status) + " " + e.message);
  require(e.code == "bad_json" || e.code == "invalid_field",
          "refusal codes are bad_json or invalid_field", e.code);
  if (e.code == "invalid_field" && e.field.empty()) {
    // Field "" is the body as a whole (the root, as in a JSON pointer).
    require(e.message.rfind("the request body ", 0) == 0,
            "a refusal of the whole body says so", e.message);
  } else if (e.code == "invalid_field") {
    require(e.message.find(e.field) != std::string::npos,
            "the message names the field", e.field + " / " + e.message);
  }
}

void check_time(ms_t t, const char* what) {
  if (t == 0)
    return; // null: now
  ms_t again = 0;
  require(parse_time(format_time(t), again) && again == t, what,
          std::to_string(t) + " shown as " + format_time(t));
}

void check_json_text(const std::string& text, const char* what) {
  std::string why;
  require(check_json(text, why, max_json_depth), what, text + ": " + why);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0)
    return 0;
  auto mode = data[0] % 9;
  auto body = fuzz::text_of(data + 1, size - 1);
  std::string input{body};
  switch (mode) {
    case 0:
    case 1: {
      std::vector<new_job> jobs;
      bool many = false;
      if (auto e = parse_jobs_body(body, mode == 1, registry(), limits(), jobs,
                                   many)) {
        check_refusal(*e, input);
        return 0;
      }
      require(!jobs.empty(), "an accepted body holds at least one job", input);
      require(many || jobs.size() == 1, "a single job body yields one job");
      require(jobs.size() <= limits().max_batch_jobs,
              "a batch holds at most max_batch_jobs");
      auto err = validate_new_jobs(jobs);
      require(!err, "storage accepts what the HTTP layer accepts", input);
      for (auto& nj : jobs) {
        require(registry().find(nj.type) != nullptr,
                "an accepted job has a registered type", nj.type);
        require(is_json_object(nj.payload),
                "an accepted payload is a JSON object", nj.payload);
        require(!registry().validate(nj.type, nj.payload),
                "an accepted payload passes its handler's check again",
                nj.payload);
        check_time(nj.scheduled_for,
                   "an accepted scheduledFor shows and reads back the same");
      }
      return 0;
    }
    case 2: {
      job_patch p;
      if (auto e = parse_patch_body(body, limits(), p)) {
        check_refusal(*e, input);
        return 0;
      }
      require(p.has_status || p.has_priority || p.has_scheduled_for
                || p.has_max_retries || p.has_result || p.has_error,
              "an accepted patch changes something", input);
      if (p.has_max_retries)
        require(p.max_retries >= 0 && p.max_retries <= max_max_retries,
                "maxRetries is 0..100");
      if (p.has_result && !p.result.empty())
        check_json_text(p.result, "an accepted result is JSON");
      if (p.has_scheduled_for)
        check_time(p.scheduled_for,
                   "an accepted scheduledFor shows and reads back the same");
      // Applying it to a job in each state either works or is a conflict.
      for (auto st : {job_status::pending, job_status::processing,
                      job_status::completed, job_status::failed,
                      job_status::cancelled}) {
        job j;
        j.id = "01JFUZZ0000000000000000000";
        j.status = st;
        auto err = apply_patch(j, p, 1'000'000);
        require(!err || code_of(err) == errc::conflict,
                "a patch applies or conflicts", message_of(err));
      }
      return 0;
    }
    case 4: {
      bulk_request r;
      if (auto e = parse_bulk_body(body, limits(), r)) {
        check_refusal(*e, input);
        return 0;
      }
      // What the shape allows, the rules decide: accepted or refused with
      // a message that names a field.
      auto err = validate_bulk(r, registry().types());
      if (err) {
        require(code_of(err) == errc::invalid, "a bulk refusal is invalid",
                message_of(err));
        require(message_of(err).find(": ") != std::string::npos,
                "a bulk refusal names its field", message_of(err));
      }
      return 0;
    }
    case 5: {
      schedule sch;
      sch.name = "fuzz";
      if (auto e = parse_schedule_body(body, registry(), limits(), sch)) {
        check_refusal(*e, input);
        return 0;
      }
      auto err = validate_schedule(sch);
      require(!err, "storage accepts the schedules the HTTP layer accepts",
              input + ": " + message_of(err));
      require(is_json_object(sch.payload), "an accepted payload is an object",
              sch.payload);
      return 0;
    }
    case 6: {
      worker_fetch f;
      if (auto e = parse_worker_fetch(body, limits(), f)) {
        check_refusal(*e, input);
        return 0;
      }
      require(!f.worker.empty() && f.worker.size() <= max_worker_id_bytes
                && !has_control_chars(f.worker),
              "an accepted worker id is 1..100 bytes of text", f.worker);
      require(!f.types.empty() && f.types.size() <= 50,
              "a fetch names 1..50 types", input);
      require(f.max >= 1 && f.max <= max_worker_fetch, "max is 1..100",
              input);
      require(f.wait_ms >= 0 && f.wait_ms <= max_worker_wait_ms,
              "waitMs is 0..60000", input);
      require(f.lease_ms == 0
                || (f.lease_ms >= min_worker_lease_ms
                    && f.lease_ms <= max_worker_lease_ms),
              "leaseMs is unset or 1000..3600000", input);
      // The host reaches a row and the dashboard: text within its limit.
      worker_info seen;
      seen.id = f.worker;
      seen.host = f.host;
      seen.types = f.types;
      require(f.host.size() <= max_worker_host_bytes
                && !validate_worker_seen(seen),
              "an accepted fetch is a sighting the store takes", input);
      return 0;
    }
    case 7: {
      bool fail = (data[0] / 9) & 1; // complete or fail by the first byte
      worker_report r;
      if (auto e = parse_worker_report(body, limits(), fail, r)) {
        check_refusal(*e, input);
        return 0;
      }
      require(is_job_id(r.ref.id) && r.ref.attempt >= 1,
              "an accepted report names a job id and an attempt", input);
      check_json_text(r.result, "a complete's result is JSON");
      if (fail) {
        require(!r.error.empty() && r.error.size() <= max_worker_error_bytes
                  && !has_control_chars(r.error),
                "a stored error is 1..2000 bytes without control characters",
                r.error);
        require(r.retry_after_ms >= 0 && r.retry_after_ms <= 86'400'000,
                "retryAfterMs is 0..86400000", input);
      }
      return 0;
    }
    case 8: {
      worker_beat b;
      if (auto e = parse_worker_beat(body, limits(), b)) {
        check_refusal(*e, input);
        return 0;
      }
      require(b.jobs.size() <= 1000, "a heartbeat names at most 1000 jobs",
              input);
      for (auto& ref : b.jobs)
        require(is_job_id(ref.id) && ref.attempt >= 1,
                "each renewed attempt is an id and an attempt", input);
      return 0;
    }
    default: {
      job_filter f;
      if (auto e = parse_list_query(body, f)) {
        check_refusal(*e, input);
        return 0;
      }
      auto err = validate_filter(f);
      require(!err, "storage accepts the filters the HTTP layer accepts",
              input + ": " + message_of(err));
      return 0;
    }
  }
}
