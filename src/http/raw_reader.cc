#include "http/raw_reader.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>

#include "uv/pool_job.h"
#include "store/maildir_lookup.h"

namespace mailnest {

namespace {

// ENOENT → kGone.
RawResult ReadFile(const std::string& path) {
  RawResult r;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) {
    r.code = errno == ENOENT ? RawResult::kGone : RawResult::kError;
    r.error = strerror(errno);
    return r;
  }
  struct stat st;
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    r.error = "not a regular file";
    return r;
  }
  if (static_cast<uint64_t>(st.st_size) > kMaxRawBytes) {
    ::close(fd);
    r.code = RawResult::kTooLarge;
    return r;
  }
  r.data.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  while (got < r.data.size()) {
    ssize_t n = ::read(fd, r.data.data() + got, r.data.size() - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // shrank while read: serve what is there
    got += static_cast<size_t>(n);
  }
  r.data.resize(got);
  ::close(fd);
  r.code = RawResult::kOk;
  return r;
}


}  // namespace

void ReadRawMessage(uv_loop_t* loop, const std::string& mail_root, const IndexedMessage& m,
                    std::function<void(RawResult&)> done) {
  auto result = std::make_shared<RawResult>();
  std::string box = mail_root + "/" + m.mailbox() + "/";
  std::string first = box + (m.in_new ? "new/" : "cur/");
  std::string other = box + (m.in_new ? "cur/" : "new/");
  QueuePoolJob(
      loop,
      [result, first, other, name = m.file_name, unique = std::string(m.unique())] {
        *result = ReadFile(first + name);
        if (result->code != RawResult::kGone) return;
        std::string moved;
        FindByUnique(other, unique, &moved);  // moved stays "" when none
        if (!moved.empty()) *result = ReadFile(other + moved);
      },
      [result, done = std::move(done)] { done(*result); });
}

}  // namespace mailnest
