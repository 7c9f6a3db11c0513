#include "store/dir_sync_group.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "store/fs_env.h"
#include "store_test_util.h"

namespace mailnest {
namespace {

// Slow, counting SyncDir; everything else is the POSIX env.
class SlowSyncEnv final : public FsEnv {
 public:
  std::atomic<uint64_t> started{0};
  std::atomic<uint64_t> max_finished_start{0};  // largest start index of a finished fsync

  Status SyncDir(const std::string& path) override {
    uint64_t me = ++started;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    Status s = DefaultFsEnv()->SyncDir(path);
    uint64_t cur = max_finished_start.load();
    while (cur < me && !max_finished_start.compare_exchange_weak(cur, me)) {
    }
    return s;
  }
  Status OpenExclusive(const std::string& p, int* fd, int* err) override {
    return DefaultFsEnv()->OpenExclusive(p, fd, err);
  }
  Status OpenRead(const std::string& p, int* fd) override { return DefaultFsEnv()->OpenRead(p, fd); }
  Status WriteAll(int fd, const char* d, size_t n) override { return DefaultFsEnv()->WriteAll(fd, d, n); }
  Status Read(int fd, char* b, size_t n, size_t* got) override { return DefaultFsEnv()->Read(fd, b, n, got); }
  Status Sync(int fd) override { return DefaultFsEnv()->Sync(fd); }
  Status Close(int fd) override { return DefaultFsEnv()->Close(fd); }
  Status Link(const std::string& a, const std::string& b, int* err) override {
    return DefaultFsEnv()->Link(a, b, err);
  }
  Status Rename(const std::string& a, const std::string& b) override { return DefaultFsEnv()->Rename(a, b); }
  Status Unlink(const std::string& p) override { return DefaultFsEnv()->Unlink(p); }
  Status MakeDir(const std::string& p, bool* c) override { return DefaultFsEnv()->MakeDir(p, c); }
  Status Stat(const std::string& p, FileInfo* i, int* err) override { return DefaultFsEnv()->Stat(p, i, err); }
  Status DataSync(int fd) override { return DefaultFsEnv()->DataSync(fd); }
  Status WriteAt(int fd, uint64_t off, const char* d, size_t n) override {
    return DefaultFsEnv()->WriteAt(fd, off, d, n);
  }
  Status SyncFs(const std::string& p) override { return DefaultFsEnv()->SyncFs(p); }
  Status ListDir(const std::string& p, std::vector<std::string>* n, int* err) override {
    return DefaultFsEnv()->ListDir(p, n, err);
  }
  Status TryLock(int fd, bool* held) override { return DefaultFsEnv()->TryLock(fd, held); }
  Status Truncate(int fd, uint64_t size) override { return DefaultFsEnv()->Truncate(fd, size); }
};

TEST_CASE("SyncDirCovering returns only after an fsync that started after the call, and groups callers",
          "[store][group-commit]") {
  testing::TempDir dir;
  SlowSyncEnv env;
  const int kThreads = 12, kCalls = 20;
  std::atomic<int> uncovered{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      // Counters only: Catch's assertion macros are not thread-safe.
      for (int i = 0; i < kCalls; ++i) {
        uint64_t before = env.started.load();  // fsyncs begun before "our rename"
        if (!SyncDirCovering(&env, dir.path()).ok()) ++failed;
        if (env.max_finished_start.load() <= before) ++uncovered;
      }
    });
  }
  for (auto& th : threads) th.join();
  CHECK(failed == 0);
  CHECK(uncovered == 0);
  // Concurrent callers share fsyncs: far fewer than one per call.
  INFO("fsyncs for " << kThreads * kCalls << " calls: " << env.started.load());
  CHECK(env.started.load() < static_cast<uint64_t>(kThreads * kCalls));
}

TEST_CASE("SyncDirCovering reports the fsync's failure", "[store][group-commit]") {
  testing::TempDir dir;
  CHECK(SyncDirCovering(DefaultFsEnv(), dir.path() + "/missing").code() == Status::Code::kIoError);
  CHECK(SyncDirCovering(DefaultFsEnv(), dir.path()).ok());
}

}  // namespace
}  // namespace mailnest
