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
#include <optional>
#include <sstream>

#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "app/serve.hpp"
#include "bench/bench_http.hpp"
#include "bench/bench_workloads.hpp"
#include "bench/bench_cli.hpp"
#include "handlers/builtin.hpp"
#include "handlers/configured_types.hpp"
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
    {"w2_ext", "W2 drain, 10 external workers (HTTP)", "w2", "W2",
     w2_external},
    {"w4", "W4 drain, " + finished + " finished", "w2", "W2", w4_scale,
     env.scale_rows > 0},
    {"w5_near", "W5 drain, 3 workers x 10 via proxy, 0 ms", "", "",
     w5_network_near, env.storage.is_pg()},
    {"w5_far", "W5 drain, 3 workers x 10, 5 ms each way", "w5_near",
     "0 ms", w5_network_far, env.storage.is_pg()},
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

// The p-quantile (0..1) of xs; 0 if empty.
double quantile(std::vector<double> xs, double p) {
  if (xs.empty())
    return 0.0;
  std::sort(xs.begin(), xs.end());
  return xs[std::min(xs.size() - 1,
                     static_cast<size_t>(p * (xs.size() - 1) + 0.5))];
}

// Per round: the big table's rate over the empty table's.
std::vector<double> scale_ratios(const std::vector<double>& big,
                                 const std::vector<double>& empty) {
  std::vector<double> out;
  for (size_t i = 0; i < big.size() && i < empty.size(); ++i)
    out.push_back(empty[i] > 0 ? big[i] / empty[i] : 0);
  return out;
}

// The scale run's report: sizes, W1/W2 on the big table against the empty
// one (median of the rounds' ratios), the dashboard's reads, RSS, disk.
std::string format_scale(const scale_report& r, int64_t jobs) {
  auto& q = quantile;
  char buf[2048];
  std::string out;
  std::snprintf(buf, sizeof buf,
                "scale: %lld finished + %lld live rows, filled in %.0f s; "
                "%.1f MB on disk (%.0f MB per million jobs)\n",
                static_cast<long long>(r.finished_rows),
                static_cast<long long>(r.live_rows), r.fill_seconds,
                r.disk_bytes / 1048576.0,
                r.disk_bytes / 1048576.0
                  / (static_cast<double>(r.finished_rows + r.live_rows)
                     / 1e6));
  out += buf;
  auto line = [&](const char* what, const std::vector<double>& big,
                  const std::vector<double>& empty) {
    auto rs = scale_ratios(big, empty);
    std::snprintf(buf, sizeof buf,
                  "%-44s %7lld jobs %8.0f jobs/s   %5.2f x empty table "
                  "(%.0f jobs/s)   rounds %.2f..%.2f\n",
                  what, static_cast<long long>(jobs), figure::median(big),
                  figure::median(rs), figure::median(empty),
                  *std::min_element(rs.begin(), rs.end()),
                  *std::max_element(rs.begin(), rs.end()));
    out += buf;
  };
  line("W1 enqueue (HTTP, 1 client), big table", r.w1_big, r.w1_empty);
  line("W2 drain (serve), big table", r.w2_big, r.w2_empty);
  std::snprintf(buf, sizeof buf,
                "%-44s %7zu jobs   p50 %.2f ms p99 %.2f ms   empty table p50 "
                "%.2f ms p99 %.2f ms\n",
                "W3 latency (enqueue to start), big table", r.w3_big.size(),
                quantile(r.w3_big, 0.5), quantile(r.w3_big, 0.99),
                quantile(r.w3_empty, 0.5), quantile(r.w3_empty, 0.99));
  out += buf;
  std::snprintf(buf, sizeof buf,
                "dashboard at 10 Hz on the big table: GET /api/stats p50 "
                "%.2f ms p99 %.2f ms (%zu reads); list page p50 %.2f ms p99 "
                "%.2f ms (%zu reads)\npeak RSS during the big table's "
                "phases: %.1f MB\n",
                q(r.big.stats_ms, 0.5), q(r.big.stats_ms, 0.99),
                r.big.stats_ms.size(), q(r.big.list_ms, 0.5),
                q(r.big.list_ms, 0.99), r.big.list_ms.size(),
                r.peak_rss_kb / 1024.0);
  out += buf;
  return out;
}

std::string format_mb(int64_t kb) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f MB", kb / 1024.0);
  return buf;
}

std::string to_json(const bench_env& env, const bench_storage& storage,
                    int rounds, const std::vector<figure>& figures,
                    int64_t peak_kb, const std::optional<scale_report>& scale) {
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
  out += "],\"peakRssKb\":" + std::to_string(peak_kb);
  if (scale) {
    auto& r = *scale;
    auto arr = [&](const std::vector<double>& xs) {
      std::string a = "[";
      for (size_t i = 0; i < xs.size(); ++i) {
        if (i > 0)
          a += ',';
        a += num(xs[i]);
      }
      a += ']';
      return a;
    };
    out += ",\"scale\":{\"finishedRows\":" + std::to_string(r.finished_rows);
    out += ",\"liveRows\":" + std::to_string(r.live_rows);
    out += ",\"fillSeconds\":" + num(r.fill_seconds);
    out += ",\"diskBytes\":" + std::to_string(r.disk_bytes);
    out += ",\"w1EmptyJobsPerSec\":" + arr(r.w1_empty);
    out += ",\"w1BigJobsPerSec\":" + arr(r.w1_big);
    out += ",\"w1Ratio\":" + num(figure::median(scale_ratios(r.w1_big, r.w1_empty)));
    out += ",\"w2EmptyJobsPerSec\":" + arr(r.w2_empty);
    out += ",\"w2BigJobsPerSec\":" + arr(r.w2_big);
    out += ",\"w2Ratio\":" + num(figure::median(scale_ratios(r.w2_big, r.w2_empty)));
    out += ",\"w3P50Ms\":" + num(quantile(r.w3_big, 0.5));
    out += ",\"w3P99Ms\":" + num(quantile(r.w3_big, 0.99));
    out += ",\"w3EmptyP50Ms\":" + num(quantile(r.w3_empty, 0.5));
    out += ",\"w3EmptyP99Ms\":" + num(quantile(r.w3_empty, 0.99));
    out += ",\"statsP50Ms\":" + num(quantile(r.big.stats_ms, 0.5));
    out += ",\"statsP99Ms\":" + num(quantile(r.big.stats_ms, 0.99));
    out += ",\"listP50Ms\":" + num(quantile(r.big.list_ms, 0.5));
    out += ",\"listP99Ms\":" + num(quantile(r.big.list_ms, 0.99));
    out += ",\"peakRssKb\":" + std::to_string(r.peak_rss_kb) + "}";
  }
  out += "}";
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
  int64_t scale_live_rows = 100'000;
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
    } else if (name == "live") {
      if (!parse_int_flag(name, value, 0, 100'000'000, scale_live_rows, err))
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
                  + " for 'bench' (--jobs N, --scale ROWS, --live ROWS, "
                    "--rounds R, --only KEYS, --json)");
    }
  }
  auto storage = bench_storage::create(cfg.storage);
  if (!storage)
    return fail(message_of(storage.error()));
  auto clock = std::make_shared<system_clock_source>();
  auto registry = std::make_shared<handler_registry>();
  register_configured_handlers(*registry, cfg, clock);
  registry->add(bench_external_type,
                std::make_shared<external_handler>(bench_external_type,
                                                   std::nullopt));
  // The CAF settings of `jobd worker`, so W2 measures the runtime exactly
  // as it runs.
  caf::actor_system_config sys_cfg;
  init_caf(sys_cfg, cfg.caf);
  caf::actor_system sys{sys_cfg};
  bench_env env{cfg, jobs, cfg.runtime.pool.workers, scale_rows, sys,
                **storage, registry};
  auto table = workload_table(env);
  // "scale" is a run of its own (scale_run), only when asked for.
  bool want_scale = std::find(only.begin(), only.end(), "scale") != only.end();
  only.erase(std::remove(only.begin(), only.end(), "scale"), only.end());
  if (want_scale && only.empty())
    for (auto& w : table)
      w.wanted = false;
  if (!only.empty()) {
    for (auto& k : only)
      if (std::none_of(table.begin(), table.end(),
                       [&](const workload& w) { return w.key == k; })) {
        std::string keys;
        for (auto& w : table)
          keys += (keys.empty() ? "" : ", ") + w.key;
        keys += ", scale";
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
  std::optional<scale_report> scale;
  if (want_scale) {
    if (progress)
      std::cerr << "scale: filling " << scale_rows << " + " << scale_live_rows
                << " rows, then " << rounds << " round(s) ..." << std::flush;
    auto rep = scale_run(env, static_cast<int>(rounds), scale_live_rows);
    if (progress)
      std::cerr << "\r\033[K" << std::flush;
    if (!rep)
      return fail("scale: " + message_of(rep.error()));
    scale = std::move(*rep);
  }
  if (json_out) {
    std::cout << to_json(env, **storage, static_cast<int>(rounds), figures,
                         peak_kb, scale)
              << std::endl;
    return 0;
  }
  if (!figures.empty()) {
    for (auto& f : figures)
      std::cout << format_line(f) << "\n";
    std::cout << "\npeak RSS (VmHWM) of this process: " << format_mb(peak_kb);
    for (auto& f : figures)
      if (f.peak_rss_kb > 0 && (f.w->key == "w2" || f.w->key == "w4"))
        std::cout << "; during " << f.w->label << ": "
                  << format_mb(f.peak_rss_kb);
    std::cout << std::endl;
  }
  if (scale)
    std::cout << (figures.empty() ? "" : "\n") << format_scale(*scale, jobs);
  return 0;
}

} // namespace jobd
