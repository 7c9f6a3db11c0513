#include "http/message_file.h"
#include "store/maildir_lookup.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <string_view>

namespace mailnest {

namespace {

int OpenRegular(const std::string& path, bool* gone) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    *gone = errno == ENOENT;
    return -1;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return -1;
  }
  return fd;
}


}  // namespace

MessageLocation LocationOf(const IndexedMessage& m) { return {m.id(), m.mailbox(), std::string(m.unique()), m.file_name, m.in_new}; }

int OpenMessageFile(const std::string& mail_root, const MessageLocation& loc, bool* gone) {
  *gone = false;
  std::string box = mail_root + "/" + loc.mailbox + "/";
  std::string first = box + (loc.in_new ? "new/" : "cur/");
  int fd = OpenRegular(first + loc.file_name, gone);
  if (fd >= 0 || !*gone) return fd;
  // Moved since the index looked: search both directories by unique part.
  for (const char* sub : {"cur/", "new/"}) {
    std::string moved;
    FindByUnique(box + sub, loc.unique, &moved);  // moved stays "" when none
    if (!moved.empty()) return OpenRegular(box + sub + moved, gone);
  }
  *gone = true;
  return -1;
}

}  // namespace mailnest
