// An FsEnv for the relay queue that keeps the inodes of removed queue files
// and gives them to the next files created, instead of unlinking and
// allocating. Why: a queued message is two files created and removed
// within a second, and ext4 without a journal skips recently freed inodes
// when it allocates one (recently_deleted() in fs/ext4/ialloc.c): under
// a steady relay load that search was ~45% of mailnest's CPU (perf,
// docs/PERFORMANCE.md). A file the queue removes is renamed into
// <spare_dir> (beside the queue
// directory: "<queue_dir>.spare", on the same filesystem); OpenExclusive renames a spare into place
// (renameat2 RENAME_NOREPLACE, so an existing name still fails with
// EEXIST) and opens it truncated. Beyond max_spare files, or when a
// rename fails, it falls back to unlink / create. Durability is the
// caller's as before: the queue directory is fsynced after each change,
// and a spare left by a crash is removed by Init() at the next start.
// A spare keeps its old contents until it is reused (opened O_TRUNC) or
// the next start: truncating at removal would let a crash before the
// directory sync bring back an empty envelope. The spare directory has
// the queue's mode (store.dir_mode, 0700).
//
// Threading: as FsEnv, every method may run on any pool thread at once.
#pragma once

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "store/fs_env.h"

namespace mailnest {

class QueueInodePool final : public FsEnv {
 public:
  QueueInodePool(FsEnv* base, std::string spare_dir, size_t max_spare);
  // Blocking (start, before the loop runs): makes spare_dir and empties it.
  Status Init();
  size_t spares() const;

  // Recycling.
  Status OpenExclusive(const std::string& path, int* fd, int* err = nullptr) override;
  Status Unlink(const std::string& path) override;
  // Forwarded.
  Status OpenRead(const std::string& path, int* fd) override { return base_->OpenRead(path, fd); }
  Status WriteAll(int fd, const char* data, size_t len) override { return base_->WriteAll(fd, data, len); }
  Status Read(int fd, char* buf, size_t len, size_t* got) override { return base_->Read(fd, buf, len, got); }
  Status Sync(int fd) override { return base_->Sync(fd); }
  Status Close(int fd) override { return base_->Close(fd); }
  Status Link(const std::string& from, const std::string& to, int* err = nullptr) override {
    return base_->Link(from, to, err);
  }
  Status Rename(const std::string& from, const std::string& to) override { return base_->Rename(from, to); }
  Status MakeDir(const std::string& path, bool* created) override { return base_->MakeDir(path, created); }
  Status SyncDir(const std::string& path) override { return base_->SyncDir(path); }
  Status Stat(const std::string& path, FileInfo* info, int* err = nullptr) override {
    return base_->Stat(path, info, err);
  }
  Status DataSync(int fd) override { return base_->DataSync(fd); }
  Status WriteAt(int fd, uint64_t offset, const char* data, size_t len) override {
    return base_->WriteAt(fd, offset, data, len);
  }
  Status SyncFs(const std::string& path) override { return base_->SyncFs(path); }
  Status ListDir(const std::string& path, std::vector<std::string>* names, int* err = nullptr) override {
    return base_->ListDir(path, names, err);
  }
  Status TryLock(int fd, bool* held_elsewhere) override { return base_->TryLock(fd, held_elsewhere); }
  Status Truncate(int fd, uint64_t size) override { return base_->Truncate(fd, size); }

 private:
  std::string TakeSpare();  // "" when none
  void PutSpare(std::string name);

  FsEnv* base_;
  const std::string dir_;
  const size_t max_spare_;
  std::atomic<uint64_t> seq_{0};
  mutable std::mutex mu_;
  std::vector<std::string> spare_;  // guarded by mu_
  bool ready_ = false;              // Init() succeeded; before, no recycling
};

}  // namespace mailnest
