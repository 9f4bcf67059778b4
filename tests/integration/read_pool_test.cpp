// The read pool (actors/reader_actor.hpp): `jobd serve` answers reads (a
// job, the list, the stats, the metrics) from read-only connections, so
// they do not wait while its store actor waits for the write lock. Another
// connection of the test holds that lock (SQLite: BEGIN IMMEDIATE;
// PostgreSQL: LOCK TABLE), so the serve's write cannot finish until the
// test lets it: an order, not a timing.
#include "integration/cluster.hpp"

#include <filesystem>

#include <pqxx/pqxx>
#include <sqlite3.h>

#include "support/http_fixture.hpp"
#include "support/json_checks.hpp"

using namespace jobd;
using namespace jobd::test;

namespace {

/// Holds the write lock on the jobs table until release().
class write_lock {
public:
  write_lock(const cluster& c) {
    if (c.backend() == "sqlite") {
      REQUIRE(sqlite3_open(c.db().c_str(), &db_) == SQLITE_OK);
      REQUIRE(sqlite3_exec(db_, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr)
              == SQLITE_OK);
    } else {
      pg_ = std::make_unique<pqxx::connection>(c.db());
      tx_ = std::make_unique<pqxx::work>(*pg_);
      tx_->exec("LOCK TABLE \"ContentJob\" IN EXCLUSIVE MODE");
    }
  }
  ~write_lock() { release(); }
  void release() {
    if (db_) {
      sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
      sqlite3_close(db_);
      db_ = nullptr;
    }
    if (tx_) {
      tx_->abort();
      tx_.reset();
      pg_.reset();
    }
  }

private:
  sqlite3* db_ = nullptr;
  std::unique_ptr<pqxx::connection> pg_;
  std::unique_ptr<pqxx::work> tx_;
};

/// A file's size in bytes; -1 if it does not exist.
int64_t file_size(const std::string& path) {
  std::error_code ec;
  auto n = std::filesystem::file_size(path, ec);
  return ec ? -1 : static_cast<int64_t>(n);
}

/// The value of an unlabelled metric in /metrics text; -1 if absent.
int64_t metric(const std::string& text, const std::string& name) {
  auto at = text.find("\n" + name + " ");
  if (at == std::string::npos)
    return -1;
  return std::stoll(text.substr(at + name.size() + 2));
}

void reads_do_not_wait_for_writes(const std::string& backend) {
  cluster c{backend};
  auto a = c.enqueue_echo(1).front();
  auto port = free_port();
  // The write waits for the lock far longer than the test runs (and its
  // answer for up to http.request_timeout, 30 s); a read that queued
  // behind it would get no answer within the test client's 10 s.
  child_process serve{jobd_binary(),
                      {"serve", "--db", c.db(), "--port",
                       std::to_string(port), "--workers", "0", "--set",
                       "storage.busy_timeout_ms=600000"},
                      {{}, c.dir().path().string()}};
  c.wait_serving(port, serve);
  http_client api{port};
  write_lock lock{c};
  raw_connection writer{port};
  std::string body = R"({"type":"ECHO","payload":{"n":2}})";
  writer.send("POST /api/jobs HTTP/1.1\r\nHost: x\r\nContent-Type: "
              "application/json\r\nContent-Length: "
              + std::to_string(body.size()) + "\r\n\r\n" + body);
  // The POST has reached the store actor (it is in flight, beside the
  // /metrics request that asks) ...
  c.wait_until(
    [&] {
      auto m = api.get("/metrics");
      return m.status == 200
             && metric(m.body, "jobd_http_requests_in_flight") == 2;
    },
    20s, "the POST is in flight while /metrics answers\n" + serve.describe());
  // ... and cannot finish while the lock is held; reads answer meanwhile.
  auto got = api.get("/api/jobs/" + a.id);
  INFO(got.body);
  CHECK(got.status == 200);
  CHECK(json_at(got.body, "/id") == a.id);
  auto list = api.get("/api/jobs?status=PENDING");
  INFO(list.body);
  CHECK(list.status == 200);
  CHECK(json_at(list.body, "/jobs/0/id") == a.id);
  auto stats = api.get("/api/stats");
  INFO(stats.body);
  CHECK(stats.status == 200);
  auto m = api.get("/metrics");
  CHECK(metric(m.body, "jobd_http_requests_in_flight") == 2);
  // Let the write through: it lands, and a read sees it at once.
  lock.release();
  auto reply = writer.read_until(
    [](const std::string& s) {
      return s.find("\r\n\r\n") != std::string::npos && s.back() == '}';
    },
    std::chrono::milliseconds{30'000});
  INFO(reply);
  REQUIRE(reply.rfind("HTTP/1.1 201", 0) == 0);
  auto id_at = reply.find("\"id\":\"");
  REQUIRE(id_at != std::string::npos);
  auto b = reply.substr(id_at + 6, 26);
  CHECK(api.get("/api/jobs/" + b).status == 200);
  serve.signal(SIGTERM);
  REQUIRE(serve.wait_for(60s));
  INFO(serve.describe());
  CHECK(serve.exit_code() == 0);
  CHECK(c.count("PENDING") == 2);
  if (backend == "sqlite") // the readers closed first; the WAL is cut back
    CHECK(file_size(c.db() + "-wal") <= 0);
}

} // namespace

TEST_CASE("sqlite: serve answers reads while its write waits for the lock",
          "[integration][http][read_pool]") {
  reads_do_not_wait_for_writes("sqlite");
}

TEST_CASE("postgresql: serve answers reads while its write waits for the "
          "lock",
          "[integration][http][read_pool]") {
  reads_do_not_wait_for_writes("postgresql");
}

TEST_CASE("serve on an in-memory database answers reads without a read pool",
          "[integration][http]") {
  auto port = free_port();
  // An in-memory database has no read pool (nothing to share): serve runs.
  child_process mem{jobd_binary(),
                    {"serve", "--db", ":memory:", "--port",
                     std::to_string(port), "--workers", "0"}};
  REQUIRE(eventually(
    [&] {
      try {
        return http_client{port}.get("/api/stats").status == 200;
      } catch (...) {
        return false;
      }
    },
    30s));
  mem.signal(SIGTERM);
  REQUIRE(mem.wait_for(30s));
  CHECK(mem.exit_code() == 0);
}
