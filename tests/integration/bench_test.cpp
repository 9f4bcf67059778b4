// Smoke test of `jobd bench`: a small run prints every workload line with a
// positive rate and ratio, in the table and in --json; it runs on its own
// databases and leaves none behind. No timing assertions: the figures of a
// shared test machine mean nothing.
#include <catch2/catch.hpp>

#include <array>
#include <cstdio>
#include <filesystem>
#include <regex>
#include <sstream>
#include <string>
#include <sys/wait.h>

#include "storage/json_text.hpp"
#include "support/pg_server.hpp"
#include "support/temp_dir.hpp"

using namespace jobd::test;

namespace {

struct run_result {
  int status = -1;
  std::string out; // stdout and stderr
};

// Runs jobd with `args` (already shell-quoted) and collects its output. A
// run that hangs is killed after 5 minutes (status 124/137), so the test
// fails instead of waiting forever.
run_result run_jobd(const std::string& args) {
  run_result r;
  auto cmd = std::string{"timeout -k 10 300 "} + JOBD_BINARY + " " + args
             + " 2>&1";
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::array<char, 4096> buf;
  size_t n;
  while ((n = std::fread(buf.data(), 1, buf.size(), p)) > 0)
    r.out.append(buf.data(), n);
  auto st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

// The table line that starts with `label`, or "".
std::string line_of(const std::string& out, const std::string& label) {
  std::istringstream in{out};
  for (std::string line; std::getline(in, line);)
    if (line.rfind(label, 0) == 0)
      return line;
  return {};
}

// Checks that every workload of a full run with W4 (`scale` finished rows)
// has its line: throughput lines with `jobs` jobs and a positive rate and
// ratio, latency lines (W3) with p50 <= p99; all but baselines name the
// figure their ratio is to.
void check_table(const std::string& out, int64_t jobs, int64_t scale) {
  struct expected {
    std::string label;
    std::string base; ///< what the ratio names; "" for a baseline
    bool latency;
  };
  const std::vector<expected> lines = {
    {"baseline insert, 1 txn", "", false},
    {"baseline insert, 1 commit/job", "", false},
    {"W1 enqueue (store actor)", "baseline", false},
    {"W1 enqueue (job_store/CLI)", "baseline", false},
    {"baseline claim+complete, batch 10", "", false},
    {"baseline claim+complete, batch 100", "", false},
    {"W2 drain (10 handlers)", "baseline", false},
    {"W4 drain, " + std::to_string(scale) + " finished", "W2", false},
    {"W1 enqueue (HTTP, 1 client)", "baseline", false},
    {"W1 enqueue (HTTP, 32 clients)", "baseline", false},
    {"baseline insert+claim latency", "", true},
    {"W3 latency (in-process)", "baseline p50", true},
    {"W3 latency (across processes)", "baseline p50", true},
  };
  static const std::regex rate{R"(\s(\d+) jobs\s+(\d+) jobs/s)"};
  static const std::regex latency{
    R"(\s(\d+) jobs\s+p50\s+([0-9.]+) ms\s+p99\s+([0-9.]+) ms)"};
  static const std::regex ratio{
    R"(\s([0-9]+\.[0-9]+) x ([a-zA-Z0-9 ]+) \(([0-9.]+) (jobs/s|ms)\))"};
  for (auto& e : lines) {
    INFO(e.label);
    auto line = line_of(out, e.label);
    REQUIRE(!line.empty());
    std::smatch m;
    if (e.latency) {
      REQUIRE(std::regex_search(line, m, latency));
      CHECK(std::stoll(m[1]) > 0);
      // Shown to 0.01 ms: an in-process p50 under 5 us prints as 0.00, so
      // only the order of the figures is certain.
      CHECK(std::stod(m[2]) >= 0);
      CHECK(std::stod(m[3]) >= std::stod(m[2]));
    } else {
      REQUIRE(std::regex_search(line, m, rate));
      CHECK(std::stoll(m[1]) == jobs);
      CHECK(std::stoll(m[2]) > 0);
    }
    // W1 over HTTP also shows the server's CPU time per request, and the
    // one-commit baseline its own, to compare with.
    static const std::regex cpu{R"(   CPU (\d+) us/job)"};
    if (e.label.find("HTTP") != std::string::npos
        || e.label == "baseline insert, 1 commit/job") {
      std::smatch c;
      REQUIRE(std::regex_search(line, c, cpu));
      CHECK(std::stoll(c[1]) > 0);
    } else {
      CHECK(line.find("CPU") == std::string::npos);
    }
    if (e.base.empty()) {
      CHECK(line.find(" x ") == std::string::npos);
      continue;
    }
    REQUIRE(std::regex_search(line, m, ratio));
    CHECK(m[2] == e.base);
    if (e.latency) {
      // Both rounded (0.1 and 0.01 ms): either may print as zero.
      CHECK(std::stod(m[1]) >= 0);
      CHECK(std::stod(m[3]) >= 0);
    } else {
      CHECK(std::stod(m[1]) > 0);
      CHECK(std::stod(m[3]) > 0);
    }
  }
  CHECK(out.find("peak RSS (VmHWM)") != std::string::npos);
}

} // namespace

TEST_CASE("jobd bench prints every workload beside its baseline",
          "[integration][bench]") {
  temp_dir dir;
  // bench works beside storage.db and must never open the file itself.
  auto db = dir.file("jobd.db");
  auto r = run_jobd("bench --jobs 500 --scale 2000 --rounds 1 --db " + db);
  INFO(r.out);
  REQUIRE(r.status == 0);
  check_table(r.out, 500, 2000);
  CHECK(r.out.find("synchronous=FULL") != std::string::npos);
  // W5 needs a PostgreSQL server to put a proxy in front of.
  CHECK(line_of(r.out, "W5").empty());
  CHECK_FALSE(std::filesystem::exists(db));
  // Its temp dir is gone too: the dir holds nothing.
  CHECK(std::filesystem::is_empty(dir.path()));
}

TEST_CASE("jobd bench --json gives every figure", "[integration][bench]") {
  temp_dir dir;
  auto r = run_jobd("bench --jobs 200 --scale 1000 --rounds 2 --json --db "
                    + dir.file("jobd.db"));
  INFO(r.out);
  REQUIRE(r.status == 0);
  std::string why;
  REQUIRE(jobd::check_json(r.out, why));
  for (auto key : {"\"key\":\"base_bulk\"", "\"key\":\"base_row_commit\"",
                   "\"key\":\"w1_actor\"", "\"key\":\"w1_store\"",
                   "\"key\":\"base_claim\"", "\"key\":\"base_claim100\"",
                   "\"key\":\"w2\"",
                   "\"key\":\"w4\"", "\"key\":\"w1_http\"",
                   "\"key\":\"w1_http32\"", "\"key\":\"base_latency\"",
                   "\"key\":\"w3\"", "\"key\":\"w3_cross\"", "\"p50Ms\":",
                   "\"ratio\":", "\"peakRssKb\":", "\"cpuUsPerJob\":",
                   "\"rounds\":2"})
    CHECK(r.out.find(key) != std::string::npos);
}

TEST_CASE("jobd bench --only runs a workload with its baselines",
          "[integration][bench]") {
  temp_dir dir;
  auto r = run_jobd("bench --jobs 100 --rounds 1 --only w4 --scale 500 --db "
                    + dir.file("jobd.db"));
  INFO(r.out);
  REQUIRE(r.status == 0);
  CHECK(!line_of(r.out, "baseline claim+complete, batch 100").empty());
  CHECK(!line_of(r.out, "W2 drain").empty());
  CHECK(!line_of(r.out, "W4 drain").empty());
  CHECK(line_of(r.out, "W1 enqueue").empty());
  auto bad = run_jobd("bench --only w9 --db " + dir.file("jobd.db"));
  CHECK(bad.status == 2);
  CHECK(bad.out.find("--only: no workload 'w9'") != std::string::npos);
}

TEST_CASE("jobd bench --only scale fills a big table and reports W1/W2 "
          "against an empty one, W3 on both, the dashboard's reads, RSS and "
          "disk",
          "[integration][bench]") {
  temp_dir dir;
  auto r = run_jobd("bench --jobs 300 --rounds 2 --only scale --scale 20000 "
                    "--live 2000 --db "
                    + dir.file("jobd.db"));
  INFO(r.out);
  REQUIRE(r.status == 0);
  // Only the scale run: no table of the other workloads.
  CHECK(line_of(r.out, "W2 drain (10 handlers)").empty());
  CHECK(!line_of(r.out, "scale: 20000 finished + 2000 live rows").empty());
  std::smatch m;
  auto disk = line_of(r.out, "scale: ");
  REQUIRE(std::regex_search(disk, m, std::regex{"([0-9.]+) MB on disk \\(([0-9]+) MB per million"}));
  CHECK(std::stod(m[1]) > 1.0);     // 22,000 rows take some space
  CHECK(std::stod(m[2]) > 10);
  for (auto label : {"W1 enqueue (HTTP, 1 client), big table",
                     "W2 drain (serve), big table"}) {
    auto line = line_of(r.out, label);
    INFO(label);
    REQUIRE(std::regex_search(line, m, std::regex{"300 jobs +([0-9]+) jobs/s +([0-9.]+) x empty table \\(([0-9]+) jobs/s\\)"}));
    CHECK(std::stod(m[1]) > 0);
    CHECK(std::stod(m[2]) > 0);
    CHECK(std::stod(m[3]) > 0);
  }
  // W3 on both tables: 200 jobs a round, two rounds.
  auto w3 = line_of(r.out, "W3 latency (enqueue to start), big table");
  REQUIRE(std::regex_search(w3, m, std::regex{"400 jobs +p50 ([0-9.]+) ms p99 ([0-9.]+) ms +empty table p50 ([0-9.]+) ms p99 ([0-9.]+) ms"}));
  CHECK(std::stod(m[1]) <= std::stod(m[2]));
  CHECK(std::stod(m[3]) <= std::stod(m[4]));
  auto dash = line_of(r.out, "dashboard at 10 Hz");
  REQUIRE(std::regex_search(dash, m, std::regex{"stats p50 ([0-9.]+) ms p99 ([0-9.]+) ms \\(([0-9]+) reads\\); list page p50 ([0-9.]+) ms p99 ([0-9.]+) ms \\(([0-9]+) reads\\)"}));
  CHECK(std::stod(m[1]) <= std::stod(m[2]));
  CHECK(std::stoi(m[3]) > 0);
  CHECK(std::stod(m[4]) <= std::stod(m[5]));
  CHECK(std::stoi(m[6]) > 0);
  CHECK(!line_of(r.out, "peak RSS during the big table's phases").empty());
  // --json carries the same.
  auto j = run_jobd("bench --jobs 100 --rounds 1 --only scale --scale 2000 "
                    "--live 100 --json --db "
                    + dir.file("jobd.db"));
  INFO(j.out);
  REQUIRE(j.status == 0);
  std::string why;
  REQUIRE(jobd::check_json(j.out, why));
  for (auto key : {"\"scale\":{\"finishedRows\":2000", "\"liveRows\":100",
                   "\"w1Ratio\":", "\"w2Ratio\":", "\"w3P99Ms\":",
                   "\"w3EmptyP99Ms\":", "\"statsP99Ms\":",
                   "\"listP99Ms\":", "\"diskBytes\":"})
    CHECK(j.out.find(key) != std::string::npos);
  CHECK(std::filesystem::is_empty(dir.path()));
}

TEST_CASE("jobd bench on PostgreSQL uses a schema of its own",
          "[integration][bench][pg]") {
  auto& pg = pg_server::shared();
  // A table of the user's own in the default schema must survive the run.
  pg_server::query(pg.url(), "CREATE TABLE IF NOT EXISTS keep_me (x int)");
  auto r = run_jobd("bench --jobs 200 --scale 1000 --rounds 1 --db "
                    + pg.url());
  INFO(r.out);
  REQUIRE(r.status == 0);
  check_table(r.out, 200, 1000);
  CHECK(r.out.find("schema jobd_bench_") != std::string::npos);
  // W5, PostgreSQL only: three workers, each through a proxy to the
  // server, drain every job (the bench checks the COMPLETED count), with
  // no delay and with 5 ms each way; the far one names the near one.
  std::smatch m;
  auto near = line_of(r.out, "W5 drain, 3 workers x 10 via proxy, 0 ms");
  REQUIRE(std::regex_search(near, m, std::regex{R"(\s200 jobs\s+(\d+) jobs/s)"}));
  CHECK(std::stoll(m[1]) > 0);
  CHECK(std::regex_search(near, std::regex{R"(jobs/s\s*$)"})); // no ratio
  auto far = line_of(r.out, "W5 drain, 3 workers x 10, 5 ms each way");
  REQUIRE(std::regex_search(far, m, std::regex{R"(\s200 jobs\s+(\d+) jobs/s\s+([0-9.]+) x 0 ms \((\d+) jobs/s\))"}));
  CHECK(std::stoll(m[1]) > 0);
  CHECK(std::stod(m[2]) > 0);
  // The workers' LISTEN connections end before their proxy does.
  CHECK(r.out.find("LISTEN wake-ups lost") == std::string::npos);
  // The scale run holds two databases at once (the big one and the empty
  // one): on PostgreSQL two schemas, neither wiping the other (it checks
  // the big table's COMPLETED count at the end).
  auto scale = run_jobd("bench --jobs 100 --rounds 1 --only scale --scale "
                        "2000 --live 100 --db "
                        + pg.url());
  INFO(scale.out);
  CHECK(scale.status == 0);
  CHECK(!line_of(scale.out, "W2 drain (serve), big table").empty());
  CHECK(pg_server::query(pg.url(), "SELECT count(*) FROM pg_namespace WHERE "
                                   "nspname LIKE 'jobd_bench_%'")
        == "0");
  CHECK(pg_server::query(pg.url(), "SELECT to_regclass('public.keep_me') IS "
                                   "NOT NULL")
        == "t");
}
