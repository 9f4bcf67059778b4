#include "app/config.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <limits>
#include <type_traits>

#include "storage/errors.hpp"
#include "storage/json_text.hpp"
#include "storage/rules.hpp"

namespace jobd {

namespace {

constexpr int64_t second = 1000;
constexpr int64_t minute = 60 * second;
constexpr int64_t hour = 60 * minute;
constexpr int64_t day = 24 * hour;

void add_chat_settings(settings& s, const std::string& sec, chat_config& c) {
  s.add_string(sec + ".system_prompt", &c.system_prompt,
               "System message sent before the prompt; empty = none.");
  s.add_string(sec + ".model", &c.model,
               "Model for this type when the payload names none; empty = "
               "openai.model.");
  s.add_double(sec + ".temperature", &c.temperature, 0, 2,
               "Sampling temperature when the payload gives none.");
  s.add_int(sec + ".max_tokens", &c.max_tokens, 1, 128'000,
            "max_tokens when the payload gives none.");
  s.add_int(sec + ".timeout_ms", &c.timeout_ms, 1, 3'600'000,
            "The whole HTTP exchange must finish within this many ms, or\n"
            "the transfer is aborted and the job retried.");
  s.add_int(sec + ".max_concurrency", &c.max_concurrency, 0, 10'000,
            "Jobs of this type running at once per process; 0 = only the\n"
            "pool size limits them.");
  s.add_int64(sec + ".requests_per_minute", &c.requests_per_minute, 0,
              1'000'000'000,
              "Requests per minute for this type (jobs wait for budget);\n"
              "0 = unlimited.");
  s.add_int64(sec + ".tokens_per_minute", &c.tokens_per_minute, 0,
              1'000'000'000'000LL,
              "Tokens (prompt + completion) per minute for this type (jobs\n"
              "wait for budget); 0 = unlimited.");
}

} // namespace

void add_core_settings(settings& s, jobd_config& cfg) {
  // [storage]
  s.add_string("storage.db", &cfg.storage.url,
               "Where jobs live: a SQLite file path (every jobd process on\n"
               "this machine shares it) or a postgresql:// URL (processes on\n"
               "many machines share it).",
               [](const std::string& v) -> std::string {
                 return v.empty() ? "must not be empty (a file path or a "
                                    "postgresql:// URL)"
                                  : "";
               });
  s.add_choice("storage.synchronous", &cfg.storage.synchronous,
               {"FULL", "NORMAL", "OFF"},
               "SQLite durability. FULL: an acknowledged enqueue survives\n"
               "power loss. NORMAL: survives a crash of jobd, not of the\n"
               "machine (faster). OFF: neither.");
  s.add_int("storage.busy_timeout_ms", &cfg.storage.busy_timeout_ms, 0,
            600'000,
            "How long (ms) SQLite waits for another process's write lock\n"
            "before retrying with jitter.");
  s.add_int("storage.read_connections", &cfg.storage.read_connections, 0, 64,
            "`jobd serve`: read-only database connections for the API's\n"
            "reads (GET, lists, stats, metrics), so they never wait behind\n"
            "writes; 0 = reads share the write connection. Not used with\n"
            "an in-memory database.");
  s.add_int64("storage.min_free_bytes", &cfg.runtime.store.min_free_bytes, 0,
              1LL << 50,
              "/healthz answers 503 while the database's file system has\n"
              "less free space than this many bytes (SQLite); 0 = not\n"
              "checked. Default 64 MiB.");
  s.add_duration("storage.write_error_window",
                 &cfg.runtime.store.write_error_window_ms, 0, day,
                 "/healthz answers 503 for this long after a write failed\n"
                 "(I/O error, disk full); 0 = not reported.");
  s.add_duration("storage.checkpoint_idle",
                 &cfg.runtime.store.checkpoint_idle_ms, 0, day,
                 "After this long without writes, the SQLite WAL is copied\n"
                 "into the database and truncated to 0 bytes; 0 = never.");
  s.add_duration("storage.feed_poll", &cfg.runtime.store.feed_poll_ms, 10,
                 minute,
                 "While a live stream (/api/events, the dashboard) is open,\n"
                 "how often the change feed is read for the changes other\n"
                 "processes and retention made; this process's own changes\n"
                 "are read right after each commit.");
  s.add_bool("storage.wake_sockets", &cfg.runtime.wake_sockets,
             "SQLite: processes on the database wake each other through\n"
             "Unix sockets in <db>-wake/, so a worker starts a job another\n"
             "process enqueued at once, not at its next poll. false = poll.");
  // [worker]
  auto& rt = cfg.runtime;
  s.add_int("worker.workers", &rt.pool.workers, 0, 1024,
            "Handler actors per process: how many jobs run at once.\n"
            "0 (serve only) = an API-only node that runs no jobs.");
  s.add_int("worker.prefetch", &rt.pool.prefetch, 0, 10'000,
            "Most jobs a worker claims beyond its free handlers while jobs\n"
            "are short, so a handler that finishes starts the next at once\n"
            "(see worker.prefetch_wait). 0 = claim only for free handlers.");
  s.add_duration("worker.prefetch_wait", &rt.pool.prefetch_wait_ms, 0, minute,
                 "How long a prefetched job may wait at the recent pace: the\n"
                 "worker holds workers x this / mean run time extra jobs (at\n"
                 "most worker.prefetch), none while jobs are slow; 0 = none.");
  s.add_duration("worker.job_timeout", &rt.pool.job_timeout_ms, 0, 7 * day,
                 "How long one attempt may run before it is stopped and\n"
                 "fails (retryably), when neither the job (timeoutMs) nor\n"
                 "its type (<section>.job_timeout) says. 0 = no limit.");
  s.add_duration("worker.progress_interval", &rt.pool.progress_interval_ms,
                 100, minute,
                 "How often the progress running jobs report is stored (one\n"
                 "write for all of them; a job's last report is stored as it\n"
                 "finishes). Shorter: livelier progress bars, more writes.");
  s.add_duration("worker.poll_interval", &rt.scheduler.poll_interval_ms, 10,
                 minute,
                 "How often the store is polled for due jobs. In-process\n"
                 "enqueues and retries wake the scheduler at once; the poll\n"
                 "finds jobs enqueued by other processes and scheduled jobs.");
  s.add_duration("worker.lease", &rt.store.lease_ms, 1 * second, day,
                 "How long a claimed job stays this worker's without a\n"
                 "heartbeat. A killed worker's jobs run again after this.");
  s.add_auto_duration("worker.heartbeat_interval",
                      &rt.pool.heartbeat_interval_ms,
                      &cfg.auto_heartbeat_interval, 100, hour,
                      "How often leases of running jobs are renewed; at most\n"
                      "half of worker.lease. auto = worker.lease / 3, at most\n"
                      "10s (10s for the default 30s lease).");
  s.add_auto_duration("worker.rescue_interval",
                      &rt.scheduler.rescue_interval_ms,
                      &cfg.auto_rescue_interval, 100, hour,
                      "How often expired leases are swept. auto =\n"
                      "worker.lease / 6, at most 5s (5s for the default 30s\n"
                      "lease).");
  s.add_duration("worker.shutdown_deadline", &rt.shutdown_deadline_ms, 0,
                 hour,
                 "On SIGTERM/SIGINT, how long running jobs may finish before\n"
                 "they are handed back to PENDING (not counted as a retry).");
  s.add_string("worker.ledger", &rt.pool.ledger_path,
               "If set, a file to which every job start is appended as\n"
               "'<id> <attempt> <pid>' (an audit trail); empty = off.");
  s.add_string("worker.id", &rt.store.worker_id,
               "Lease holder name; empty = host:pid:random. Must differ\n"
               "between processes.");
  add_caf_settings(s, cfg.caf); // [runtime]
  // [retry]
  s.add_duration("retry.base", &rt.retry.base_ms, 1, hour,
                 "Backoff before the first retry; doubles with each retry.");
  s.add_duration("retry.cap", &rt.retry.cap_ms, 1, day, "Longest backoff.");
  s.add_double("retry.jitter", &rt.retry.jitter, 0, 1,
               "Fraction of the backoff taken off at random so failures of a\n"
               "burst do not retry together; 0 = exact.");
  s.add_duration("worker.schedule_refresh", &rt.schedules.refresh_ms,
                 second, hour,
                 "The longest time between two looks at the recurring\n"
                 "schedules: one created or changed by another process is\n"
                 "seen within this; runs are created at their times.");
  // [schedule.NAME]: one recurring schedule per section.
  s.add_family(
    "schedule",
    {"cron", "timezone", "type", "payload", "priority", "max_retries",
     "missed", "catch_up"},
    [&cfg](const std::string& name, const std::string& key,
           const std::string& value) -> std::string {
      auto& sch = cfg.schedules[name];
      sch.name = name;
      sch.source = "config";
      auto whole = [&](int64_t lo, int64_t hi, auto& field) -> std::string {
        char* end = nullptr;
        errno = 0;
        auto v = std::strtoll(value.c_str(), &end, 10);
        if (value.empty() || *end != '\0' || errno != 0 || v < lo || v > hi)
          return "expected a whole number " + std::to_string(lo) + ".."
                 + std::to_string(hi);
        field = static_cast<std::decay_t<decltype(field)>>(v);
        return {};
      };
      if (key == "cron")
        sch.cron = value;
      else if (key == "timezone")
        sch.time_zone = value;
      else if (key == "type")
        sch.type = value;
      else if (key == "payload") {
        if (!is_json_object(value))
          return "expected a JSON object on one line, e.g. {\"topic\":\"news\"}";
        sch.payload = value;
      } else if (key == "priority")
        return whole(std::numeric_limits<int32_t>::min(),
                     std::numeric_limits<int32_t>::max(), sch.priority);
      else if (key == "max_retries")
        return whole(0, max_max_retries, sch.max_retries);
      else if (key == "missed") {
        if (value != "skip" && value != "catch_up")
          return "expected skip or catch_up";
        sch.missed = value;
      } else if (key == "catch_up") {
        auto ms = parse_duration_ms(value);
        if (!ms || *ms < 60'000 || *ms > max_catch_up_ms)
          return "expected a duration 1m..7d";
        sch.catch_up_ms = *ms;
      }
      return {};
    });
  // [types.NAME]: one job type without code per section (the keys are
  // checked one by one here, the section as a whole by validate_config).
  s.add_family("types", type_setting_keys(),
               [&cfg](const std::string& name, const std::string& key,
                      const std::string& value) -> std::string {
                 return set_type_setting(cfg.types[name], key, value);
               });
  // [retention]
  s.add_duration("retention.max_age", &cfg.runtime.retention.max_age_ms, 0, 3650 * day,
                 "COMPLETED and FAILED jobs older than this are deleted;\n"
                 "0 keeps them forever.");
  s.add_duration("retention.interval", &cfg.runtime.retention.interval_ms, second,
                 day, "How often old jobs are looked for.");
  s.add_int("retention.batch", &cfg.runtime.retention.batch, 1, 100'000,
            "Rows deleted per transaction.");
  // [log]
  s.add_choice("log.format", &cfg.log.format, {"text", "json"},
               "text: one line per event, 'time jobd: message key=value';\n"
               "json: one JSON object per line (time, level, msg, fields),\n"
               "for jq and log shippers.");
  s.add_choice("log.level", &cfg.log.level, {"debug", "info", "warn", "error"},
               "Least severe events written: debug adds a line per job\n"
               "claimed and completed (with its duration); info the life\n"
               "cycle, outages, fencing and HTTP access (if on); warn job\n"
               "failures; error what stops jobd.");
  s.add_bool("log.payloads", &cfg.log.payloads,
             "Add each job's payload (at most 2 KiB of it) to its\n"
             "'job claimed' (debug) and 'job failed' (warn) lines. Off:\n"
             "payloads may hold personal data.");
  // [openai]
  auto& h = cfg.handlers;
  s.add_string("openai.api_key", &h.openai.api_key,
               "API key; empty = the OPENAI_API_KEY environment variable.\n"
               "Never logged or stored in a job. Prefer the environment.");
  s.add_string("openai.base_url", &h.openai.base_url,
               "API base URL without /chat/completions; empty =\n"
               "OPENAI_BASE_URL, else https://api.openai.com/v1. Point it at\n"
               "any OpenAI-compatible server.");
  s.add_string("openai.model", &h.openai.model,
               "Default model (e.g. your fine-tuned model's id).");
  s.add_int("openai.connect_timeout_ms", &h.openai.connect_timeout_ms, 1,
            3'600'000, "TCP/TLS connect timeout in ms.");
  s.add_int64("openai.max_response_bytes", &h.openai.max_response_bytes, 1024,
              1LL << 30, "Largest response body accepted.");
  s.add_bool("openai.stream", &h.openai.stream,
             "Stream completions (stream: true), so a job reports the\n"
             "tokens received as they come; false for a server that\n"
             "refuses the stream fields.");
  // [export]
  s.add_string("export.directory", &h.fine_tune_export.directory,
               "Where FINE_TUNE_EXPORT writes its JSONL files (created if\n"
               "missing; relative to jobd's working directory).");
  s.add_string("export.system_prompt", &h.fine_tune_export.system_prompt,
               "System message at the start of every exported sample;\n"
               "empty = none.");
  add_chat_settings(s, "preview", h.preview);
  add_chat_settings(s, "recap", h.recap);
  // Each type's default attempt timeout (the pool's timeout_by_type).
  auto job_timeout = [&](const char* section, const char* type) {
    s.add_duration(std::string{section} + ".job_timeout",
                   &rt.pool.timeout_by_type[type], 0, 7 * day,
                   std::string{"How long one "} + type
                     + " attempt may run in all\n(waiting for rate budget "
                       "included) when the job sets\nno timeoutMs; 0 = "
                       "worker.job_timeout.");
  };
  job_timeout("export", fine_tune_export_type);
  job_timeout("preview", preview_generation_type);
  job_timeout("recap", recap_generation_type);
}

void add_http_settings(settings& s, http_config& cfg) {
  s.add_int("http.port", &cfg.port, 0, 65535,
            "TCP port of the HTTP API and dashboard (0 picks a free one)");
  s.add_string("http.bind", &cfg.bind,
               "address to listen on: 127.0.0.1 serves this machine only, "
               "0.0.0.0 every interface (set http.api_token then)",
               bind_address_error);
  s.add_int("http.body_limit", &cfg.body_limit, 1024, 256 << 20,
            "largest body in bytes of POST /api/jobs and PATCH (bigger: 413)");
  s.add_int("http.batch_body_limit", &cfg.batch_body_limit, 1024, 1 << 30,
            "largest body in bytes of POST /api/jobs/batch (bigger: 413)");
  s.add_int("http.max_batch_jobs", &cfg.max_batch_jobs, 1, 1'000'000,
            "most jobs in one batch enqueue");
  s.add_int("http.max_depth", &cfg.max_depth, 2, 1024,
            "deepest JSON nesting a request body may have");
  s.add_duration("http.header_timeout", &cfg.header_timeout_ms, 100,
                 3'600'000,
                 "time a client has to send a request header (slowloris "
                 "guard)");
  s.add_duration("http.read_timeout", &cfg.read_timeout_ms, 100, 3'600'000,
                 "time a client has to send a request body");
  s.add_duration("http.write_timeout", &cfg.write_timeout_ms, 100, 3'600'000,
                 "time a response write may take before the client is dropped");
  s.add_duration("http.idle_timeout", &cfg.idle_timeout_ms, 100, 86'400'000,
                 "how long an idle keep-alive connection stays open");
  s.add_duration("http.request_timeout", &cfg.request_timeout_ms, 100,
                 3'600'000,
                 "how long a request waits for the job store before 503");
  s.add_duration("http.sse_heartbeat", &cfg.sse_heartbeat_ms, 100, 3'600'000,
                 "interval of heartbeat comments on /api/events streams");
  s.add_int("http.max_connections", &cfg.max_connections, 1, 1'000'000,
            "most open connections; more get 503");
  s.add_string("http.api_token", &cfg.api_token,
               "bearer token the API requires (empty: the JOBD_API_TOKEN "
               "environment variable, else no auth)");
  s.add_string("http.worker_token", &cfg.worker_token,
               "bearer token of the worker protocol, /api/worker/* only "
               "(empty: the JOBD_WORKER_TOKEN environment variable, else "
               "the API token)");
  s.add_int("http.io_threads", &cfg.io_threads, 1, 256,
            "threads serving the sockets");
  s.add_bool("http.dashboard", &cfg.dashboard,
             "serve the dashboard at /jobs and /jobs-client.js");
  s.add_bool("http.access_log", &cfg.access_log,
             "log one line per HTTP request: method, path (no query), "
             "status, duration");
  s.add_string("http.cors_origins", &cfg.cors_origins,
               "web pages of these origins may use the API from a browser "
               "(CORS): comma-separated scheme://host[:port], or * for any "
               "(not with an API token); empty: none",
               cors_origins_error);
}

int64_t auto_heartbeat_interval_ms(int64_t lease_ms) {
  return std::clamp<int64_t>(lease_ms / 3, 100, 10 * second);
}

int64_t auto_rescue_interval_ms(int64_t lease_ms) {
  return std::clamp<int64_t>(lease_ms / 6, 100, 5 * second);
}

void derive_settings(jobd_config& cfg) {
  auto& rt = cfg.runtime;
  auto lease = rt.store.lease_ms;
  if (cfg.auto_heartbeat_interval)
    rt.pool.heartbeat_interval_ms = auto_heartbeat_interval_ms(lease);
  if (cfg.auto_rescue_interval)
    rt.scheduler.rescue_interval_ms = auto_rescue_interval_ms(lease);
  // A configured type's timeout_ms is its attempt timeout in the pool
  // (duty 3c) too, so the pool stops an attempt its handler overran.
  for (auto& [name, t] : cfg.types)
    if (t.handler != "external")
      rt.pool.timeout_by_type[name] = type_timeout_ms(t);
  cfg.storage.pg_session_timeout_ms
    = static_cast<int32_t>(std::min<ms_t>(lease / 2, 3'600'000));
}

void register_configured_handlers(handler_registry& registry,
                                  const jobd_config& cfg,
                                  std::shared_ptr<const clock_source> clock) {
  register_handlers(registry, cfg.handlers, cfg.types, std::move(clock));
}

std::string validate_config(const jobd_config& cfg) {
  auto& rt = cfg.runtime;
  if (rt.pool.heartbeat_interval_ms * 2 > rt.store.lease_ms)
    return "worker.heartbeat_interval (" + std::to_string(rt.pool.heartbeat_interval_ms)
           + " ms) must be at most half of worker.lease ("
           + std::to_string(rt.store.lease_ms)
           + " ms), so one late heartbeat does not lose the job; lower the "
             "interval or raise the lease";
  if (rt.retry.base_ms > rt.retry.cap_ms)
    return "retry.base (" + std::to_string(rt.retry.base_ms)
           + " ms) must not exceed retry.cap ("
           + std::to_string(rt.retry.cap_ms) + " ms)";
  if (auto err = validate_builtin_config(cfg.handlers))
    return *err;
  for (auto& [name, t] : cfg.types)
    if (auto err = validate_type_config(name, t))
      return *err;
  for (auto& [name, sch] : cfg.schedules) {
    auto where = "[schedule." + name + "] ";
    if (sch.cron.empty())
      return where + "needs cron = (five fields, e.g. 0 6 * * *, or @daily)";
    if (sch.type.empty())
      return where + "needs type = (the job type each run creates)";
    if (auto err = validate_schedule(sch))
      return where + message_of(err);
  }
  return {};
}

} // namespace jobd
