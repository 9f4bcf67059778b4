// What an operator does to a running jobd: SIGHUP after editing the config
// file, and stopping it cleanly on a disk that must not fill up. Real
// processes; every wait is on a condition with a deadline.
#include "integration/cluster.hpp"

#include <filesystem>
#include <fstream>
#include <set>

#include <boost/asio/ip/tcp.hpp>

#include "support/http_fixture.hpp"

using namespace jobd;
using namespace jobd::test;

namespace {

void write_text(const std::string& path, const std::string& text) {
  // Write a new file and rename it over the old: jobd never reads half.
  std::ofstream{path + ".tmp"} << text;
  std::filesystem::rename(path + ".tmp", path);
}

// The lines of the child's stderr that contain `part`.
std::vector<std::string> err_lines(child_process& p, const std::string& part) {
  std::vector<std::string> out;
  for (auto& line : lines_of(p.err()))
    if (line.find(part) != std::string::npos)
      out.push_back(line);
  return out;
}

bool err_has(child_process& p, const std::string& part) {
  return p.err().find(part) != std::string::npos;
}

// Every job of the ledger started once, on its first attempt.
void check_each_ran_once(cluster& c, size_t jobs) {
  auto ledger = c.ledger();
  std::set<std::string> ids;
  for (auto& s : ledger) {
    CHECK(s.attempt == 1);
    ids.insert(s.id);
  }
  CHECK(ledger.size() == jobs);
  CHECK(ids.size() == jobs);
}

int64_t file_size(const std::string& path) {
  std::error_code ec;
  auto n = std::filesystem::file_size(path, ec);
  return ec ? -1 : static_cast<int64_t>(n);
}

} // namespace

TEST_CASE("SIGHUP applies a new pool size and poll interval; no job is lost "
          "or run twice",
          "[integration][reload]") {
  cluster c{"sqlite"};
  auto conf = c.dir().file("jobd.ini");
  write_text(conf, "[worker]\nworkers = 1\npoll_interval = 1m\n");
  auto& w = c.start_worker({"--config", conf});
  c.wait_until([&] { return err_has(w, "worker started: 1 handler(s)"); }, 30s,
               "the worker starts");
  // The worker polled as it started; its next poll is a minute away.
  c.enqueue_echo(1);
  write_text(conf, "[worker]\nworkers = 4\npoll_interval = 50ms\n");
  w.signal(SIGHUP);
  c.wait_until(
    [&] {
      return err_has(w, "reload: applied worker.workers '1' -> '4', "
                        "worker.poll_interval '1m' -> '50ms'");
    },
    30s, "the reload is applied");
  // Found by the new 50 ms poll, long before the old one-minute poll.
  c.wait_until([&] { return c.count("COMPLETED") == 1; }, 30s,
               "the job is found by the new poll interval");
  // Four handlers: four long jobs run at once.
  c.enqueue_echo(4, R"({"delayMs":4000})");
  c.wait_until([&] { return c.count("PROCESSING") == 4; }, 30s,
               "four jobs run at once");
  // Shrinking while they run lets them finish.
  write_text(conf, "[worker]\nworkers = 2\npoll_interval = 50ms\n");
  w.signal(SIGHUP);
  c.wait_until([&] { return err_has(w, "worker.workers '4' -> '2'"); }, 30s,
               "the shrink is applied");
  c.enqueue_echo(6, R"({"delayMs":100})");
  c.wait_until([&] { return c.count("COMPLETED") == 11; }, 60s,
               "every job completes");
  CHECK(c.count("FAILED") == 0);
  check_each_ran_once(c, 11);
  CHECK(w.running());
  c.stop_all();
}

TEST_CASE("SIGHUP with an invalid file is refused in one line; the old "
          "settings stay",
          "[integration][reload]") {
  cluster c{"sqlite"};
  auto conf = c.dir().file("jobd.ini");
  write_text(conf, "[worker]\nworkers = 2\npoll_interval = 50ms\n");
  auto& w = c.start_worker({"--config", conf});
  c.wait_until([&] { return err_has(w, "worker started: 2 handler(s)"); }, 30s,
               "the worker starts");
  write_text(conf, "[worker]\nworkers = many\npoll_interval = 1m\n");
  w.signal(SIGHUP);
  c.wait_until([&] { return err_has(w, "reload: "); }, 30s,
               "the reload is answered");
  auto lines = err_lines(w, "reload: ");
  INFO(w.err());
  REQUIRE(lines.size() == 1);
  CHECK_THAT(lines[0], Catch::Contains(conf + ":2")
                         && Catch::Contains("worker.workers")
                         && Catch::Contains("'many'")
                         && Catch::Contains("keeping the settings in force"));
  CHECK(w.running());
  // Still polling every 50 ms (not 1m): jobs from another process run.
  c.enqueue_echo(3);
  c.wait_until([&] { return c.count("COMPLETED") == 3; }, 30s,
               "jobs run with the old settings");
  check_each_ran_once(c, 3);
  c.stop_all();
}

TEST_CASE("SIGHUP reports restart-only settings in one line each and keeps "
          "them; flags still override the file",
          "[integration][reload]") {
  cluster c{"sqlite"};
  auto conf = c.dir().file("jobd.ini");
  auto other_db = c.dir().file("other.db");
  write_text(conf, "[storage]\ndb = " + c.db() + "\n[worker]\nworkers = 2\n");
  child_process w{jobd_binary(),
                  {"worker", "--config", conf, "--set",
                   "worker.ledger=" + c.ledger_path(), "--poll-interval",
                   "50ms"}};
  c.wait_until([&] { return err_has(w, "worker started: 2 handler(s)"); }, 30s,
               "the worker starts\n" + w.describe());
  write_text(conf, "[storage]\ndb = " + other_db
                     + "\n[worker]\nworkers = 2\nlease = 1m\n"
                       "poll_interval = 1m\n");
  w.signal(SIGHUP);
  c.wait_until([&] { return err_has(w, "reload: nothing to apply"); }, 30s,
               "the reload is answered\n" + w.describe());
  INFO(w.err());
  auto db_lines = err_lines(w, "reload: storage.db");
  REQUIRE(db_lines.size() == 1);
  CHECK_THAT(db_lines[0],
             Catch::Contains("changed to '" + other_db
                             + "'; restart to apply, keeping '" + c.db()
                             + "'"));
  auto lease_lines = err_lines(w, "reload: worker.lease");
  REQUIRE(lease_lines.size() == 1);
  CHECK_THAT(lease_lines[0], Catch::Contains("keeping '30s'"));
  // --poll-interval on the command line still wins over the file.
  CHECK(err_lines(w, "poll_interval").empty());
  // The worker still serves the first database, polling every 50 ms.
  c.enqueue_echo(2);
  c.wait_until([&] { return c.count("COMPLETED") == 2; }, 30s,
               "jobs of the kept database run\n" + w.describe());
  CHECK_FALSE(std::filesystem::exists(other_db));
  w.signal(SIGTERM);
  REQUIRE(w.wait_for(60s));
  CHECK(w.exit_code() == 0);
}

TEST_CASE("a clean shutdown leaves no SQLite WAL behind, though another "
          "process keeps the file open",
          "[integration][disk]") {
  cluster c{"sqlite"}; // the test's own connection stays open throughout
  // No idle checkpoint: this is about the one at shutdown.
  auto& w = c.start_worker({"--poll-interval", "50ms", "--set",
                            "storage.checkpoint_idle=0"});
  c.enqueue_echo(300, R"({"text":")" + std::string(2000, 'x') + R"("})");
  c.wait_until([&] { return c.count("COMPLETED") == 300; }, 60s,
               "every job completes");
  CHECK(file_size(c.db() + "-wal") > 0);
  c.stop_all();
  INFO(w.err());
  auto wal = file_size(c.db() + "-wal");
  CHECK(wal <= 0); // absent (-1) or truncated (0)
}

TEST_CASE("an idle worker truncates the SQLite WAL to zero bytes",
          "[integration][disk]") {
  cluster c{"sqlite"};
  auto& w = c.start_worker({"--poll-interval", "50ms", "--set",
                            "storage.checkpoint_idle=300ms"});
  c.enqueue_echo(300, R"({"text":")" + std::string(2000, 'x') + R"("})");
  c.wait_until([&] { return c.count("COMPLETED") == 300; }, 60s,
               "every job completes");
  c.wait_until([&] { return file_size(c.db() + "-wal") == 0; }, 30s,
               "the WAL is truncated while the worker idles");
  CHECK(w.running());
  c.stop_all();
}

TEST_CASE("jobd serve on a full disk: enqueues answer 503 storage_full, "
          "/healthz 503, and nothing half-written is stored",
          "[integration][disk]") {
  temp_dir dir;
  auto db = dir.file("jobs.db");
  uint16_t port = 0;
  {
    boost::asio::io_context ioc;
    boost::asio::ip::tcp::acceptor a{
      ioc, {boost::asio::ip::address_v4::loopback(), 0}};
    port = a.local_endpoint().port();
  }
  // A file-size limit stands in for a full disk without root: writes past
  // it fail with EFBIG (SIGXFSZ ignored), as they fail with ENOSPC on a
  // full file system. 4096 blocks: 2 MiB (dash) or 4 MiB (bash).
  child_process serve{
    "/bin/sh",
    {"-c",
     "trap '' XFSZ; ulimit -f 4096; exec \"$0\" serve --db \"$1\" --port "
     "\"$2\" --workers 0 --set storage.checkpoint_idle=0",
     jobd_binary(), db, std::to_string(port)}};
  REQUIRE(eventually(
    [&] {
      try {
        return http_client{port}.get("/healthz").status == 200;
      } catch (...) {
        return false;
      }
    },
    30s));
  http_client api{port};
  auto payload = R"({"type":"ECHO","payload":{"text":")"
                 + std::string(50'000, 'x') + R"("}})";
  int stored = 0;
  http_reply refused;
  for (int i = 0; i < 400 && refused.status == 0; ++i) {
    auto r = api.post("/api/jobs", payload);
    if (r.status == 201)
      ++stored;
    else
      refused = r;
  }
  INFO(serve.describe() << "\n" << refused.body);
  REQUIRE(refused.status == 503);
  CHECK(stored > 0);
  CHECK(json_at(refused.body, "/error/code") == "storage_full");
  CHECK(refused.header("retry-after") == "30");
  auto h = api.get("/healthz");
  INFO(h.body);
  CHECK(h.status == 503);
  CHECK_THAT(json_at(h.body, "/reason").value_or(""),
             Catch::Contains("a write failed"));
  // Reads still work while writes cannot.
  CHECK(api.get("/api/stats").status == 200);
  serve.signal(SIGTERM);
  REQUIRE(serve.wait_for(60s));
  // Opened without the limit: exactly the acknowledged jobs are there.
  store_options opts;
  opts.url = db;
  auto st = open_store(opts, std::make_shared<system_clock_source>());
  REQUIRE(st);
  auto counts = (*st)->counts();
  REQUIRE(counts);
  int64_t total = 0;
  for (auto n : counts->count)
    total += n;
  CHECK(total == stored);
}
