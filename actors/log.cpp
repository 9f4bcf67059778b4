#include "actors/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>

#include "storage/job.hpp"

namespace jobd {

namespace {

std::mutex log_mtx;
std::atomic<bool> quiet{false};
std::function<void(const std::string&)> capture; // guarded by log_mtx

} // namespace

void log_line(const std::string& text) {
  using namespace std::chrono;
  auto now = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  std::lock_guard<std::mutex> guard{log_mtx};
  if (capture)
    capture(text);
  if (!quiet)
    std::fputs((format_time(now) + " jobd: " + text + "\n").c_str(), stderr);
}

void set_log_quiet(bool q) {
  quiet = q;
}

void set_log_capture(std::function<void(const std::string&)> fn) {
  std::lock_guard<std::mutex> guard{log_mtx};
  capture = std::move(fn);
}

} // namespace jobd
