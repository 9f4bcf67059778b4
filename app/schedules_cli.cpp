// `jobd schedules ...`: recurring schedules from the command line, straight
// through the store (as `jobd jobs` does). A worker in another process sees
// a change at its next look (worker.schedule_refresh, 10 s by default).
#include "app/cli.hpp"

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>

#include "handlers/builtin.hpp"
#include "http/job_json.hpp"
#include "storage/cron.hpp"
#include "storage/json_text.hpp"
#include "storage/rules.hpp"
#include "storage/sqlite/wake_dir.hpp"
#include "storage/store.hpp"

namespace jobd {

namespace {

int say(const std::string& msg, int code) {
  std::cerr << "jobd: " << msg << std::endl;
  return code;
}

// One line per schedule: name, cron (zone), type, state, last and next run.
void print_schedule(const schedule& s, ms_t now) {
  auto next = s.paused ? 0 : next_run(s, now);
  std::printf("%-24s  %-16s  %-12s  %-18s  %-7s  last %-24s  next %s\n",
              s.name.c_str(), s.cron.c_str(), s.time_zone.c_str(),
              s.type.c_str(), s.paused ? "paused" : s.missed.c_str(),
              s.last_run_at ? format_time(s.last_run_at).c_str() : "-",
              next ? format_time(next).c_str() : "-");
}

} // namespace

int run_schedules_command(command_line& cl, const jobd_config& cfg) {
  auto sub = cl.words.size() > 1 ? cl.words[1] : "";
  static const std::map<std::string, std::vector<std::string>> allowed = {
    {"list", {"json"}},
    {"add",
     {"cron", "type", "payload", "tz", "priority", "max-retries", "missed",
      "catch-up"}},
    {"pause", {}},
    {"resume", {}},
    {"delete", {}},
    {"run-now", {}},
  };
  auto a = allowed.find(sub);
  if (a == allowed.end())
    return say(sub.empty() ? "schedules needs a subcommand: list, add, pause, "
                             "resume, delete or run-now"
                           : "unknown subcommand 'schedules " + sub
                               + "' (list, add, pause, resume, delete, "
                                 "run-now)",
               2);
  for (auto& [name, value] : cl.flags) {
    if (std::find(a->second.begin(), a->second.end(), name) == a->second.end())
      return say("unknown option --" + name + " for 'schedules " + sub + "'",
                 2);
    if (!value)
      return say("--" + name + " needs a value", 2);
  }
  if (sub == "list" ? !cl.args.empty() : cl.args.size() != 1)
    return say(sub == "list" ? "unexpected argument '" + cl.args[0] + "'"
                             : "'schedules " + sub
                                 + "' needs exactly one schedule name",
               2);
  auto flag = [&](const std::string& name) -> std::optional<std::string> {
    auto i = cl.flags.find(name);
    if (i == cl.flags.end())
      return std::nullopt;
    return i->second;
  };
  auto clock = std::make_shared<system_clock_source>();
  schedule s;
  if (sub != "list") {
    s.name = cl.args[0];
    if (auto err = validate_schedule_name(s.name))
      return say(message_of(err), 2);
  }
  if (sub == "add") {
    // Checked before the database is opened: each flag by its name.
    auto cron = flag("cron");
    auto type = flag("type");
    if (!cron)
      return say("schedules add needs --cron (five fields such as '0 6 * * *' "
                 "or an alias such as @daily)",
                 2);
    handler_registry registry;
    register_configured_handlers(registry, cfg, clock);
    auto types = registry.types();
    std::string list;
    for (auto& t : types)
      list += (list.empty() ? "" : ", ") + t;
    if (!type || std::find(types.begin(), types.end(), *type) == types.end())
      return say("schedules add needs --type, one of: " + list, 2);
    s.cron = *cron;
    s.type = *type;
    s.source = "api";
    if (auto c = cron_expr::parse(s.cron); !c)
      return say("--" + message_of(c.error()), 2);
    if (auto tz = flag("tz")) {
      s.time_zone = *tz;
      if (auto z = time_zone::load(s.time_zone); !z)
        return say("--tz: " + message_of(z.error()), 2);
    }
    if (auto p = flag("payload")) {
      if (!is_json_object(*p))
        return say("--payload must be a JSON object, e.g. '{\"topic\":\"news\"}'",
                   2);
      s.payload = *p;
    }
    if (auto fe = registry.validate(s.type, s.payload))
      return say("--payload: " + fe->field + " " + fe->message, 2);
    std::string err;
    int64_t n = 0;
    if (auto p = flag("priority")) {
      if (!parse_int_flag("priority", *p, INT32_MIN, INT32_MAX, n, err))
        return say(err, 2);
      s.priority = static_cast<int32_t>(n);
    }
    if (auto m = flag("max-retries")) {
      if (!parse_int_flag("max-retries", *m, 0, max_max_retries, n, err))
        return say(err, 2);
      s.max_retries = static_cast<int32_t>(n);
    }
    if (auto m = flag("missed")) {
      if (*m != "skip" && *m != "catch_up")
        return say("--missed must be skip or catch_up, got '" + *m + "'", 2);
      s.missed = *m;
    }
    if (auto c = flag("catch-up")) {
      auto ms = parse_duration_ms(*c);
      if (!ms || *ms < 60'000 || *ms > max_catch_up_ms)
        return say("--catch-up must be a duration from 1m to 7d, got '" + *c
                     + "'",
                   2);
      s.catch_up_ms = *ms;
    }
  }
  auto store = open_store(cfg.storage, clock);
  if (!store)
    return say(message_of(store.error()), 1);
  auto& st = **store;
  auto now = clock->now_ms();
  if (sub == "list") {
    auto all = st.schedules();
    if (!all)
      return say(message_of(all.error()), 1);
    if (cl.flags.count("json")) {
      std::string out = "[";
      for (size_t i = 0; i < all->size(); ++i)
        out += (i ? "," : "") + schedule_json((*all)[i], now);
      std::printf("%s]\n", out.c_str());
    } else {
      for (auto& x : *all)
        print_schedule(x, now);
    }
    return 0;
  }
  if (sub == "add") {
    auto put = st.put_schedule(s);
    if (!put)
      return say(message_of(put.error()), 1);
    print_schedule(*put, now);
    return 0;
  }
  if (sub == "pause" || sub == "resume") {
    auto p = st.pause_schedule(s.name, sub == "pause");
    if (!p)
      return say(message_of(p.error()), 1);
    print_schedule(*p, now);
    return 0;
  }
  if (sub == "delete") {
    auto gone = st.remove_schedule(s.name);
    if (!gone)
      return say(message_of(gone.error()), 1);
    if (!*gone)
      return say(message_of(no_such_schedule(s.name)), 1);
    std::printf("deleted schedule %s\n", s.name.c_str());
    return 0;
  }
  // run-now
  auto made = st.fire_schedule(s.name, now, true);
  if (!made)
    return say(message_of(made.error()), 1);
  if (made->empty())
    return say(message_of(no_such_schedule(s.name)), 1);
  std::printf("%s\n", made->front().id.c_str());
  if (cfg.runtime.wake_sockets) // idle workers start it now
    notify_wake_dir(wake_dir_of(cfg.storage.url));
  return 0;
}

} // namespace jobd
