#include "store/wire_size.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <unordered_map>

#include <fmt/format.h>

namespace mailnest {

void WireSizeCounter::Add(std::string_view data) {
  if (data.empty()) return;
  const char* p = data.data();
  const char* const end = p + data.size();
  for (;;) {
    const char* lf = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    if (!lf) break;
    bool cr_before = lf > data.data() ? lf[-1] == '\r' : last_cr_;
    if (!cr_before) ++bare_lf_;
    p = lf + 1;
  }
  disk_ += data.size();
  last_cr_ = data.back() == '\r';
}

bool TrustedWireSize(const std::optional<uint64_t>& disk, const std::optional<uint64_t>& wire,
                     uint64_t* out) {
  if (!disk || !wire || *wire < *disk || *wire - *disk > *disk) return false;
  *out = *wire;
  return true;
}

namespace {

struct FileKey {
  uint64_t dev, ino, size;
  int64_t mtime_ns;
  bool operator==(const FileKey& o) const {
    return dev == o.dev && ino == o.ino && size == o.size && mtime_ns == o.mtime_ns;
  }
};

struct FileKeyHash {
  size_t operator()(const FileKey& k) const {
    uint64_t h = k.ino * 0x9e3779b97f4a7c15ull ^ k.dev ^ (k.size << 17) ^ static_cast<uint64_t>(k.mtime_ns);
    return static_cast<size_t>(h ^ (h >> 29));
  }
};

std::mutex g_mu;
auto* g_remembered = new std::unordered_map<FileKey, uint64_t, FileKeyHash>();

}  // namespace

Status CountWireSize(const std::string& path, uint64_t* wire) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    int e = errno;
    if (e == ENOENT) return Status::NotFound(fmt::format("{} vanished", path));
    return Status::IoError(fmt::format("open {}: {}", path, std::strerror(e)));
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return Status::IoError(fmt::format("{}: not a regular file", path));
  }
  const FileKey key{static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino),
                    static_cast<uint64_t>(st.st_size),
                    int64_t{st.st_mtim.tv_sec} * 1000000000 + st.st_mtim.tv_nsec};
  {
    std::lock_guard<std::mutex> lock(g_mu);
    auto it = g_remembered->find(key);
    if (it != g_remembered->end()) {
      ::close(fd);
      *wire = it->second;
      return Status::Ok();
    }
  }
  WireSizeCounter counter;
  std::string buf(64 * 1024, '\0');
  for (;;) {
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int e = errno;
      ::close(fd);
      return Status::IoError(fmt::format("read {}: {}", path, std::strerror(e)));
    }
    if (n == 0) break;
    counter.Add(std::string_view(buf.data(), static_cast<size_t>(n)));
  }
  ::close(fd);
  *wire = counter.wire();
  std::lock_guard<std::mutex> lock(g_mu);
  if (g_remembered->size() >= kMaxRememberedWireSizes) g_remembered->clear();
  (*g_remembered)[key] = *wire;
  return Status::Ok();
}

}  // namespace mailnest
