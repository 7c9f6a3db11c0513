#include "base/log.h"

#include "base/thread_role.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <utility>

namespace mailnest {

namespace {
// How long a line may wait for the writer while the server is busy.
constexpr std::chrono::milliseconds kLinger{10};

const char* LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::kDebug: return "debug";
    case LogLevel::kInfo: return "info";
    case LogLevel::kWarn: return "warn";
    case LogLevel::kError: return "error";
  }
  return "?";
}

std::string Timestamp() {
  auto now = std::chrono::system_clock::now();
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(now.time_since_epoch()).count();
  time_t secs = static_cast<time_t>(us / 1000000);
  struct tm tm;
  gmtime_r(&secs, &tm);
  char buf[40];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  return fmt::format("{}.{:06d}Z", buf, static_cast<int>(us % 1000000));
}
}  // namespace

Logger::Logger(std::string component, const std::string& path, LogLevel min_level)
    : component_(std::move(component)), min_level_(min_level) {
  if (path.empty()) {
    fd_ = STDERR_FILENO;
  } else {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
    if (fd_ < 0) {
      open_error_ = fmt::format("cannot open log file {}: {}", path, strerror(errno));
    } else {
      own_fd_ = true;
    }
  }
  writer_ = std::thread([this] {
    BecomeHelperThread("mn-log");
    Run();
  });
}

Logger::~Logger() {
  {
    std::lock_guard<std::mutex> lk(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  writer_.join();
  if (own_fd_) ::close(fd_);
}

void Logger::Write(LogLevel level, std::string_view session, std::string text) {
  std::string line = fmt::format("{} {} {} [{}] {}\n", Timestamp(), component_, LevelName(level),
                                 session.empty() ? "-" : session, text);
  bool wake;
  {
    std::lock_guard<std::mutex> lk(mu_);
    queue_.push_back(std::move(line));
    ++queued_;
    wake = std::exchange(writer_asleep_, false);
  }
  if (wake) cv_.notify_one();
}

void Logger::Flush() {
  std::unique_lock<std::mutex> lk(mu_);
  uint64_t target = queued_;
  flush_wanted_ = true;
  writer_asleep_ = false;
  cv_.notify_one();
  flushed_cv_.wait(lk, [&] { return written_ >= target; });
}

void Logger::Run() {
  std::unique_lock<std::mutex> lk(mu_);
  for (;;) {
    // Lines that arrive during the nap wait at most kLinger; after a nap
    // that brought nothing the writer sleeps until the next line wakes it.
    if (!stop_ && !flush_wanted_) cv_.wait_for(lk, kLinger, [&] { return stop_ || flush_wanted_; });
    if (queue_.empty() && !stop_) {
      writer_asleep_ = true;
      cv_.wait(lk, [&] { return stop_ || !queue_.empty(); });
      continue;  // woken by the first line: nap so the lines after it join the batch
    }
    if (queue_.empty() && stop_) break;
    flush_wanted_ = false;
    std::deque<std::string> batch;
    batch.swap(queue_);
    lk.unlock();
    std::string out;
    for (auto& l : batch) out += l;
    if (fd_ >= 0) {
      const char* p = out.data();
      size_t left = out.size();
      while (left > 0) {
        ssize_t n = ::write(fd_, p, left);
        if (n < 0) {
          if (errno == EINTR) continue;
          break;  // nowhere to report a failing log; drop the batch
        }
        p += n;
        left -= static_cast<size_t>(n);
      }
    }
    lk.lock();
    written_ += batch.size();
    flushed_cv_.notify_all();
  }
}

std::string LogSafe(std::string_view s, size_t max) {
  std::string out;
  out.reserve(std::min(s.size(), max) + 8);
  for (size_t i = 0; i < s.size(); ++i) {
    if (out.size() >= max) {
      out += "...";
      break;
    }
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c < 0x20 || c == 0x7f) {
      out += fmt::format("\\x{:02x}", c);
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

LogLevel ParseLogLevel(std::string_view s, bool* ok) {
  *ok = true;
  if (s == "debug") return LogLevel::kDebug;
  if (s == "info") return LogLevel::kInfo;
  if (s == "warn") return LogLevel::kWarn;
  if (s == "error") return LogLevel::kError;
  *ok = false;
  return LogLevel::kInfo;
}

}  // namespace mailnest
