// jobd's entry point: parses the command line and config, then runs one of
// the commands (see usage_text()): serve and worker (app/serve.hpp), jobs
// and config (app/cli.hpp), bench (bench/bench.hpp).
#include <iostream>

#include "actors/log.hpp"
#include "app/cli.hpp"
#include "app/doctor.hpp"
#include "app/serve.hpp"
#include "bench/bench.hpp"

using namespace jobd;

int main(int argc, char** argv) {
  auto cl = parse_command_line(argc, argv, {"help", "json", "all"});
  if (cl.flags.count("help") || cl.words.empty()) {
    std::cout << usage_text();
    return cl.words.empty() && !cl.flags.count("help") ? 2 : 0;
  }
  jobd_config cfg;
  settings s;
  add_core_settings(s, cfg);
  add_http_settings(s, cfg.http);
  auto cmd = cl.words[0];
  auto cl_as_given = cl; // load_config consumes flags; SIGHUP re-reads them
  if (cmd == "config" && cl.words.size() > 1 && cl.words[1] == "defaults") {
    std::cout << s.render();
    return 0;
  }
  auto err = load_config(cl, s, cfg);
  if (!err.empty())
    return exit_with_error(err);
  {
    // Both were checked against their choices when loaded.
    log_format f = log_format::text;
    log_level l = log_level::info;
    parse_log_format(cfg.log.format, f);
    parse_log_level(cfg.log.level, l);
    set_log_format(f);
    set_log_level(l);
    set_log_payloads(cfg.log.payloads);
  }
  if (cmd == "jobs")
    return run_jobs_command(cl, cfg); // 0, 1 (store), 2 (usage)
  if (cmd == "schedules")
    return run_schedules_command(cl, cfg); // 0, 1 (store), 2 (usage)
  if (cmd == "bench")
    return run_bench(cl, cfg);
  if (!cl.args.empty())
    return exit_with_error("unexpected argument '" + cl.args[0]
                           + "' (see jobd --help)");
  for (auto& kv : cl.flags)
    return exit_with_error("unknown option --" + kv.first + " for '" + cmd
                           + "' (see jobd --help)");
  if (cmd == "config") {
    if (cl.words.size() > 1 && cl.words[1] == "check") {
      std::cout << "config ok" << std::endl;
      return 0;
    }
    return exit_with_error("config needs a subcommand: defaults or check");
  }
  if (cmd == "doctor")
    return run_doctor(cfg);
  if (cmd == "worker") {
    if (cfg.runtime.pool.workers == 0)
      return exit_with_error("worker.workers must be at least 1 for 'jobd "
                             "worker' (an API-only node is 'jobd serve "
                             "--workers 0')");
    return run_server({cl_as_given, cfg}, false);
  }
  if (cmd == "serve")
    return run_server({cl_as_given, cfg}, true);
  return exit_with_error("unknown command '" + cmd + "' (see jobd --help)");
}
