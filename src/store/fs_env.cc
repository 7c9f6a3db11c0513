#include "store/fs_env.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace mailnest {

namespace {

Status Error(const char* op, const std::string& path, int e, int* err) {
  if (err) *err = e;
  return Status::IoError(fmt::format("{} {}: {}", op, path, std::strerror(e)));
}

// Opens the directory `path`, runs `sync` (fsync: the directory's entries;
// syncfs: its whole filesystem) on the descriptor and closes it.
Status SyncThroughDir(const std::string& path, int (*sync)(int), const char* what) {
  int fd = ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Error("open dir", path, errno, nullptr);
  int rc = sync(fd);
  int e = errno;
  ::close(fd);
  if (rc != 0) return Error(what, path, e, nullptr);
  return Status::Ok();
}

void Clear(int* err) {
  if (err) *err = 0;
}

std::atomic<uint32_t> g_file_mode{0600};
std::atomic<uint32_t> g_dir_mode{0700};

class PosixFsEnv final : public FsEnv {
 public:
  Status OpenExclusive(const std::string& path, int* fd, int* err) override {
    *fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                 static_cast<mode_t>(g_file_mode.load(std::memory_order_relaxed)));
    if (*fd < 0) return Error("open", path, errno, err);
    Clear(err);
    return Status::Ok();
  }

  Status OpenRead(const std::string& path, int* fd) override {
    *fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (*fd < 0) return Error("open", path, errno, nullptr);
    return Status::Ok();
  }

  Status WriteAll(int fd, const char* data, size_t len) override {
    while (len > 0) {
      ssize_t n = ::write(fd, data, len);
      if (n < 0) {
        if (errno == EINTR) continue;
        return Error("write", fmt::format("fd {}", fd), errno, nullptr);
      }
      data += n;
      len -= static_cast<size_t>(n);
    }
    return Status::Ok();
  }

  Status Read(int fd, char* buf, size_t len, size_t* got) override {
    for (;;) {
      ssize_t n = ::read(fd, buf, len);
      if (n < 0) {
        if (errno == EINTR) continue;
        *got = 0;
        return Error("read", fmt::format("fd {}", fd), errno, nullptr);
      }
      *got = static_cast<size_t>(n);
      return Status::Ok();
    }
  }

  Status Sync(int fd) override {
    if (::fsync(fd) != 0) return Error("fsync", fmt::format("fd {}", fd), errno, nullptr);
    return Status::Ok();
  }

  Status Close(int fd) override {
    if (::close(fd) != 0 && errno != EINTR) {
      return Error("close", fmt::format("fd {}", fd), errno, nullptr);
    }
    return Status::Ok();
  }

  Status Link(const std::string& from, const std::string& to, int* err) override {
    if (::link(from.c_str(), to.c_str()) != 0) return Error("link", to, errno, err);
    Clear(err);
    return Status::Ok();
  }

  Status Rename(const std::string& from, const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0) return Error("rename", to, errno, nullptr);
    return Status::Ok();
  }

  Status Unlink(const std::string& path) override {
    if (::unlink(path.c_str()) != 0) return Error("unlink", path, errno, nullptr);
    return Status::Ok();
  }

  Status MakeDir(const std::string& path, bool* created) override {
    *created = false;
    if (::mkdir(path.c_str(), static_cast<mode_t>(g_dir_mode.load(std::memory_order_relaxed))) == 0) {
      *created = true;
      return Status::Ok();
    }
    int e = errno;
    struct stat st;
    if (e == EEXIST && ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) return Status::Ok();
    return Error("mkdir", path, e == EEXIST ? ENOTDIR : e, nullptr);
  }

  Status SyncDir(const std::string& path) override { return SyncThroughDir(path, ::fsync, "fsync dir"); }

  Status Stat(const std::string& path, FileInfo* info, int* err) override {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return Error("stat", path, errno, err);
    info->size = static_cast<uint64_t>(st.st_size);
    info->is_dir = S_ISDIR(st.st_mode);
    info->mode = st.st_mode & 07777;
    info->dev = static_cast<uint64_t>(st.st_dev);
    Clear(err);
    return Status::Ok();
  }

  Status DataSync(int fd) override {
    if (::fdatasync(fd) != 0) return Error("fdatasync", fmt::format("fd {}", fd), errno, nullptr);
    return Status::Ok();
  }

  Status WriteAt(int fd, uint64_t offset, const char* data, size_t len) override {
    while (len > 0) {
      ssize_t n = ::pwrite(fd, data, len, static_cast<off_t>(offset));
      if (n < 0) {
        if (errno == EINTR) continue;
        return Error("pwrite", fmt::format("fd {}", fd), errno, nullptr);
      }
      data += n;
      offset += static_cast<uint64_t>(n);
      len -= static_cast<size_t>(n);
    }
    return Status::Ok();
  }

  Status SyncFs(const std::string& path) override { return SyncThroughDir(path, ::syncfs, "syncfs"); }

  Status ListDir(const std::string& path, std::vector<std::string>* names, int* err) override {
    names->clear();
    DIR* d = ::opendir(path.c_str());
    if (!d) return Error("opendir", path, errno, err);
    errno = 0;
    while (struct dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name != "." && name != "..") names->push_back(std::move(name));
      errno = 0;
    }
    int e = errno;
    ::closedir(d);
    if (e != 0) return Error("readdir", path, e, err);
    Clear(err);
    return Status::Ok();
  }

  Status Truncate(int fd, uint64_t size) override {
    for (;;) {
      if (::ftruncate(fd, static_cast<off_t>(size)) == 0) return Status::Ok();
      if (errno != EINTR) return Error("ftruncate", fmt::format("fd {}", fd), errno, nullptr);
    }
  }

  Status TryLock(int fd, bool* held_elsewhere) override {
    *held_elsewhere = false;
    if (::flock(fd, LOCK_EX | LOCK_NB) == 0) return Status::Ok();
    if (errno == EWOULDBLOCK) {
      *held_elsewhere = true;
      return Status::Ok();
    }
    return Error("flock", fmt::format("fd {}", fd), errno, nullptr);
  }
};

}  // namespace

FsEnv::~FsEnv() = default;

void SetStoreModes(uint32_t file_mode, uint32_t dir_mode) {
  g_file_mode.store(file_mode & 0777, std::memory_order_relaxed);
  g_dir_mode.store(dir_mode & 0777, std::memory_order_relaxed);
}

FsEnv* DefaultFsEnv() {
  static PosixFsEnv* env = new PosixFsEnv();  // intentionally leaked: used until exit
  return env;
}

}  // namespace mailnest
