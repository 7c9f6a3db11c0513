#include "store/mailbox_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace mailnest {

namespace {
constexpr const char* kLockName = ".mailnest.lock";
}  // namespace

Status LockMailbox(const std::string& dir, int* fd_out) {
  std::string path = dir + "/" + kLockName;
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return Status::IoError(fmt::format("open {}: {}", path, strerror(errno)));
  while (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    if (e == EINTR) continue;
    ::close(fd);
    if (e == EWOULDBLOCK) return Status::Busy("mailbox locked by another session");
    return Status::IoError(fmt::format("flock {}: {}", path, strerror(e)));
  }
  *fd_out = fd;
  return Status::Ok();
}

}  // namespace mailnest
