// The log writer thread: lines reach the file without a Flush (it naps at
// most ~10 ms while busy, sleeps when idle and is woken by the next line),
// and Flush returns only once every line handed in is written.
#include "base/log.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>

#include "store/store_test_util.h"

namespace mailnest {
namespace {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int CountLines(const std::string& s) {
  int n = 0;
  for (char c : s) n += c == '\n';
  return n;
}

TEST_CASE("Logger: Flush returns once every line is in the file", "[base][log]") {
  testing::TempDir dir;
  const std::string path = dir.path() + "/t.log";
  Logger log("smtp", path, LogLevel::kInfo);
  for (int i = 0; i < 500; ++i) log.Info("000001", "line {}", i);
  log.Debug("000001", "below the level");
  log.Flush();
  std::string text = Slurp(path);
  CHECK(CountLines(text) == 500);
  CHECK(text.find("smtp info [000001] line 499\n") != std::string::npos);
  CHECK(text.find("below the level") == std::string::npos);
}

TEST_CASE("Logger: lines arrive without Flush, also after the writer fell asleep", "[base][log]") {
  testing::TempDir dir;
  const std::string path = dir.path() + "/t.log";
  Logger log("pop3", path, LogLevel::kInfo);
  auto wait_for_lines = [&](int n) {
    for (int i = 0; i < 200; ++i) {  // 2 s at most
      if (CountLines(Slurp(path)) >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return false;
  };
  log.Info("", "first");
  CHECK(wait_for_lines(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the nap ends: the writer sleeps
  log.Warn("", "second");
  CHECK(wait_for_lines(2));
}

}  // namespace
}  // namespace mailnest
