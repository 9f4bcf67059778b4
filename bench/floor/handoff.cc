// Two threads hand a token back and forth through mutex+condvar (as CAF's detached actor and asio's scheduler do): CPU and wall per round trip.
#include <condition_variable>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>
#include <sys/resource.h>
static double cpu_us() { rusage r; getrusage(RUSAGE_SELF, &r); return (r.ru_utime.tv_sec + r.ru_stime.tv_sec) * 1e6 + r.ru_utime.tv_usec + r.ru_stime.tv_usec; }
int main() {
  std::mutex m; std::condition_variable cv; int turn = 0; const int n = 50000;
  auto c0 = cpu_us(); auto t0 = std::chrono::steady_clock::now();
  std::thread b([&] { for (int i = 0; i < n; ++i) { std::unique_lock<std::mutex> g(m); cv.wait(g, [&] { return turn == 1; }); turn = 0; cv.notify_all(); } });
  for (int i = 0; i < n; ++i) { std::unique_lock<std::mutex> g(m); turn = 1; cv.notify_all(); cv.wait(g, [&] { return turn == 0; }); }
  b.join();
  auto us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count();
  printf("round trip: wall %.1f us, CPU %.1f us (two wakes)\n", us / n, (cpu_us() - c0) / n);
}
