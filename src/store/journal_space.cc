#include "store/journal_space.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include <fmt/format.h>

namespace mailnest {

uint64_t JournalPreallocFor(uint64_t free_bytes, uint64_t wanted) {
  constexpr uint64_t kGrain = 64 * 1024;
  const uint64_t size = std::min(wanted, free_bytes / kJournalShareOfFree) / kGrain * kGrain;
  return size < std::min(wanted, kJournalMinPrealloc) ? 0 : size;
}

Status FreeBytes(const std::string& path, uint64_t* out) {
  struct statvfs st;
  if (::statvfs(path.c_str(), &st) != 0) {
    return Status::IoError(fmt::format("statvfs {}: {}", path, std::strerror(errno)));
  }
  *out = static_cast<uint64_t>(st.f_bavail) * static_cast<uint64_t>(st.f_frsize);
  return Status::Ok();
}

}  // namespace mailnest
