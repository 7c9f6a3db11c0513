// FaultInjectingFsEnv: an FsEnv wrapper for tests, after LevelDB's
// db/fault_injection_test.cc. It forwards to a real env and can
//   - fail the Nth call (counted from now) of one operation, or every call;
//   - make link() fail with EXDEV (mailboxes on different filesystems);
//   - Crash(): undo what a power cut could undo — file data written since
//     the file's last fsync is dropped (truncate to the synced length) and
//     directory entries created/renamed since their directory's last fsync
//     are reverted (created names removed, renames moved back). DataSync
//     counts as an fsync of the file; SyncFs as an fsync of everything.
// Not modelled: overwritten (WriteAt below the synced length) data
// reverting in a crash; loss of whole directories made by mkdir (the writer fsyncs
// their parents; tests check that by counting SyncDir calls if needed).
// Thread-safe: the writer calls it from thread-pool workers.
#pragma once

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "store/fs_env.h"

namespace mailnest {

enum class FsOp {
  kOpen, kRead, kWrite, kSync, kClose, kLink, kRename, kUnlink, kMkdir, kSyncDir, kStat,
  kDataSync, kWriteAt, kSyncFs, kListDir, kLock, kTruncate, kCount
};

inline const char* FsOpName(FsOp op) {
  static const char* const kNames[] = {"open", "read", "write", "fsync", "close", "link",
                                       "rename", "unlink", "mkdir", "fsyncdir", "stat",
                                       "fdatasync", "pwrite", "syncfs", "listdir", "flock", "ftruncate"};
  return kNames[static_cast<int>(op)];
}

class FaultInjectingFsEnv final : public FsEnv {
 public:
  explicit FaultInjectingFsEnv(FsEnv* base = DefaultFsEnv()) : base_(base) {}

  // The nth call of op from now (n ≥ 1) fails with errno err.
  void FailNth(FsOp op, int n, int err = EIO) {
    std::lock_guard<std::mutex> l(mu_);
    fail_at_[Idx(op)] = calls_[Idx(op)] + n;
    fail_err_[Idx(op)] = err;
  }
  // Every call of op fails from now (err = 0 turns it off).
  void FailAlways(FsOp op, int err = EIO) {
    std::lock_guard<std::mutex> l(mu_);
    always_[Idx(op)] = err;
  }
  void SetLinkCrossDevice(bool on) {
    std::lock_guard<std::mutex> l(mu_);
    cross_device_ = on;
  }
  int Calls(FsOp op) const {
    std::lock_guard<std::mutex> l(mu_);
    return calls_[Idx(op)];
  }
  int Injected() const {
    std::lock_guard<std::mutex> l(mu_);
    return injected_;
  }
  int TotalCalls() const {
    std::lock_guard<std::mutex> l(mu_);
    int n = 0;
    for (int c : calls_) n += c;
    return n;
  }

  // Simulates a power cut at this instant (no call may be in flight).
  void Crash() {
    std::lock_guard<std::mutex> l(mu_);
    for (auto& [path, file] : files_) {
      if (file->truncated) continue;
      if (::truncate(path.c_str(), static_cast<off_t>(file->synced)) == 0) file->truncated = true;
    }
    for (auto it = dir_ops_.rbegin(); it != dir_ops_.rend(); ++it) {
      if (it->dst_synced) continue;
      if (it->kind == DirOp::kRename) {
        ::rename(it->path.c_str(), it->src.c_str());
      } else {
        ::unlink(it->path.c_str());
      }
    }
    dir_ops_.clear();
    files_.clear();
    open_.clear();
  }

  Status OpenExclusive(const std::string& path, int* fd, int* err) override {
    if (Status s = Inject(FsOp::kOpen, path, err); !s.ok()) {
      *fd = -1;
      return s;
    }
    Status s = base_->OpenExclusive(path, fd, err);
    if (s.ok()) {
      std::lock_guard<std::mutex> l(mu_);
      auto file = std::make_shared<File>();
      files_[path] = file;
      open_[*fd] = file;
      dir_ops_.push_back(DirOp{DirOp::kCreate, path, "", false});
    }
    return s;
  }
  Status OpenRead(const std::string& path, int* fd) override {
    if (Status s = Inject(FsOp::kRead, path, nullptr); !s.ok()) {
      *fd = -1;
      return s;
    }
    Status s = base_->OpenRead(path, fd);
    if (s.ok()) {
      // A file this env wrote may be fsynced through a read descriptor.
      std::lock_guard<std::mutex> l(mu_);
      if (auto it = files_.find(path); it != files_.end()) open_[*fd] = it->second;
    }
    return s;
  }
  Status WriteAll(int fd, const char* data, size_t len) override {
    if (Status s = Inject(FsOp::kWrite, "fd", nullptr); !s.ok()) return s;
    Status s = base_->WriteAll(fd, data, len);
    if (s.ok()) {
      std::lock_guard<std::mutex> l(mu_);
      if (auto it = open_.find(fd); it != open_.end()) it->second->size += len;
    }
    return s;
  }
  Status Read(int fd, char* buf, size_t len, size_t* got) override {
    if (Status s = Inject(FsOp::kRead, "fd", nullptr); !s.ok()) return s;
    return base_->Read(fd, buf, len, got);
  }
  Status Sync(int fd) override {
    if (Status s = Inject(FsOp::kSync, "fd", nullptr); !s.ok()) return s;
    return MarkSyncedIfOk(fd, base_->Sync(fd));
  }
  Status Close(int fd) override {
    Status injected = Inject(FsOp::kClose, "fd", nullptr);
    Status s = base_->Close(fd);  // the descriptor is released either way
    {
      std::lock_guard<std::mutex> l(mu_);
      open_.erase(fd);
    }
    return injected.ok() ? s : injected;
  }
  Status Link(const std::string& from, const std::string& to, int* err) override {
    bool xdev;
    {
      std::lock_guard<std::mutex> l(mu_);
      xdev = cross_device_;
    }
    if (Status s = Inject(FsOp::kLink, to, err); !s.ok()) return s;
    if (xdev) {
      if (err) *err = EXDEV;
      return Status::IoError("link " + to + ": " + std::strerror(EXDEV));
    }
    Status s = base_->Link(from, to, err);
    if (s.ok()) {
      std::lock_guard<std::mutex> l(mu_);
      if (auto it = files_.find(from); it != files_.end()) files_[to] = it->second;
      dir_ops_.push_back(DirOp{DirOp::kCreate, to, "", false});
    }
    return s;
  }
  Status Rename(const std::string& from, const std::string& to) override {
    if (Status s = Inject(FsOp::kRename, to, nullptr); !s.ok()) return s;
    Status s = base_->Rename(from, to);
    if (s.ok()) {
      std::lock_guard<std::mutex> l(mu_);
      if (auto it = files_.find(from); it != files_.end()) {
        auto file = it->second;
        files_.erase(it);
        files_[to] = file;
      }
      dir_ops_.push_back(DirOp{DirOp::kRename, to, from, false});
    }
    return s;
  }
  Status Unlink(const std::string& path) override {
    if (Status s = Inject(FsOp::kUnlink, path, nullptr); !s.ok()) return s;
    Status s = base_->Unlink(path);
    if (s.ok()) {
      std::lock_guard<std::mutex> l(mu_);
      files_.erase(path);
    }
    return s;
  }
  Status MakeDir(const std::string& path, bool* created) override {
    if (Status s = Inject(FsOp::kMkdir, path, nullptr); !s.ok()) {
      *created = false;
      return s;
    }
    return base_->MakeDir(path, created);
  }
  Status SyncDir(const std::string& path) override {
    if (Status s = Inject(FsOp::kSyncDir, path, nullptr); !s.ok()) return s;
    Status s = base_->SyncDir(path);
    if (s.ok()) {
      std::lock_guard<std::mutex> l(mu_);
      for (DirOp& op : dir_ops_) {
        if (DirName(op.path) == path) op.dst_synced = true;
      }
    }
    return s;
  }
  Status Stat(const std::string& path, FileInfo* info, int* err) override {
    if (Status s = Inject(FsOp::kStat, path, err); !s.ok()) return s;
    return base_->Stat(path, info, err);
  }
  Status DataSync(int fd) override {
    if (Status s = Inject(FsOp::kDataSync, "fd", nullptr); !s.ok()) return s;
    return MarkSyncedIfOk(fd, base_->DataSync(fd));
  }
  Status WriteAt(int fd, uint64_t offset, const char* data, size_t len) override {
    if (Status s = Inject(FsOp::kWriteAt, "fd", nullptr); !s.ok()) return s;
    Status s = base_->WriteAt(fd, offset, data, len);
    if (s.ok()) {
      std::lock_guard<std::mutex> l(mu_);
      if (auto it = open_.find(fd); it != open_.end()) it->second->size = std::max(it->second->size, offset + len);
    }
    return s;
  }
  Status SyncFs(const std::string& path) override {
    if (Status s = Inject(FsOp::kSyncFs, path, nullptr); !s.ok()) return s;
    Status s = base_->SyncFs(path);
    if (s.ok()) {
      std::lock_guard<std::mutex> l(mu_);
      for (auto& [p, file] : files_) file->synced = file->size;
      for (DirOp& op : dir_ops_) op.dst_synced = true;
    }
    return s;
  }
  Status ListDir(const std::string& path, std::vector<std::string>* names, int* err) override {
    if (Status s = Inject(FsOp::kListDir, path, err); !s.ok()) return s;
    return base_->ListDir(path, names, err);
  }
  Status TryLock(int fd, bool* held_elsewhere) override {
    if (Status s = Inject(FsOp::kLock, "fd", nullptr); !s.ok()) return s;
    return base_->TryLock(fd, held_elsewhere);
  }
  Status Truncate(int fd, uint64_t size) override {
    if (Status s = Inject(FsOp::kTruncate, "fd", nullptr); !s.ok()) return s;
    Status s = base_->Truncate(fd, size);
    if (s.ok()) {
      std::lock_guard<std::mutex> l(mu_);
      if (auto it = open_.find(fd); it != open_.end()) {
        it->second->size = size;
        it->second->synced = std::min(it->second->synced, size);
      }
    }
    return s;
  }

 private:
  // After a successful fsync or fdatasync: everything written to fd so far
  // survives a Crash().
  Status MarkSyncedIfOk(int fd, Status s) {
    if (s.ok()) {
      std::lock_guard<std::mutex> l(mu_);
      if (auto it = open_.find(fd); it != open_.end()) it->second->synced = it->second->size;
    }
    return s;
  }

  struct File {
    uint64_t size = 0;    // bytes written through this env
    uint64_t synced = 0;  // bytes covered by the last fsync
    bool truncated = false;
  };
  struct DirOp {
    enum Kind { kCreate, kRename } kind;
    std::string path;  // the name that appeared
    std::string src;   // rename: the name it had before
    bool dst_synced;   // path's directory fsynced since
  };

  static int Idx(FsOp op) { return static_cast<int>(op); }
  static std::string DirName(const std::string& p) {
    size_t s = p.find_last_of('/');
    return s == std::string::npos ? "." : p.substr(0, s);
  }

  Status Inject(FsOp op, const std::string& what, int* err) {
    std::lock_guard<std::mutex> l(mu_);
    int i = Idx(op);
    int n = ++calls_[i];
    int e = 0;
    if (always_[i] != 0) {
      e = always_[i];
    } else if (fail_at_[i] == n) {
      e = fail_err_[i];
    }
    if (e == 0) {
      if (err) *err = 0;
      return Status::Ok();
    }
    ++injected_;
    if (err) *err = e;
    return Status::IoError(std::string("injected ") + FsOpName(op) + " " + what + ": " + std::strerror(e));
  }

  FsEnv* const base_;
  mutable std::mutex mu_;
  std::array<int, static_cast<int>(FsOp::kCount)> calls_{};
  std::array<int, static_cast<int>(FsOp::kCount)> fail_at_{};
  std::array<int, static_cast<int>(FsOp::kCount)> fail_err_{};
  std::array<int, static_cast<int>(FsOp::kCount)> always_{};
  int injected_ = 0;
  bool cross_device_ = false;
  std::map<std::string, std::shared_ptr<File>> files_;  // live path → file
  std::map<int, std::shared_ptr<File>> open_;           // fd → file
  std::vector<DirOp> dir_ops_;
};

}  // namespace mailnest
