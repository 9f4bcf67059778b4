// Configuration mistakes an operator makes, as jobd reports them: each
// refusal names the setting, where it came from and what is accepted, and
// nothing starts.
#include "integration/cluster.hpp"

#include <fstream>

#include <sqlite3.h>

#include "storage/postgres/pg_store.hpp"
#include "storage/sqlite/sqlite_store.hpp"

using namespace jobd;
using namespace jobd::test;

namespace {

std::string write_file(const temp_dir& dir, const std::string& name,
                       const std::string& text) {
  auto path = dir.file(name);
  std::ofstream out{path};
  out << text;
  return path;
}

std::string show(const std::vector<std::string>& args, const run_result& r) {
  std::string cmd = "jobd";
  for (auto& a : args)
    cmd += " " + a;
  return cmd + "\n  exit " + std::to_string(r.exit_code) + "\n  stdout: "
         + r.out + "\n  stderr: " + r.err;
}

// Runs jobd expecting a refusal: non-zero exit, one line on stderr that
// contains every one of `parts`.
void refused(const std::vector<std::string>& args,
             const std::vector<std::string>& parts) {
  auto r = run_jobd(args, {}, 30s);
  INFO(show(args, r));
  CHECK_FALSE(r.timed_out);
  CHECK(r.exit_code > 0);
  CHECK(r.err.rfind("jobd: ", 0) == 0);
  CHECK(lines_of(r.err).size() == 1);
  for (auto& part : parts)
    CHECK(r.err.find(part) != std::string::npos);
}

int sqlite_user_version(const std::string& path) {
  sqlite3* db = nullptr;
  int version = -1;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr)
      == SQLITE_OK)
    sqlite3_exec(
      db, "PRAGMA user_version",
      [](void* arg, int, char** vals, char**) {
        *static_cast<int*>(arg) = std::atoi(vals[0]);
        return 0;
      },
      &version, nullptr);
  sqlite3_close(db);
  return version;
}

} // namespace

TEST_CASE("config: a bad value in the file names the setting, file:line and "
          "what is accepted",
          "[integration][config]") {
  temp_dir dir;
  auto conf = write_file(dir, "jobd.ini",
                         "# jobd settings\n"
                         "[worker]\n"
                         "workers = 4\n"
                         "lease = 5 parsecs   # typo\n");
  // Every command loads the config first.
  for (auto args : std::vector<std::vector<std::string>>{
         {"config", "check"}, {"worker"}, {"jobs", "list"}}) {
    args.insert(args.end(), {"--config", conf, "--db", dir.file("j.db")});
    refused(args, {conf + ":4: worker.lease = '5 parsecs' is not valid: "
                   "expected a duration from 1s to 1d"});
  }
  // Nothing was started or created.
  CHECK_FALSE(std::filesystem::exists(dir.file("j.db")));

  auto bad_choice = write_file(dir, "sync.ini", "[storage]\nsynchronous = fast\n");
  refused({"config", "check", "--config", bad_choice},
          {bad_choice + ":2: storage.synchronous = 'fast' is not valid: "
           "expected one of FULL, NORMAL, OFF"});
  auto outside = write_file(dir, "outside.ini", "workers = 4\n");
  refused({"config", "check", "--config", outside},
          {outside + ":1: 'workers' is outside any [section]"});
  refused({"config", "check", "--config", dir.file("missing.ini")},
          {"cannot read config file '" + dir.file("missing.ini") + "'"});
}

TEST_CASE("config: an unknown setting is refused with a hint",
          "[integration][config]") {
  temp_dir dir;
  auto conf = write_file(dir, "jobd.ini", "[worker]\nleese = 5s\n");
  refused({"config", "check", "--config", conf},
          {conf + ":2: unknown setting 'worker.leese'",
           "settings in [worker]:", "worker.lease"});
  refused({"config", "check", "--set", "retry.capp=10s"},
          {"--set: unknown setting 'retry.capp'", "retry.cap"});
  refused({"config", "check", "--set", "retry.cap"},
          {"--set expects name=value"});
}

TEST_CASE("config: a bad flag value names the flag", "[integration][config]") {
  refused({"config", "check", "--workers", "zero"},
          {"--workers: worker.workers = 'zero' is not valid: expected a whole "
           "number 0..1024"});
  refused({"config", "check", "--lease", "500ms"},
          {"--lease: worker.lease = '500ms' is not valid: expected a duration "
           "from 1s to 1d"});
  refused({"config", "check", "--poll-interval", "soon"},
          {"--poll-interval: worker.poll_interval"});
  refused({"config", "check", "--set", "retry.jitter=2"},
          {"--set: retry.jitter = '2' is not valid: expected a number 0..1"});
  refused({"config", "check", "--db"}, {"--db needs a value"});
  // A flag overrides the file: the file's heartbeat is too long for its
  // lease, a shorter heartbeat from a flag makes it consistent.
  temp_dir dir;
  auto conf = write_file(dir, "jobd.ini",
                         "[worker]\nlease = 4s\nheartbeat_interval = 3s\n");
  refused({"config", "check", "--config", conf},
          {"worker.heartbeat_interval (3000 ms)", "worker.lease (4000 ms)"});
  auto r = run_jobd({"config", "check", "--config", conf, "--set",
                     "worker.heartbeat_interval=2s"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
}

TEST_CASE("config: heartbeat_interval over half the lease is refused",
          "[integration][config]") {
  refused({"config", "check", "--lease", "2s", "--set",
           "worker.heartbeat_interval=1500ms"},
          {"worker.heartbeat_interval (1500 ms) must be at most half of "
           "worker.lease (2000 ms)"});
  // Set in a file, overridden by a shorter lease: refused before anything
  // is opened, exit 2.
  temp_dir dir;
  auto conf = write_file(dir, "jobd.ini",
                         "[worker]\nheartbeat_interval = 10s\n");
  auto w = run_jobd({"worker", "--config", conf, "--lease", "5s", "--db",
                     "/nonexistent/never-opened.db"},
                    {}, 30s);
  INFO(show({"worker"}, w));
  CHECK(w.exit_code == 2);
  CHECK(lines_of(w.err).size() == 1);
  CHECK(w.err.find("worker.heartbeat_interval (10000 ms) must be at most "
                   "half of worker.lease (5000 ms)")
        != std::string::npos);
  // Exactly half is fine.
  auto r = run_jobd({"config", "check", "--lease", "2s", "--set",
                     "worker.heartbeat_interval=1s"});
  INFO(r.err);
  CHECK(r.exit_code == 0);
  CHECK(r.out == "config ok\n");
}

TEST_CASE("config: --lease alone sets the heartbeat and rescue intervals",
          "[integration][config]") {
  // Even on top of conf/jobd.ini, which leaves both intervals at auto.
  for (auto args : std::vector<std::vector<std::string>>{
         {"config", "check", "--lease", "2s"},
         {"config", "check", "--lease", "1s"},
         {"config", "check", "--config", JOBD_SOURCE_DIR "/conf/jobd.ini",
          "--lease", "2s"}}) {
    auto r = run_jobd(args, {}, 30s);
    INFO(show(args, r));
    CHECK(r.exit_code == 0);
    CHECK(r.out == "config ok\n");
  }
  // A worker with a 2 s lease keeps a 3 s job: the derived heartbeat
  // (every 666 ms) renews its lease, so it runs once, never rescued.
  cluster c{"sqlite"};
  auto job = c.enqueue_echo(1, R"({"delayMs":3000})").front();
  auto& w = c.start_worker({"--lease", "2s", "--workers", "1",
                            "--poll-interval", "50ms"});
  c.wait_until([&] { return c.get(job.id).status == job_status::completed; },
               60s, "the 3 s job completes\n" + w.describe());
  auto done = c.get(job.id);
  CHECK(done.attempt == 1);
  CHECK(done.retry_count == 0);
  CHECK(c.ledger().size() == 1);
  c.stop_all();
}

TEST_CASE("config: a database from a newer jobd is refused",
          "[integration][config]") {
  SECTION("sqlite") {
    temp_dir dir;
    auto db_path = dir.file("newer.db");
    {
      sqlite3* db = nullptr;
      REQUIRE(sqlite3_open(db_path.c_str(), &db) == SQLITE_OK);
      REQUIRE(sqlite3_exec(db,
                           "CREATE TABLE future (x); PRAGMA user_version = 99",
                           nullptr, nullptr, nullptr)
              == SQLITE_OK);
      sqlite3_close(db);
    }
    auto msg = "database '" + db_path
               + "' has schema version 99 but this jobd knows only up to "
               + std::to_string(sqlite_schema_version)
               + ": upgrade jobd, or point it at another file with --db";
    refused({"jobs", "list", "--db", db_path}, {msg});
    refused({"jobs", "add", "--type", "ECHO", "--db", db_path}, {msg});
    refused({"worker", "--db", db_path}, {msg});
    CHECK(sqlite_user_version(db_path) == 99); // left as it was
  }
  SECTION("postgresql") {
    cluster c{"postgresql"};
    pg_server::query(c.db(), "UPDATE jobd_schema SET version = 99");
    refused({"jobs", "list", "--db", c.db()},
            {"has jobd schema version 99 but this jobd knows only up to "
             + std::to_string(pg_schema_version) + ": upgrade jobd"});
    refused({"worker", "--db", c.db()}, {"has jobd schema version 99"});
    CHECK(pg_server::query(c.db(), "SELECT version FROM jobd_schema") == "99");
  }
}

TEST_CASE("config: a database jobd did not make is refused in one line",
          "[integration][config]") {
  SECTION("sqlite: not a database at all") {
    temp_dir dir;
    auto path = write_file(dir, "notes.txt", "just some text\n");
    refused({"jobs", "list", "--db", path},
            {"'" + path + "' is not a jobd database"});
    CHECK(read_file(path) == "just some text\n");
  }
  SECTION("sqlite: another application's ContentJob table") {
    // E.g. the database of the application jobd replaces.
    temp_dir dir;
    auto path = dir.file("app.db");
    {
      sqlite3* db = nullptr;
      REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
      REQUIRE(sqlite3_exec(db,
                           "CREATE TABLE ContentJob (id TEXT PRIMARY KEY, "
                           "kind TEXT)",
                           nullptr, nullptr, nullptr)
              == SQLITE_OK);
      sqlite3_close(db);
    }
    refused({"jobs", "list", "--db", path},
            {"database '" + path + "'", "ContentJob"});
    refused({"worker", "--db", path}, {"database '" + path + "'"});
    CHECK(sqlite_user_version(path) == 0); // left as it was
  }
  SECTION("postgresql: another application's ContentJob table") {
    auto url = pg_server::shared().fresh_schema_url();
    pg_server::query(url, "CREATE TABLE \"ContentJob\" (id text PRIMARY KEY, "
                          "kind text)");
    refused({"jobs", "list", "--db", url}, {"ContentJob"});
  }
}

TEST_CASE("config: a PostgreSQL server that refuses the login stops start-up "
          "at once with what to check, never the password",
          "[integration][config][pg]") {
  auto& pg = pg_server::shared();
  const std::string wrong = "wrong-pass-81723";
  auto bad_password = pg.url_as(pg_server::password_user, wrong,
                                pg_server::password_user);
  for (auto cmd : {"worker", "serve", "jobs"}) {
    INFO(cmd);
    std::vector<std::string> args{cmd};
    if (std::string{cmd} == "jobs")
      args.push_back("list");
    if (std::string{cmd} == "serve")
      args.insert(args.end(), {"--port", "0"});
    args.insert(args.end(), {"--db", bad_password});
    auto r = run_jobd(args, {}, 30s);
    INFO(show(args, r));
    CHECK_FALSE(r.timed_out); // no waiting as for a server that is down
    CHECK(r.exit_code > 0);
    CHECK(r.err.find("refused the login") != std::string::npos);
    CHECK(r.err.find("password authentication failed") != std::string::npos);
    CHECK(r.err.find("check the user and password") != std::string::npos);
    CHECK(r.err.find("retrying") == std::string::npos);
    CHECK(r.err.find(wrong) == std::string::npos);
    CHECK(r.out.find(wrong) == std::string::npos);
    // A password on the command line is readable by every local user.
    CHECK(r.err.find("URL carries a password") != std::string::npos);
    CHECK(r.err.find("PGPASSWORD") != std::string::npos);
  }
  // An unknown role or database is refused the same way.
  refused({"worker", "--db", pg.url_as("nobody_here", "")},
          {"refused the login", "role \"nobody_here\" does not exist"});
  refused({"worker", "--db", pg.url("no_such_db")},
          {"refused the login", "database \"no_such_db\" does not exist"});
  // The right password gets in.
  auto ok = run_jobd({"jobs", "list", "--db",
                      pg.url_as(pg_server::password_user, pg_server::password,
                                pg_server::password_user)},
                     {}, 30s);
  INFO(ok.err);
  CHECK(ok.exit_code == 0);
}

TEST_CASE("config: `jobd config defaults` loads back cleanly",
          "[integration][config]") {
  temp_dir dir;
  auto r = run_jobd({"config", "defaults"});
  REQUIRE(r.exit_code == 0);
  CHECK(r.err.empty());
  // Every section is there.
  for (auto section : {"[storage]", "[worker]", "[retry]", "[retention]",
                       "[openai]", "[export]", "[preview]", "[recap]"})
    CHECK(r.out.find(section) != std::string::npos);
  auto conf = write_file(dir, "defaults.ini", r.out);
  auto check = run_jobd({"config", "check", "--config", conf});
  INFO(check.err);
  CHECK(check.exit_code == 0);
  CHECK(check.out == "config ok\n");
  CHECK(check.err.empty());
}
