// Event log: one line per event, "<iso-time> <component> <level> [<session>] text".
//
// Log lines are formatted on the caller's thread and handed to a background
// writer thread, so the event loop never blocks on the log file (the design
// rule "no disk I/O on the loop thread" covers logs too).
//
// Contract for callers: never pass message bodies or credentials. The log is
// an operational record of verbs, peers and reply codes only.
#pragma once

#include <fmt/format.h>

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

namespace mailnest {

enum class LogLevel { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

class Logger {
 public:
  // path empty → stderr. component is e.g. "smtp" or "pop3".
  Logger(std::string component, const std::string& path, LogLevel min_level);
  ~Logger();  // flushes and joins the writer thread
  Logger(const Logger&) = delete;
  Logger& operator=(const Logger&) = delete;

  bool opened() const { return fd_ >= 0; }
  const std::string& open_error() const { return open_error_; }

  template <typename... Args>
  void Log(LogLevel level, std::string_view session, fmt::format_string<Args...> f,
           Args&&... args) {
    if (level < min_level_) return;
    Write(level, session, fmt::format(f, std::forward<Args>(args)...));
  }
  template <typename... Args>
  void Info(std::string_view session, fmt::format_string<Args...> f, Args&&... args) {
    Log(LogLevel::kInfo, session, f, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void Warn(std::string_view session, fmt::format_string<Args...> f, Args&&... args) {
    Log(LogLevel::kWarn, session, f, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void Error(std::string_view session, fmt::format_string<Args...> f, Args&&... args) {
    Log(LogLevel::kError, session, f, std::forward<Args>(args)...);
  }
  template <typename... Args>
  void Debug(std::string_view session, fmt::format_string<Args...> f, Args&&... args) {
    Log(LogLevel::kDebug, session, f, std::forward<Args>(args)...);
  }

  // Blocks until every line handed in so far is written (shutdown, tests).
  void Flush();

 private:
  void Write(LogLevel level, std::string_view session, std::string text);
  void Run();

  std::string component_;
  LogLevel min_level_;
  int fd_ = -1;
  bool own_fd_ = false;
  std::string open_error_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable flushed_cv_;
  std::deque<std::string> queue_;
  uint64_t queued_ = 0, written_ = 0;
  bool stop_ = false;
  // True while the writer waits without a deadline: only then does a new
  // line wake it. While lines keep coming the writer naps for kLinger
  // instead, so a busy server pays no wake-up per line (each one cost a
  // futex call and, on two cores, often a preemption of the loop thread).
  bool writer_asleep_ = true;
  bool flush_wanted_ = false;  // Flush() is waiting: skip the nap
  std::thread writer_;
};

// Replaces control characters so a peer cannot forge log lines, and cuts
// very long values. Use for anything a client sent (verbs, addresses).
std::string LogSafe(std::string_view s, size_t max = 200);

LogLevel ParseLogLevel(std::string_view s, bool* ok);

}  // namespace mailnest
