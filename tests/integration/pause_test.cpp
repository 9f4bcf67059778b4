// Pausing a job type across processes (issue 11 item 4): `jobd jobs pause`
// in one process holds the type's jobs from a worker in another; other
// types keep running; `jobd jobs resume` lets them run; stats show it.
#include "integration/cluster.hpp"

using namespace jobd;
using namespace jobd::test;
using namespace std::chrono_literals;

namespace {

void pause_from_another_process(const std::string& backend) {
  cluster c{backend};
  auto p = jobs_cmd(c, {"pause", "ECHO", "--reason", "upstream down", "--by",
                        "ops"});
  INFO(p.out << p.err);
  REQUIRE(p.exit_code == 0);
  CHECK(p.out.rfind("paused ECHO since ", 0) == 0);
  CHECK(p.out.find(": paused by ops: upstream down\n") != std::string::npos);
  auto& w = c.start_worker(
    {"--workers", "2", "--set",
     "export.directory=" + (c.dir().path() / "exports").string()});
  // Both in one transaction, ECHO first in claim order: a claim that takes
  // the export saw the ECHO job too.
  new_job echo{"ECHO"};
  echo.priority = 10;
  new_job exp{"FINE_TUNE_EXPORT"};
  exp.payload = R"({"samples":[{"prompt":"p","response":"r"}]})";
  auto added = c.store().enqueue({echo, exp});
  REQUIRE(added);
  auto echo_id = added->front().id, export_id = added->back().id;
  c.wait_until(
    [&] { return c.get(export_id).status == job_status::completed; }, 30s,
    "the worker runs the export\n" + w.describe());
  CHECK(c.get(echo_id).status == job_status::pending);
  CHECK(c.get(echo_id).attempt == 0);
  auto stats = jobs_cmd(c, {"stats"});
  CHECK(stats.out.find("PAUSED      ECHO") != std::string::npos);
  CHECK(stats.out.find(": paused by ops: upstream down\n") != std::string::npos);
  auto r = jobs_cmd(c, {"resume", "ECHO"});
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out == "resumed ECHO\n");
  c.wait_until([&] { return c.get(echo_id).status == job_status::completed; },
               30s, "the worker runs the resumed type's job\n" + w.describe());
  auto again = jobs_cmd(c, {"resume", "ECHO"});
  CHECK(again.exit_code == 0);
  CHECK(again.out == "ECHO was not paused\n");
  CHECK(jobs_cmd(c, {"stats"}).out.find("PAUSED") == std::string::npos);
  c.stop_all();
}

} // namespace

TEST_CASE("sqlite: jobs pause holds a type's jobs from another process's "
          "worker until jobs resume",
          "[integration][pause]") {
  pause_from_another_process("sqlite");
}

TEST_CASE("postgresql: jobs pause holds a type's jobs from another process's "
          "worker until jobs resume",
          "[integration][pause][pg]") {
  pause_from_another_process("postgresql");
}
