#include "store/mail_root.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>

namespace mailnest {

namespace {

// The path is `mail_root` itself or one of its parents; the message says
// which, so "Permission denied" points at the directory to fix.
std::string Where(const std::string& path, const std::string& mail_root) {
  return path == mail_root ? path : fmt::format("{} (for mail_root {})", path, mail_root);
}

// Creates one directory unless it is there already; EEXIST on something
// that is not a directory (or a dangling symlink) is an error too.
Status MakeOne(const std::string& path, mode_t mode, const std::string& mail_root, bool* created) {
  *created = false;
  if (::mkdir(path.c_str(), mode) == 0) {
    *created = true;
    return Status::Ok();
  }
  int err = errno;
  if (err == EEXIST) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) err = errno;
    else if (S_ISDIR(st.st_mode)) return Status::Ok();
    else err = ENOTDIR;
  }
  return Status::IoError(fmt::format("cannot create {}: {}", Where(path, mail_root), std::strerror(err)));
}

}  // namespace

Status EnsureMailRoot(const std::string& mail_root, unsigned mode, bool* made_root) {
  if (made_root) *made_root = false;
  if (mail_root.empty()) return Status::Invalid("mail_root is empty");
  // Walk the prefixes "a", "a/b", "a/b/c" (skipping empty components, so
  // "/x//y/" works); only the last one is the mail root.
  size_t end = mail_root.find_last_not_of('/');
  if (end == std::string::npos) return Status::Ok();  // "/" exists
  const std::string root = mail_root.substr(0, end + 1);
  size_t pos = 0;
  for (;;) {
    size_t slash = root.find('/', pos);
    if (slash == 0 || (slash != std::string::npos && root[slash - 1] == '/')) {
      pos = slash + 1;  // the leading "/" or a doubled one
      continue;
    }
    const bool last = slash == std::string::npos;
    const std::string prefix = last ? root : root.substr(0, slash);
    bool created = false;
    Status s = MakeOne(prefix, last ? static_cast<mode_t>(mode) : 0755, mail_root, &created);
    if (!s.ok()) return s;
    if (last) {
      // mkdir's mode passes through the umask: a new mail root gets exactly
      // `mode` whatever the umask (an existing one is not touched).
      if (created && ::chmod(prefix.c_str(), static_cast<mode_t>(mode)) != 0) {
        return Status::IoError(fmt::format("cannot chmod {:04o} {}: {}", mode, mail_root, std::strerror(errno)));
      }
      if (made_root) *made_root = created;
      return Status::Ok();
    }
    pos = slash + 1;
  }
}

}  // namespace mailnest
