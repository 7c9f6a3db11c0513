#include "relay/queue_inode_pool.h"

#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include <cerrno>

namespace mailnest {

QueueInodePool::QueueInodePool(FsEnv* base, std::string spare_dir, size_t max_spare)
    : base_(base), dir_(std::move(spare_dir)), max_spare_(max_spare) {}

Status QueueInodePool::Init() {
  bool created = false;
  Status s = base_->MakeDir(dir_, &created);
  if (!s.ok()) return s;
  std::vector<std::string> names;
  s = base_->ListDir(dir_, &names);
  if (!s.ok()) return s;
  for (const std::string& n : names) {
    if (n != "." && n != "..") base_->Unlink(dir_ + "/" + n);  // a previous run's spares
  }
  std::lock_guard<std::mutex> lock(mu_);
  ready_ = true;
  return Status::Ok();
}

size_t QueueInodePool::spares() const {
  std::lock_guard<std::mutex> lock(mu_);
  return spare_.size();
}

std::string QueueInodePool::TakeSpare() {
  std::lock_guard<std::mutex> lock(mu_);
  if (spare_.empty()) return "";
  std::string n = std::move(spare_.back());
  spare_.pop_back();
  return n;
}

void QueueInodePool::PutSpare(std::string name) {
  std::lock_guard<std::mutex> lock(mu_);
  spare_.push_back(std::move(name));
}

Status QueueInodePool::OpenExclusive(const std::string& path, int* fd, int* err) {
  std::string spare = TakeSpare();
  if (spare.empty()) return base_->OpenExclusive(path, fd, err);
  if (::renameat2(AT_FDCWD, spare.c_str(), AT_FDCWD, path.c_str(), RENAME_NOREPLACE) != 0) {
    if (errno == EEXIST) PutSpare(std::move(spare));
    else ::unlink(spare.c_str());   // lost or unusable: let it go
    return base_->OpenExclusive(path, fd, err);  // EEXIST and other errors as before
  }
  int f = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (f < 0) {
    ::unlink(path.c_str());
    return base_->OpenExclusive(path, fd, err);
  }
  *fd = f;
  if (err) *err = 0;
  return Status::Ok();
}

Status QueueInodePool::Unlink(const std::string& path) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!ready_ || spare_.size() >= max_spare_) return base_->Unlink(path);
  }
  // A pure rename, not truncated first: until the caller's directory sync
  // the name may come back after a crash, and then with its contents, as
  // an unlinked file's would (a duplicate delivery, never an empty .env).
  // The contents go when the spare is reused (O_TRUNC) or at the next start.
  std::string spare = dir_ + "/" + std::to_string(seq_.fetch_add(1, std::memory_order_relaxed));
  if (::rename(path.c_str(), spare.c_str()) != 0) return base_->Unlink(path);  // ENOENT etc.: as before
  PutSpare(std::move(spare));
  return Status::Ok();
}

}  // namespace mailnest
