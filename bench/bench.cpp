// `jobd bench`: runs the workload table below in order, each on a fresh
// database, and prints each figure beside the baseline it is divided by.
//
// To add a workload (e.g. W1 over HTTP, W3 latency): write a workload_fn
// (see bench_workloads.hpp for the contract) and add a row to the table,
// after the baseline it names.
#include "bench/bench.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "app/serve.hpp"
#include "bench/bench_http.hpp"
#include "bench/bench_workloads.hpp"
#include "bench/bench_cli.hpp"
#include "handlers/builtin.hpp"
#include "storage/json_text.hpp"

namespace jobd {

namespace {

using namespace bench;

struct workload {
  std::string key;   ///< names it in --json and --only
  std::string label; ///< names it in the table
  /// Key of the figure this one is divided by; empty for a baseline.
  std::string baseline;
  /// How the ratio names that figure: "baseline", "W2".
  std::string baseline_label;
  workload_fn run;
  /// False: skipped in this run (e.g. W4 with --scale 0).
  bool wanted = true;
  /// A latency workload (W3): shown as p50/p99, its ratio is p50 over the
  /// baseline's p50 (lower is better).
  bool latency = false;
};

// The table. Each workload runs right after its baseline, so both see the
// same machine load as far as possible.
std::vector<workload> workload_table(const bench_env& env) {
  auto batch = std::to_string(env.workers);
  auto finished = std::to_string(env.scale_rows);
  return {
    {"base_bulk", "baseline insert, 1 txn", "", "", baseline_bulk_insert},
    {"base_row_commit", "baseline insert, 1 commit/job", "", "",
     baseline_row_commit},
    {"w1_actor", "W1 enqueue (store actor)", "base_row_commit", "baseline",
     w1_store_actor},
    {"w1_store", "W1 enqueue (job_store/CLI)", "base_row_commit", "baseline",
     w1_job_store},
    {"w1_http", "W1 enqueue (HTTP, 1 client)", "base_row_commit", "baseline",
     w1_http_one},
    {"w1_http32", "W1 enqueue (HTTP, 32 clients)", "base_row_commit",
     "baseline", w1_http_concurrent},
    {"base_claim", "baseline claim+complete, batch " + batch, "", "",
     baseline_claim_complete},
    {"base_claim100", "baseline claim+complete, batch 100", "", "",
     baseline_claim_complete_100},
    {"w2", "W2 drain (" + batch + " handlers)", "base_claim100", "baseline",
     w2_drain},
    {"w4", "W4 drain, " + finished + " finished", "w2", "W2", w4_scale,
     env.scale_rows > 0},
    {"base_latency", "baseline insert+claim latency", "", "",
     baseline_latency, true, true},
    {"w3", "W3 latency (in-process)", "base_latency", "baseline p50",
     w3_latency_inproc, true, true},
    {"w3_cross", "W3 latency (across processes)", "base_latency",
     "baseline p50", w3_latency_cross, true, true},
    {"w3_cli", "W3 latency (CLI enqueue, worker)", "base_latency",
     "baseline p50", w3_latency_cli, true, true},
  };
}

// A workload's runs, one per round.
struct figure {
  const workload* w = nullptr;
  std::vector<measurement> runs;
  /// Per round: this run's rate / the same round's baseline rate. Pairing
  /// by round keeps load that drifts across the run out of the ratio.
  std::vector<double> ratios;
  const figure* base = nullptr;
  int64_t peak_rss_kb = 0; ///< highest of its runs; 0 = unknown

  int64_t jobs() const { return runs.empty() ? 0 : runs.front().jobs; }
  double rate() const { return median(rates()); }
  double ratio() const { return median(ratios); }
  /// Median over the rounds of the CPU time per job (measurement::cpu_us);
  /// negative = not measured.
  double cpu_us() const {
    std::vector<double> xs;
    for (auto& m : runs)
      if (m.cpu_us >= 0)
        xs.push_back(m.cpu_us);
    return xs.empty() ? -1 : median(xs);
  }
  /// Median over the rounds of each round's q-quantile latency.
  double latency(double q) const {
    std::vector<double> xs;
    for (auto& m : runs)
      xs.push_back(m.latency_quantile(q));
    return median(xs);
  }
  std::vector<double> rates() const {
    std::vector<double> out;
    for (auto& m : runs)
      out.push_back(m.rate());
    return out;
  }
  static double median(std::vector<double> xs) {
    if (xs.empty())
      return 0;
    std::sort(xs.begin(), xs.end());
    auto n = xs.size();
    return n % 2 ? xs[n / 2] : (xs[n / 2 - 1] + xs[n / 2]) / 2;
  }
};

// VmHWM (peak resident set) from /proc/self/status, in kB; 0 if unknown.
int64_t peak_rss_kb() {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0)
      return std::atoll(line.c_str() + 6);
  return 0;
}

// Resets VmHWM to the current RSS (Linux >= 4.0), so the next reading is
// the peak of one workload. False where the kernel does not allow it.
bool reset_peak_rss() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
  out.flush();
  return static_cast<bool>(out);
}

// "W2 drain ...  20000 jobs   4210 jobs/s   0.62 x baseline (6790 jobs/s)",
// plus the spread of the per-round ratios when there are several rounds.
std::string format_line(const figure& f) {
  char buf[320];
  if (f.w->latency) {
    size_t n = std::snprintf(buf, sizeof buf,
                             "%-34s %9lld jobs   p50 %7.2f ms   p99 %7.2f ms",
                             f.w->label.c_str(),
                             static_cast<long long>(f.jobs()), f.latency(0.5),
                             f.latency(0.99));
    if (f.base && n < sizeof buf)
      std::snprintf(buf + n, sizeof buf - n,
                    "   %6.1f x %s (%.2f ms)", f.ratio(),
                    f.w->baseline_label.c_str(), f.base->latency(0.5));
    return buf;
  }
  size_t n = std::snprintf(buf, sizeof buf, "%-34s %9lld jobs %9.0f jobs/s",
                           f.w->label.c_str(),
                           static_cast<long long>(f.jobs()), f.rate());
  if (f.base && n < sizeof buf)
    n += std::snprintf(buf + n, sizeof buf - n, "   %5.2f x %s (%.0f jobs/s)",
                       f.ratio(), f.w->baseline_label.c_str(),
                       f.base->rate());
  if (f.base && f.ratios.size() > 1 && n < sizeof buf)
    n += std::snprintf(buf + n, sizeof buf - n, "   rounds %.2f..%.2f",
                       *std::min_element(f.ratios.begin(), f.ratios.end()),
                       *std::max_element(f.ratios.begin(), f.ratios.end()));
  if (f.cpu_us() >= 0 && n < sizeof buf)
    std::snprintf(buf + n, sizeof buf - n, "   CPU %.0f us/job", f.cpu_us());
  return buf;
}

std::string format_mb(int64_t kb) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", kb / 1024.0);
  return buf;
}

std::string to_json(const bench_env& env, const bench_storage& storage,
                    int rounds, const std::vector<figure>& figures,
                    int64_t peak_kb) {
  auto num = [](double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", v);
    return std::string{buf};
  };
  std::string out = "{\"backend\":";
  out += storage.is_pg() ? "\"postgresql\"" : "\"sqlite\"";
  out += ",\"storage\":" + json_string(storage.description());
  if (!storage.is_pg())
    out += ",\"synchronous\":" + json_string(env.cfg.storage.synchronous);
  out += ",\"jobs\":" + std::to_string(env.jobs);
  out += ",\"workers\":" + std::to_string(env.workers);
  out += ",\"scaleRows\":" + std::to_string(env.scale_rows);
  out += ",\"rounds\":" + std::to_string(rounds);
  out += ",\"results\":[";
  for (size_t i = 0; i < figures.size(); ++i) {
    auto& f = figures[i];
    out += i ? "," : "";
    out += "{\"key\":" + json_string(f.w->key);
    out += ",\"name\":" + json_string(f.w->label);
    out += ",\"jobs\":" + std::to_string(f.jobs());
    out += ",\"jobsPerSec\":" + num(f.rate());
    if (f.base) {
      out += ",\"baseline\":" + json_string(f.w->baseline);
      out += ",\"baselineJobsPerSec\":" + num(f.base->rate());
      out += ",\"ratio\":" + num(f.ratio());
    }
    if (f.w->latency) {
      out += ",\"p50Ms\":" + num(f.latency(0.5));
      out += ",\"p99Ms\":" + num(f.latency(0.99));
    }
    if (f.cpu_us() >= 0)
      out += ",\"cpuUsPerJob\":" + num(f.cpu_us());
    if (f.peak_rss_kb > 0)
      out += ",\"peakRssKb\":" + std::to_string(f.peak_rss_kb);
    out += ",\"rounds\":[";
    for (size_t r = 0; r < f.runs.size(); ++r) {
      out += r ? "," : "";
      out += "{\"seconds\":" + num(f.runs[r].seconds);
      out += ",\"jobsPerSec\":" + num(f.runs[r].rate());
      if (f.base)
        out += ",\"ratio\":" + num(f.ratios[r]);
      out += "}";
    }
    out += "]}";
  }
  out += "],\"peakRssKb\":" + std::to_string(peak_kb) + "}";
  return out;
}

int fail(const std::string& msg) {
  std::cerr << "jobd: " << msg << std::endl;
  return 2;
}


} // namespace

int run_bench(command_line& cl, const jobd_config& cfg) {
  if (!cl.args.empty())
    return fail("unexpected argument '" + cl.args[0] + "' (see jobd --help)");
  int64_t jobs = 20'000;
  int64_t scale_rows = 1'000'000;
  int64_t rounds = 3;
  std::vector<std::string> only;
  bool json_out = false;
  for (auto& [name, given] : cl.flags) {
    if (!given)
      return fail("--" + name + " needs a value");
    const std::string& value = *given;
    std::string err;
    if (name == "jobs") {
      if (!parse_int_flag(name, value, 1, 100'000'000, jobs, err))
        return fail(err);
    } else if (name == "scale") {
      if (!parse_int_flag(name, value, 0, 100'000'000, scale_rows, err))
        return fail(err);
    } else if (name == "rounds") {
      if (!parse_int_flag(name, value, 1, 100, rounds, err))
        return fail(err);
    } else if (name == "only") {
      std::stringstream ss{value};
      for (std::string k; std::getline(ss, k, ',');)
        only.push_back(k);
    } else if (name == "json") {
      json_out = true;
    } else {
      return fail("unknown option --" + name
                  + " for 'bench' (--jobs N, --scale ROWS, --rounds R, "
                    "--only KEYS, --json)");
    }
  }
  auto storage = bench_storage::create(cfg.storage);
  if (!storage)
    return fail(message_of(storage.error()));
  auto clock = std::make_shared<system_clock_source>();
  auto registry = std::make_shared<handler_registry>();
  register_builtin_handlers(*registry, cfg.handlers, clock);
  // The CAF settings of `jobd worker`, so W2 measures the runtime exactly
  // as it runs.
  caf::actor_system_config sys_cfg;
  init_caf(sys_cfg, cfg.caf);
  caf::actor_system sys{sys_cfg};
  bench_env env{cfg, jobs, cfg.runtime.pool.workers, scale_rows, sys,
                **storage, registry};
  auto table = workload_table(env);
  if (!only.empty()) {
    for (auto& k : only)
      if (std::none_of(table.begin(), table.end(),
                       [&](const workload& w) { return w.key == k; })) {
        std::string keys;
        for (auto& w : table)
          keys += (keys.empty() ? "" : ", ") + w.key;
        return fail("--only: no workload '" + k + "' (" + keys + ")");
      }
    // The named workloads and, transitively, the figures they divide by.
    for (auto& w : table)
      w.wanted = w.wanted
                 && std::find(only.begin(), only.end(), w.key) != only.end();
    for (auto w = table.rbegin(); w != table.rend(); ++w)
      if (w->wanted && !w->baseline.empty())
        for (auto& b : table)
          if (b.key == w->baseline)
            b.wanted = true;
  }
  if (!json_out)
    std::cout << "jobd bench: " << jobs << " ECHO no-op jobs per workload, "
              << env.workers << " handlers, " << rounds << " round(s)\n"
              << "storage: " << (*storage)->description() << "\n"
              << "Each figure is divided by a baseline measured in the same "
                 "round on this machine:\ncompare the ratios (median of the "
                 "rounds); absolute rates depend on the\ndisk and on the "
                 "machine's load.\n\n"
              << std::flush;
  std::vector<figure> figures;
  figures.reserve(table.size()); // pointers into it stay valid
  std::map<std::string, figure*> by_key;
  for (auto& w : table) {
    if (!w.wanted)
      continue;
    figures.emplace_back();
    figures.back().w = &w;
    if (!w.baseline.empty())
      figures.back().base = by_key.at(w.baseline);
    by_key[w.key] = &figures.back();
  }
  // Progress only for a person watching: a full run takes minutes.
  bool progress = isatty(STDERR_FILENO) != 0;
  bool per_workload_rss = true;
  int64_t peak_kb = 0;
  for (int64_t round = 0; round < rounds; ++round) {
    for (auto& f : figures) {
      if (progress)
        std::cerr << "round " << round + 1 << "/" << rounds << ": "
                  << f.w->label << " ..." << std::flush;
      per_workload_rss = per_workload_rss && reset_peak_rss();
      auto m = f.w->run(env);
      if (progress)
        std::cerr << "\r\033[K" << std::flush;
      if (!m)
        return fail(f.w->label + ": " + message_of(m.error()));
      f.runs.push_back(*m);
      if (f.base && f.w->latency) {
        auto base_p50 = f.base->runs.back().latency_quantile(0.5);
        f.ratios.push_back(base_p50 > 0 ? m->latency_quantile(0.5) / base_p50
                                        : 0);
      } else if (f.base) {
        auto base_rate = f.base->runs.back().rate();
        f.ratios.push_back(base_rate > 0 ? m->rate() / base_rate : 0);
      }
      auto peak = peak_rss_kb();
      if (per_workload_rss)
        f.peak_rss_kb = std::max(f.peak_rss_kb, peak);
      peak_kb = std::max(peak_kb, peak);
    }
  }
  if (json_out) {
    std::cout << to_json(env, **storage, static_cast<int>(rounds), figures,
                         peak_kb)
              << std::endl;
    return 0;
  }
  for (auto& f : figures)
    std::cout << format_line(f) << "\n";
  std::cout << "\npeak RSS (VmHWM) of this process: " << format_mb(peak_kb);
  for (auto& f : figures)
    if (f.peak_rss_kb > 0 && (f.w->key == "w2" || f.w->key == "w4"))
      std::cout << "; during " << f.w->label << ": "
                << format_mb(f.peak_rss_kb);
  std::cout << std::endl;
  return 0;
}

} // namespace jobd
