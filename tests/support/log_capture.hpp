// Collects the log lines written while it lives (actors/log.hpp), from any
// thread, so a test can count what was said.
#pragma once

#include <algorithm>
#include <mutex>
#include <string>
#include <vector>

#include "actors/log.hpp"

namespace jobd::test {

class log_capture {
public:
  log_capture() {
    set_log_capture([this](const std::string& line) {
      std::lock_guard<std::mutex> guard{mtx_};
      lines_.push_back(line);
    });
  }
  ~log_capture() { set_log_capture(nullptr); }
  log_capture(const log_capture&) = delete;
  log_capture& operator=(const log_capture&) = delete;

  /// How many lines contain `what`.
  size_t count(const std::string& what) const {
    std::lock_guard<std::mutex> guard{mtx_};
    return static_cast<size_t>(
      std::count_if(lines_.begin(), lines_.end(), [&](const std::string& l) {
        return l.find(what) != std::string::npos;
      }));
  }

  /// How many lines in all.
  size_t size() const {
    std::lock_guard<std::mutex> guard{mtx_};
    return lines_.size();
  }

private:
  mutable std::mutex mtx_;
  std::vector<std::string> lines_;
};

} // namespace jobd::test
