// An idle `jobd worker` and an idle `jobd serve` use almost no CPU: at most
// 0.2 % of a core (issue 10). CAF's default scheduler settings cost ~4 %:
// its threads sleep 50 us at a time for a while after every message (see
// app/caf_tuning.hpp). The CPU time a process itself used does not grow
// with the machine's load, so a busy CI machine does not make this fail.
#include "integration/cluster.hpp"

#include <fstream>
#include <thread>

#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>

using namespace jobd;
using namespace jobd::test;

namespace {

// utime + stime of the whole process (every thread, live or ended), in
// clock ticks: fields 14 and 15 of /proc/<pid>/stat.
long cpu_ticks(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/stat"};
  std::string text{std::istreambuf_iterator<char>{in}, {}};
  // The name (field 2) is in parentheses and may hold spaces.
  auto close = text.rfind(')');
  REQUIRE(close != std::string::npos);
  std::istringstream fields{text.substr(close + 2)};
  std::string f;
  long utime = 0, stime = 0;
  // Fields from 3 on; utime and stime are the 12th and 13th of them.
  for (int i = 3; i <= 15 && fields >> f; ++i) {
    if (i == 14)
      utime = std::stol(f);
    if (i == 15)
      stime = std::stol(f);
  }
  return utime + stime;
}

} // namespace

// PostgreSQL too (issue 16 #8: 0.1 core per idle worker once): with
// NOTIFY for wake-ups, an idle process only polls and sweeps, each one
// short transaction every second or few.
TEST_CASE("an idle worker and an idle serve each use at most 0.2 % of a "
          "core",
          "[integration][idle]") {
  auto backend = GENERATE(as<std::string>{}, "sqlite", "postgresql");
  INFO("backend: " << backend);
  cluster c{backend};
  auto& w = c.start_worker({});
  auto port = free_port();
  child_process serve{jobd_binary(),
                      {"serve", "--db", c.db(), "--port",
                       std::to_string(port)},
                      {{}, c.dir().path().string()}};
  c.wait_until(
    [&] {
      return w.err().find(" started: ") != std::string::npos
             && serve.err().find(" started: ") != std::string::npos;
    },
    30s, "worker and serve start\n" + serve.describe());
  // Both have polled the database (an empty one) at least once by now;
  // start-up work is over. Measure a 10 s window of doing nothing.
  constexpr auto window = 10s;
  auto w0 = cpu_ticks(w.pid());
  auto s0 = cpu_ticks(serve.pid());
  auto t0 = std::chrono::steady_clock::now();
  // The window itself is the measurement, not a wait for something.
  std::this_thread::sleep_for(window);
  auto elapsed = std::chrono::duration<double>(
                   std::chrono::steady_clock::now() - t0)
                   .count();
  auto w_ticks = cpu_ticks(w.pid()) - w0;
  auto s_ticks = cpu_ticks(serve.pid()) - s0;
  double hz = static_cast<double>(sysconf(_SC_CLK_TCK));
  double limit = 0.002 * elapsed * hz; // 0.2 % of one core, in ticks
  INFO("worker used " << w_ticks << " ticks, serve " << s_ticks
                      << " ticks in " << elapsed << " s (limit " << limit
                      << " ticks at " << hz << " Hz)");
  CHECK(static_cast<double>(w_ticks) <= limit);
  CHECK(static_cast<double>(s_ticks) <= limit);
  REQUIRE(w.running());
  REQUIRE(serve.running());
  serve.signal(SIGTERM);
  REQUIRE(serve.wait_for(30s));
  CHECK(serve.exit_code() == 0);
  c.stop_all();
}
