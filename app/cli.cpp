#include "app/cli.hpp"

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <sstream>
#include <tuple>

#include "app/settings.hpp"
#include "storage/sqlite/wake_dir.hpp"
#include "handlers/builtin.hpp"
#include "http/job_json.hpp"
#include "storage/json_text.hpp"
#include "storage/postgres/pg_conninfo.hpp"
#include "storage/rules.hpp"

namespace jobd {

command_line parse_command_line(int argc, char** argv,
                                const std::vector<std::string>& switches) {
  // Words: the first bare token, and for "jobs"/"config"/"schedules" the
  // second one;
  // every other bare token is a positional argument. Flags may come anywhere.
  command_line cl;
  auto wants_word = [&] {
    if (cl.words.empty())
      return true;
    return cl.words.size() == 1
           && (cl.words[0] == "jobs" || cl.words[0] == "config"
               || cl.words[0] == "schedules");
  };
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--", 0) == 0 && a.size() > 2) {
      auto name = a.substr(2);
      std::optional<std::string> value;
      auto eq = name.find('=');
      if (eq != std::string::npos) {
        value = name.substr(eq + 1);
        name = name.substr(0, eq);
      } else if (std::find(switches.begin(), switches.end(), name)
                 != switches.end()) {
        value = "true";
      } else if (i + 1 < argc) {
        value = argv[++i];
      }
      // --set may be given many times; a map would keep only the last.
      if (name == "set")
        cl.sets.push_back(std::move(value));
      else
        cl.flags[name] = std::move(value);
    } else if (a == "-h") {
      cl.flags["help"] = "true";
    } else if (wants_word()) {
      cl.words.push_back(a);
    } else {
      cl.args.push_back(a);
    }
  }
  return cl;
}

namespace {

// Removes flag `name` from `cl`: false if it was not given, else its value
// (nullopt when the command line ended before it).
bool take(command_line& cl, const std::string& name,
          std::optional<std::string>& out) {
  auto i = cl.flags.find(name);
  if (i == cl.flags.end())
    return false;
  out = std::move(i->second);
  cl.flags.erase(i);
  return true;
}

// The same for a flag whose value is known to be there (run_jobs_command
// refuses a missing value first).
bool take(command_line& cl, const std::string& name, std::string& out) {
  std::optional<std::string> v;
  if (!take(cl, name, v))
    return false;
  out = v.value_or("");
  return true;
}

std::string missing_value(const std::string& flag) {
  return "--" + flag + " needs a value";
}

} // namespace

namespace {

// A password on the command line can be read by every user of the machine
// (/proc/<pid>/cmdline, ps): say so once, on stderr, and how to avoid it.
void warn_if_password(const std::string& url, const std::string& where) {
  if (!pg_url_has_password(url))
    return;
  std::cerr << "jobd: warning: the " << where
            << " URL carries a password, which every user of this machine "
               "can read (ps, /proc/<pid>/cmdline); put it in PGPASSWORD, "
               "~/.pgpass or storage.db of a config file only you can read "
               "(chmod 600)"
            << std::endl;
}

} // namespace

std::string load_config(command_line& cl, settings& s, jobd_config& cfg) {
  std::optional<std::string> path;
  if (take(cl, "config", path)) {
    if (!path)
      return missing_value("config");
    auto err = s.load_file(*path);
    if (!err.empty())
      return err;
  }
  // Flags override the file. Each maps to a named setting, so errors name
  // both the flag and the setting.
  static const std::vector<std::pair<std::string, std::string>> shortcuts = {
    {"db", "storage.db"},
    {"workers", "worker.workers"},
    {"poll-interval", "worker.poll_interval"},
    {"lease", "worker.lease"},
    {"port", "http.port"},
    {"bind", "http.bind"},
    {"api-token", "http.api_token"},
  };
  for (auto& [flag, setting] : shortcuts) {
    std::optional<std::string> v;
    if (!take(cl, flag, v))
      continue;
    if (!v)
      return missing_value(flag);
    auto err = s.set(setting, *v, "--" + flag);
    if (!err.empty())
      return err;
    if (setting == "storage.db")
      warn_if_password(*v, "--db");
  }
  auto sets = std::move(cl.sets);
  cl.sets.clear();
  for (auto& given : sets) {
    if (!given)
      return missing_value("set");
    const std::string& kv = *given;
    auto eq = kv.find('=');
    if (eq == std::string::npos)
      return "--set expects name=value (e.g. --set retry.cap=10s), got '" + kv
             + "'";
    auto err = s.set(kv.substr(0, eq), kv.substr(eq + 1), "--set");
    if (!err.empty())
      return err;
    if (kv.substr(0, eq) == "storage.db")
      warn_if_password(kv.substr(eq + 1), "--set storage.db");
  }
  derive_settings(cfg);
  return validate_config(cfg);
}

std::string usage_text() {
  return R"(jobd - a durable background job server

Usage:
  jobd serve  [options]     HTTP API + dashboard (/jobs) + workers
  jobd worker [options]     workers only (scheduler + handler pool)
  jobd jobs add --type T [--payload JSON] [--priority N] [--at ISO-8601]
                [--max-retries N] [--unique-key K [--unique-states S,S..]
                [--unique-period-ms N]] [--timeout DURATION]
                                                  prints the new job's id
                (a taken --unique-key: the holder's id, and a note)
  jobd jobs list [--status S] [--type T] [--search TEXT] [--limit N]
                 [--cursor C] [--json]    TEXT: an id prefix, or text in a
                            payload or error (the newest 10,000 jobs)
  jobd jobs get ID          the job as JSON
  jobd jobs attempts ID [--json]
                            each attempt: worker, start, how long, outcome
                            (running, completed, failed, lease_expired,
                            released, cancelled) and error; oldest first
  jobd jobs workers [--json]
                            the external workers seen in the last day:
                            online or offline, host, types, last seen,
                            the jobs each holds
  jobd jobs retry ID        a FAILED job back to PENDING
  jobd jobs cancel ID [--reason R] [--by B]
                            a PENDING or PROCESSING job to CANCELLED (a
                            running one stops at its worker's next heartbeat)
  jobd jobs delete ID       delete a job (not while PROCESSING)
  jobd jobs retry --all [--type T] [--max N]
  jobd jobs cancel --all [--type T] [--status S] [--reason R] [--by B]
                   [--max N]
  jobd jobs delete --all [--type T] [--status S] [--finished-before AGE|ISO]
                   [--max N]
                            the same for every matching job (retry: FAILED;
                            cancel: PENDING and PROCESSING; delete:
                            COMPLETED, FAILED, CANCELLED), newest first, at
                            most N (default 1000, up to 10000), 500 to a
                            transaction; prints the counts. AGE: 7d, 12h
  jobd jobs pause TYPE [--reason R] [--by B]
                            no worker (any process) starts TYPE's jobs
                            until resumed; running ones finish
  jobd jobs resume TYPE     TYPE's jobs run again
  jobd jobs stats           counts by status and type, and paused types
  jobd schedules list [--json]
                            recurring schedules with their last and next run
  jobd schedules add NAME --cron EXPR --type T [--payload JSON] [--tz ZONE]
                [--priority N] [--max-retries N] [--missed skip|catch_up]
                [--catch-up DURATION]
                            create or redefine a schedule (EXPR: five cron
                            fields or @hourly, @daily, @weekly, @monthly)
  jobd schedules pause|resume|delete NAME
  jobd schedules run-now NAME
                            one job from the schedule now; prints its id
  jobd config defaults      every setting with its default and help
  jobd config check         load and validate the config, then exit
  jobd doctor               check storage, disk, export directory and the
                            OpenAI API as configured; creates nothing
  jobd bench [--jobs N] [--rounds R] [--scale ROWS] [--only KEYS] [--json]
                            workloads W1-W4 beside raw baselines, on fresh
                            databases (never storage.db's own tables);
                            --only scale [--live ROWS]: W1/W2 on ROWS
                            finished + live jobs against an empty table

Options:
  --config FILE             settings file (see conf/jobd.ini)
  --db PATH|URL             storage.db: SQLite file or postgresql:// URL
  --workers N               worker.workers
  --poll-interval DUR       worker.poll_interval (e.g. 250ms)
  --lease DUR               worker.lease (e.g. 30s)
  --port N, --bind ADDR     http.port, http.bind (serve)
  --api-token TOKEN         http.api_token (serve)
  --set NAME=VALUE          any setting, e.g. --set retry.cap=10s
  --help                    this text

Job states: PENDING -> PROCESSING -> COMPLETED | FAILED. Failures retry
with backoff (retry.base * 2^retryCount, capped at retry.cap) up to
maxRetries; FAILED jobs can be retried by hand.
)";
}

namespace {

// Prints one error line and returns the exit code.
int error_line(const std::string& msg, int code) {
  std::cerr << "jobd: " << msg << std::endl;
  return code;
}

// A failure after the input was accepted (no such job, a conflict, the
// database): exit 1.
int fail_line(const std::string& msg) { return error_line(msg, 1); }

// Input refused before the database is opened (a bad word, flag or flag
// value): exit 2, as for every other usage error (see exit_with_error).
int usage_error(const std::string& msg) { return error_line(msg, 2); }

void print_job_line(const job& j) {
  std::printf("%-26s  %-10s  %-20s  pri=%-4d retries=%d/%d  %s\n",
              j.id.c_str(), to_string(j.status), j.type.c_str(), j.priority,
              j.retry_count, j.max_retries,
              format_time(j.created_at).c_str());
}

// A store message about new_job fields in the flags' words:
// "uniqueKey: ... uniqueStates" reads "unique-key: ... unique-states".
std::string flag_name(std::string message) {
  static const std::pair<const char*, const char*> names[] = {
    {"uniquePeriodMs", "unique-period-ms"},
    {"timeoutMs", "timeout"},
    {"uniqueStates", "unique-states"},
    {"uniqueKey", "unique-key"},
    {"maxRetries", "max-retries"},
  };
  for (auto& [field, flag] : names)
    for (auto at = message.find(field); at != std::string::npos;
         at = message.find(field, at))
      message.replace(at, std::strlen(field), flag);
  return message;
}

} // namespace

bool parse_int_flag(const std::string& flag, const std::string& v,
                    int64_t min, int64_t max, int64_t& out, std::string& err) {
  try {
    size_t pos = 0;
    auto n = std::stoll(v, &pos);
    if (pos == v.size() && n >= min && n <= max) {
      out = n;
      return true;
    }
  } catch (...) {
  }
  err = "--" + flag + " must be a whole number " + std::to_string(min) + ".."
        + std::to_string(max) + ", got '" + v + "'";
  return false;
}

int run_jobs_command(command_line& cl, const jobd_config& cfg) {
  auto sub = cl.words.size() > 1 ? cl.words[1] : "";
  auto clock = std::make_shared<system_clock_source>();
  handler_registry registry;
  register_configured_handlers(registry, cfg, clock);
  // Check the words and flags before touching the database.
  static const std::map<std::string, std::vector<std::string>> allowed = {
    {"add",
     {"type", "payload", "priority", "at", "max-retries", "unique-key",
      "unique-states", "unique-period-ms", "timeout"}},
    {"list", {"status", "type", "search", "limit", "cursor", "json"}},
    {"get", {}},
    {"attempts", {"json"}},
    {"retry", {"all", "type", "max"}},
    {"cancel", {"reason", "by", "all", "type", "status", "max"}},
    {"delete", {"all", "type", "status", "finished-before", "max"}},
    {"pause", {"reason", "by"}},
    {"resume", {}},
    {"stats", {"json"}},
    {"workers", {"json"}},
  };
  auto a = allowed.find(sub);
  if (a == allowed.end())
    return usage_error(sub.empty()
                         ? "jobs needs a subcommand: add, list, get, "
                           "attempts, retry, cancel, delete, pause, resume, "
                           "stats or workers"
                         : "unknown subcommand 'jobs " + sub
                             + "' (add, list, get, attempts, retry, cancel, "
                               "delete, pause, resume, stats, workers)");
  for (auto& [name, value] : cl.flags) {
    if (std::find(a->second.begin(), a->second.end(), name) == a->second.end())
      return usage_error("unknown option --" + name + " for 'jobs " + sub
                         + "'");
    if (!value)
      return usage_error(missing_value(name));
  }
  // retry, cancel, delete --all: every matching job (job_store::bulk).
  bool bulk = cl.flags.count("all") > 0;
  if (bulk && !cl.args.empty())
    return usage_error("'jobs " + sub + " --all' takes no job id (got '"
                       + cl.args[0] + "')");
  if (!bulk && (sub == "retry" || sub == "cancel" || sub == "delete"))
    for (auto flag : {"type", "status", "max", "finished-before"})
      if (cl.flags.count(flag) > 0)
        return usage_error("--" + std::string{flag} + " is for 'jobs " + sub
                           + " --all'");
  bool needs_id = (sub == "get" || sub == "attempts" || sub == "retry"
                   || sub == "delete" || sub == "cancel")
                  && !bulk;
  if (needs_id && cl.args.size() != 1)
    return usage_error("'jobs " + sub + "' needs exactly one job id");
  bool needs_type = sub == "pause" || sub == "resume";
  if (needs_type && cl.args.size() != 1)
    return usage_error("'jobs " + sub + "' needs exactly one job type");
  if (needs_type) {
    auto types = registry.types();
    if (auto err = validate_pause(cl.args[0], ""))
      return usage_error("jobs " + sub + ": " + message_of(err));
    // Only a type this jobd runs can be paused (a typo must not pause
    // nothing); any name can be resumed.
    if (sub == "pause"
        && std::find(types.begin(), types.end(), cl.args[0]) == types.end()) {
      std::string known;
      for (auto& t : types)
        known += (known.empty() ? "" : ", ") + t;
      return usage_error("jobs pause: no job type '" + cl.args[0]
                         + "'; the types are " + known);
    }
  }
  if (!needs_id && !needs_type && !cl.args.empty())
    return usage_error("unexpected argument '" + cl.args[0] + "'");
  if (needs_id && !is_job_id(cl.args[0]))
    return usage_error("'" + cl.args[0]
                       + "' is not a job id (26 characters, as printed by "
                         "'jobs add')");
  // Parse the add/list flags fully before opening the store.
  new_job nj;
  job_filter filter;
  std::string err;
  if (sub == "add") {
    if (!take(cl, "type", nj.type) || nj.type.empty())
      return usage_error("jobs add needs --type (one of: "
                         + registry.type_list() + ")");
    if (!take(cl, "payload", nj.payload))
      nj.payload = "{}";
    std::string why;
    if (!check_json(nj.payload, why))
      return usage_error("--payload is not valid JSON: " + why);
    if (auto ferr = registry.validate(nj.type, nj.payload))
      return usage_error(ferr->field == "type"
                           ? "--type: " + ferr->message
                           : "--payload: " + ferr->field + " " + ferr->message);
    std::string v;
    int64_t n;
    if (take(cl, "priority", v)) {
      if (!parse_int_flag("priority", v, -1'000'000, 1'000'000, n, err))
        return usage_error(err);
      nj.priority = static_cast<int32_t>(n);
    }
    if (take(cl, "max-retries", v)) {
      if (!parse_int_flag("max-retries", v, 0, max_max_retries, n, err))
        return usage_error(err);
      nj.max_retries = static_cast<int32_t>(n);
    }
    if (take(cl, "at", v)) {
      if (!parse_time(v, nj.scheduled_for, &why))
        return usage_error("--at must be an ISO-8601 time with a zone, e.g. "
                           "2026-12-01T09:30:00Z, got '"
                           + v + "': " + why);
    }
    take(cl, "unique-key", nj.unique_key);
    if (take(cl, "unique-states", v)) {
      std::stringstream names{v};
      std::string name;
      while (std::getline(names, name, ',')) {
        job_status st;
        if (!parse_status(name, st))
          return usage_error("--unique-states must list PENDING, PROCESSING, "
                             "COMPLETED or FAILED, comma-separated, got '"
                             + name + "'");
        nj.unique_states |= status_bit(st);
      }
      if (nj.unique_states == 0)
        return usage_error("--unique-states must not be empty");
    }
    if (take(cl, "timeout", v)) {
      auto ms = parse_duration_ms(v);
      if (!ms || *ms < 1 || *ms > max_job_timeout_ms)
        return usage_error("--timeout must be a duration from 1ms to 7d "
                           "(e.g. 90s, 10m, 2h), got '"
                           + v + "'");
      nj.timeout_ms = *ms;
    }
    if (take(cl, "unique-period-ms", v)) {
      if (!parse_int_flag("unique-period-ms", v, 1, max_unique_period_ms, n,
                          err))
        return usage_error(err);
      nj.unique_period_ms = n;
    }
    // The store's rules (key length, states, what needs a key); messages
    // read "uniqueKey: ...".
    if (auto verr = validate_new_jobs({nj}))
      return usage_error("--" + flag_name(message_of(verr)));
  } else if (sub == "list") {
    std::string v;
    int64_t n;
    take(cl, "status", filter.status);
    std::transform(filter.status.begin(), filter.status.end(),
                   filter.status.begin(), ::toupper);
    job_status st;
    if (!filter.status.empty() && !parse_status(filter.status, st))
      return usage_error("--status must be PENDING, PROCESSING, COMPLETED, "
                         "FAILED or CANCELLED, got '"
                         + filter.status + "'");
    take(cl, "type", filter.type);
    take(cl, "cursor", filter.cursor);
    take(cl, "search", filter.q);
    if (take(cl, "limit", v)) {
      if (!parse_int_flag("limit", v, 1, max_list_limit, n, err))
        return usage_error(err);
      filter.limit = static_cast<int32_t>(n);
    }
    // The stores' own rules plus the registry's types; messages read
    // "type: ...", so the flag is named by prefixing "--".
    if (auto ferr = validate_filter(filter, registry.types())) {
      auto msg = message_of(ferr);
      if (msg.rfind("q: ", 0) == 0) // the filter's field is --search here
        msg.replace(0, 1, "search");
      return usage_error("--" + msg);
    }
  }
  bulk_request br;
  if (bulk) {
    parse_bulk_action(sub, br.action);
    std::string v;
    int64_t n;
    take(cl, "type", br.type);
    take(cl, "status", br.status);
    std::transform(br.status.begin(), br.status.end(), br.status.begin(),
                   ::toupper);
    if (take(cl, "max", v)) {
      if (!parse_int_flag("max", v, 1, max_bulk_max, n, err))
        return usage_error(err);
      br.max = static_cast<int32_t>(n);
    }
    if (take(cl, "finished-before", v)) {
      // An age (7d: finished over 7 days ago) or a time.
      auto age = parse_duration_ms(v);
      std::string why;
      if (age && *age > 0)
        br.finished_before = clock->now_ms() - *age;
      else if (!parse_time(v, br.finished_before, &why))
        return usage_error("--finished-before must be an age such as 7d or "
                           "12h, or an ISO-8601 time such as "
                           "2026-12-01T00:00:00Z, got '"
                           + v + "'");
    }
    // The stores' rules plus the registry's types: "status: ..." reads
    // "--status: ...".
    auto check = br;
    check.note.clear();
    if (auto berr = validate_bulk(check, registry.types())) {
      auto msg = message_of(berr);
      if (msg.rfind("finishedBefore", 0) == 0)
        msg.replace(0, 14, "finished-before");
      return usage_error("--" + msg);
    }
  }
  // cancel, pause: who and why, checked as the API checks them.
  std::string by = "cli", reason;
  if (sub == "cancel" || sub == "pause") {
    take(cl, "by", by);
    take(cl, "reason", reason);
    for (auto [flag, text, limit] :
         {std::tuple{"by", &by, max_cancel_by_bytes},
          std::tuple{"reason", &reason, max_cancel_reason_bytes}}) {
      if (text->size() > limit)
        return usage_error(std::string{"--"} + flag + " must be at most "
                           + std::to_string(limit) + " bytes");
      if (has_control_chars(*text))
        return usage_error(std::string{"--"} + flag
                           + " must not contain control characters");
    }
  }
  auto store = open_store(cfg.storage, clock);
  if (!store)
    return fail_line(message_of(store.error()));
  auto& st = **store;
  bool json_out = cl.flags.count("json") > 0;
  if (sub == "add") {
    auto res = st.enqueue({nj});
    if (!res)
      return fail_line(message_of(res.error()));
    std::printf("%s\n", res->front().id.c_str());
    if (res->front().duplicate) {
      // Not an error: the job asked for exists (idempotency).
      std::fprintf(stderr,
                   "jobd: duplicate: job %s (%s) already holds unique key "
                   "'%s'; nothing was added\n",
                   res->front().id.c_str(), to_string(res->front().status),
                   res->front().unique_key.c_str());
      return 0;
    }
    if (cfg.runtime.wake_sockets) // idle workers start it now
      notify_wake_dir(wake_dir_of(cfg.storage.url));
    return 0;
  }
  if (sub == "list") {
    auto page = st.list(filter);
    if (!page)
      return fail_line(message_of(page.error()));
    if (json_out) {
      std::string out = "{\"jobs\":[";
      for (size_t i = 0; i < page->jobs.size(); ++i)
        out += (i ? "," : "") + job_to_json(page->jobs[i]);
      out += "],\"nextCursor\":";
      out += page->next_cursor.empty() ? "null" : json_string(page->next_cursor);
      out += "}";
      std::printf("%s\n", out.c_str());
    } else {
      for (auto& j : page->jobs)
        print_job_line(j);
      if (!page->next_cursor.empty())
        std::printf("(more: --cursor %s)\n", page->next_cursor.c_str());
    }
    return 0;
  }
  if (sub == "get") {
    auto j = st.get(cl.args[0]);
    if (!j)
      return fail_line(message_of(j.error()));
    std::printf("%s\n", job_to_json(*j).c_str());
    return 0;
  }
  if (sub == "workers") {
    auto w = st.workers();
    if (!w)
      return fail_line(message_of(w.error()));
    if (cl.flags.count("json") > 0) {
      std::printf("%s\n", workers_json(*w).c_str());
      return 0;
    }
    if (w->workers.empty())
      std::printf("no external worker seen in the last day\n");
    for (auto& x : w->workers) {
      std::string types;
      for (auto& t : x.types)
        types += (types.empty() ? "" : ",") + t;
      std::string jobs;
      for (auto& id : x.jobs)
        jobs += " " + id;
      std::printf("%s  %-7s  %s  %s  seen %lld s ago  %zu job%s%s%s\n",
                  x.id.c_str(), x.online ? "online" : "offline",
                  x.host.empty() ? "-" : x.host.c_str(),
                  types.empty() ? "-" : types.c_str(),
                  static_cast<long long>((w->as_of - x.last_seen_at) / 1000),
                  x.jobs.size(), x.jobs.size() == 1 ? "" : "s",
                  jobs.empty() ? "" : ":", jobs.c_str());
    }
    if (w->truncated)
      std::printf("(more workers were seen: the %zu seen last are listed)\n",
                  w->workers.size());
    return 0;
  }
  if (sub == "attempts") {
    auto h = st.attempts(cl.args[0], max_attempts_listed);
    if (!h)
      return fail_line(message_of(h.error()));
    if (cl.flags.count("json") > 0) {
      std::printf("%s\n", attempts_json(cl.args[0], *h).c_str());
      return 0;
    }
    if (h->attempts.empty())
      std::printf("not run yet\n");
    if (h->truncated)
      std::printf("(older attempts not shown: the newest %zu follow)\n",
                  h->attempts.size());
    for (auto& a : h->attempts) {
      std::string took = a.ended_at > 0 && a.started_at > 0
                           ? std::to_string(a.ended_at - a.started_at) + " ms"
                           : "-";
      std::printf("#%d  %-13s  %s  %s  %s%s%s\n", a.attempt,
                  to_string(a.outcome),
                  a.worker.empty() ? "?" : a.worker.c_str(),
                  a.started_at > 0 ? format_time(a.started_at).c_str() : "-",
                  took.c_str(), a.error.empty() ? "" : "  ",
                  a.error.c_str());
    }
    return 0;
  }
  if (bulk) {
    if (br.action == bulk_action::cancel)
      br.note = cancel_note(by, reason);
    auto r = st.bulk(br);
    if (!r)
      return fail_line(message_of(r.error()));
    std::printf("%s: %lld matched, %lld changed, %lld skipped\n",
                to_string(r->action), static_cast<long long>(r->matched),
                static_cast<long long>(r->changed),
                static_cast<long long>(r->skipped));
    if (r->more)
      std::printf("(more match: run it again, or raise --max up to %d)\n",
                  max_bulk_max);
    if (cfg.runtime.wake_sockets && r->changed > 0) {
      bool ran = false;
      for (auto& j : r->jobs)
        ran = ran || j.attempt > 0;
      // Retried jobs are due now; cancelled running ones stop at once.
      if (r->action == bulk_action::retry)
        notify_wake_dir(wake_dir_of(cfg.storage.url));
      else if (r->action == bulk_action::cancel && ran)
        notify_wake_dir(wake_dir_of(cfg.storage.url), wake_jobs_settled);
    }
    return 0;
  }
  if (sub == "retry") {
    auto j = st.retry(cl.args[0]);
    if (!j)
      return fail_line(message_of(j.error()));
    std::printf("%s\n", job_to_json(*j).c_str());
    if (cfg.runtime.wake_sockets)
      notify_wake_dir(wake_dir_of(cfg.storage.url));
    return 0;
  }
  if (sub == "cancel") {
    auto j = st.cancel(cl.args[0], cancel_note(by, reason));
    if (!j)
      return fail_line(message_of(j.error()));
    std::printf("%s\n", job_to_json(*j).c_str());
    // A worker running it stops at once, not at its next heartbeat.
    if (cfg.runtime.wake_sockets && j->attempt > 0)
      notify_wake_dir(wake_dir_of(cfg.storage.url), wake_jobs_settled);
    return 0;
  }
  if (sub == "pause") {
    auto p = st.pause_type(cl.args[0], pause_note(by, reason));
    if (!p)
      return fail_line(message_of(p.error()));
    std::printf("paused %s since %s: %s\n", p->type.c_str(),
                format_time(p->paused_at).c_str(), p->note.c_str());
    return 0;
  }
  if (sub == "resume") {
    auto r = st.resume_type(cl.args[0]);
    if (!r)
      return fail_line(message_of(r.error()));
    if (!*r) {
      std::printf("%s was not paused\n", cl.args[0].c_str());
      return 0;
    }
    std::printf("resumed %s\n", cl.args[0].c_str());
    if (cfg.runtime.wake_sockets) // idle workers start its jobs now
      notify_wake_dir(wake_dir_of(cfg.storage.url));
    return 0;
  }
  if (sub == "delete") {
    if (auto e = st.remove(cl.args[0]))
      return fail_line(message_of(e));
    std::printf("deleted %s\n", cl.args[0].c_str());
    return 0;
  }
  // stats
  auto c = st.counts();
  if (!c)
    return fail_line(message_of(c.error()));
  if (json_out) {
    std::string out = "[";
    for (size_t i = 0; i < c->count.size(); ++i) {
      out += (i ? "," : "");
      out += "{\"status\":" + json_string(c->status[i])
             + ",\"type\":" + json_string(c->type[i])
             + ",\"count\":" + std::to_string(c->count[i]) + "}";
    }
    std::printf("%s]\n", out.c_str());
  } else {
    for (size_t i = 0; i < c->count.size(); ++i)
      std::printf("%-10s  %-20s  %lld\n", c->status[i].c_str(),
                  c->type[i].c_str(), static_cast<long long>(c->count[i]));
    for (auto& p : c->paused)
      std::printf("%-10s  %-20s  since %s: %s\n", "PAUSED", p.type.c_str(),
                  format_time(p.paused_at).c_str(), p.note.c_str());
  }
  return 0;
}

} // namespace jobd
