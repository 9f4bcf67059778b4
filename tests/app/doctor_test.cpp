// `jobd doctor` as an operator runs it: one line per check, exit 1 when
// one FAILed, nothing created, no secret printed.
#include <catch2/catch.hpp>

#include "storage/sqlite/sqlite_store.hpp"

#include <filesystem>
#include <fstream>

#include <sqlite3.h>

#include "storage/store.hpp"
#include "support/fake_openai.hpp"
#include "support/pg_server.hpp"
#include "support/process.hpp"

using namespace jobd;
using namespace jobd::test;
using namespace std::chrono_literals;

namespace {

run_result doctor(const std::string& cwd, std::vector<std::string> args) {
  args.insert(args.begin(), "doctor");
  child_process::options opts;
  opts.cwd = cwd;
  // The machine's own key must not leak into the checks.
  opts.env["OPENAI_API_KEY"] = std::nullopt;
  opts.env["OPENAI_BASE_URL"] = std::nullopt;
  return run_jobd(args, opts, 60s);
}

// The line of check `what` ("" if none).
std::string line_of(const std::string& out, const std::string& what) {
  for (auto& l : lines_of(out))
    if (l.find(" " + what + ": ") != std::string::npos)
      return l;
  return {};
}

std::unique_ptr<job_store> open_db(const std::string& url) {
  store_options opts;
  opts.url = url;
  auto st = open_store(opts, std::make_shared<system_clock_source>());
  REQUIRE(st);
  return std::move(*st);
}

void add_jobs(job_store& st, int n) {
  std::vector<new_job> jobs(static_cast<size_t>(n));
  for (auto& j : jobs) {
    j.type = "ECHO";
    j.payload = "{}";
  }
  REQUIRE(st.enqueue(jobs));
}

} // namespace

TEST_CASE("jobd doctor in a fresh directory warns of what does not exist "
          "yet and creates nothing",
          "[app][doctor]") {
  temp_dir dir;
  fake_openai api;
  auto r = doctor(dir.path().string(), {"--set", "openai.base_url="
                                                   + api.base_url()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK_THAT(line_of(r.out, "storage"),
             Catch::StartsWith("warn ")
               && Catch::Contains("jobd.db does not exist yet"));
  CHECK_THAT(line_of(r.out, "disk"), Catch::StartsWith("ok ")
                                       && Catch::Contains("MB free"));
  CHECK_THAT(line_of(r.out, "export.directory"),
             Catch::StartsWith("ok ")
               && Catch::Contains("the first export creates it"));
  // No key: a warning, not a failure (the other job types run without).
  CHECK_THAT(line_of(r.out, "openai"),
             Catch::StartsWith("warn ") && Catch::Contains("no API key"));
  CHECK_THAT(r.out, Catch::EndsWith("doctor: nothing failed\n"));
  CHECK(std::filesystem::is_empty(dir.path()));
}

TEST_CASE("jobd doctor reports a healthy SQLite database, export directory "
          "and OpenAI API, and never prints the key",
          "[app][doctor]") {
  temp_dir dir;
  auto cwd = dir.path().string();
  add_jobs(*open_db(cwd + "/jobd.db"), 2);
  std::filesystem::create_directory(cwd + "/exports");
  fake_openai api;
  api.push_json(200, R"({"data":[]})");
  auto r = doctor(cwd, {"--set", "openai.base_url=" + api.base_url(),
                        "--set", "openai.api_key=sk-doctor-secret"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(line_of(r.out, "journal mode") == "ok   journal mode: wal");
  CHECK(line_of(r.out, "schema")
        == "ok   schema: version " + std::to_string(sqlite_schema_version));
  CHECK(line_of(r.out, "storage") == "ok   storage: 2 jobs (PENDING 2)");
  CHECK_THAT(line_of(r.out, "export.directory"),
             Catch::StartsWith("ok ") && Catch::Contains("is writable"));
  CHECK_THAT(line_of(r.out, "openai"),
             Catch::StartsWith("ok ") && Catch::Contains("answered HTTP 200"));
  CHECK(r.out.find("sk-doctor-secret") == std::string::npos);
  CHECK(r.err.find("sk-doctor-secret") == std::string::npos);
  auto seen = api.requests();
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].method == "GET");
  CHECK(seen[0].target == "/v1/models");
  CHECK(seen[0].header("authorization") == "Bearer sk-doctor-secret");
  // Read-only: the export directory holds no probe file afterwards.
  CHECK(std::filesystem::is_empty(cwd + "/exports"));
}

TEST_CASE("jobd doctor fails on a refused key, an export directory that "
          "cannot be created and a database from a newer jobd",
          "[app][doctor]") {
  temp_dir dir;
  auto cwd = dir.path().string();
  add_jobs(*open_db(cwd + "/jobd.db"), 1);
  {
    std::ofstream f{cwd + "/afile"};
    f << "not a directory";
  }
  fake_openai api;
  api.push_json(401, R"({"error":{"message":"bad key"}})");
  auto r = doctor(cwd, {"--set", "openai.base_url=" + api.base_url(),
                        "--set", "openai.api_key=sk-doctor-secret",
                        "--set", "export.directory=afile/exports"});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 1);
  CHECK_THAT(line_of(r.out, "export.directory"),
             Catch::StartsWith("FAIL ")
               && Catch::Contains("afile is not a directory"));
  CHECK_THAT(line_of(r.out, "openai"),
             Catch::StartsWith("FAIL ")
               && Catch::Contains("refused the API key (HTTP 401)"));
  CHECK_THAT(r.out, Catch::EndsWith("doctor: 2 check(s) failed\n"));
  CHECK(r.out.find("sk-doctor-secret") == std::string::npos);

  // A schema version this binary does not know.
  {
    sqlite3* db = nullptr;
    REQUIRE(sqlite3_open((cwd + "/jobd.db").c_str(), &db) == SQLITE_OK);
    CHECK(sqlite3_exec(db, "PRAGMA user_version=99", nullptr, nullptr,
                       nullptr)
          == SQLITE_OK);
    sqlite3_close(db);
  }
  auto newer = doctor(cwd, {"--set", "openai.base_url=" + api.base_url()});
  INFO(newer.out);
  CHECK(newer.exit_code == 1);
  CHECK_THAT(line_of(newer.out, "schema"),
             Catch::StartsWith("FAIL ") && Catch::Contains("upgrade jobd"));
}

TEST_CASE("jobd doctor on PostgreSQL: the server answers with its counts, "
          "or the failure is named without the password",
          "[app][doctor][pg]") {
  temp_dir dir;
  fake_openai api;
  auto& pg = pg_server::shared();
  auto url = pg.fresh_schema_url();
  add_jobs(*open_db(url), 3);
  auto r = doctor(dir.path().string(),
                  {"--db", url, "--set", "openai.base_url=" + api.base_url()});
  INFO(r.out << r.err);
  CHECK(r.exit_code == 0);
  CHECK(line_of(r.out, "storage")
        == "ok   storage: PostgreSQL answers; 3 jobs (PENDING 3)");
  // Nothing listens on port 1.
  auto down = doctor(dir.path().string(),
                     {"--db", "postgresql://jobd:pw-doctor@127.0.0.1:1/jobd"
                              "?connect_timeout=2",
                      "--set", "openai.base_url=" + api.base_url()});
  INFO(down.out << down.err);
  CHECK(down.exit_code == 1);
  CHECK_THAT(line_of(down.out, "storage"),
             Catch::StartsWith("FAIL ") && Catch::Contains("127.0.0.1:1"));
  CHECK(down.out.find("pw-doctor") == std::string::npos);
}
