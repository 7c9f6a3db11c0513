#include "store/mailbox_stats.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "base/config.h"
#include "store/maildir_lookup.h"
#include "store/maildir_name.h"

namespace mailnest {

namespace {

// Owns a DIR* for the scope.
class DirReader {
 public:
  explicit DirReader(const std::string& path) : dir_(::opendir(path.c_str())) {}
  ~DirReader() {
    if (dir_) ::closedir(dir_);
  }
  DirReader(const DirReader&) = delete;
  DirReader& operator=(const DirReader&) = delete;
  DIR* get() const { return dir_; }

 private:
  DIR* dir_;
};

// Adds the messages in one of new/ or cur/. A missing subdirectory counts
// as empty (a mailbox being created); any other error is reported.
Status CountSubdir(const std::string& path, MailboxStats* stats) {
  DirReader dir(path);
  if (!dir.get()) {
    if (errno == ENOENT) return Status::Ok();
    return Status::IoError(fmt::format("opendir {}: {}", path, std::strerror(errno)));
  }
  errno = 0;
  while (struct dirent* e = ::readdir(dir.get())) {
    MaildirNameParts parts;
    if (!ParseMaildirName(e->d_name, &parts)) continue;  // dotfiles and junk
    if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN) continue;
    // The size POP3 reports for it (W=, or the file counted): see
    // store/maildir_lookup.h.
    uint64_t size = 0;
    if (!MessageWireSize(path, e->d_name, parts, &size).ok()) {
      errno = 0;  // gone meanwhile, or not a readable file: skip
      continue;
    }
    stats->messages += 1;
    stats->octets += size;
    errno = 0;
  }
  if (errno != 0) return Status::IoError(fmt::format("readdir {}: {}", path, std::strerror(errno)));
  return Status::Ok();
}

}  // namespace

Status ListMailboxes(const std::string& mail_root, std::vector<MailboxStats>* out) {
  out->clear();
  DirReader root(mail_root);
  if (!root.get()) {
    return Status::IoError(fmt::format("opendir {}: {}", mail_root, std::strerror(errno)));
  }
  int rfd = ::dirfd(root.get());
  while (struct dirent* e = ::readdir(root.get())) {
    std::string name = e->d_name;
    if (!IsValidMailboxName(name)) continue;
    struct stat st;
    if (::fstatat(rfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode)) continue;
    MailboxStats stats;
    stats.name = name;
    for (const char* sub : {"/new", "/cur"}) {
      Status s = CountSubdir(mail_root + "/" + name + sub, &stats);
      if (!s.ok()) return s;
    }
    out->push_back(std::move(stats));
  }
  std::sort(out->begin(), out->end(),
            [](const MailboxStats& a, const MailboxStats& b) { return a.name < b.name; });
  return Status::Ok();
}

}  // namespace mailnest
