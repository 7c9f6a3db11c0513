#include "store/maildir_lookup.h"

#include <dirent.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "store/wire_size.h"

namespace mailnest {

Status MessageWireSize(const std::string& dir, const std::string& name, const MaildirNameParts& parts,
                       uint64_t* out) {
  if (TrustedWireSize(parts.size, parts.wire, out)) return Status::Ok();
  return CountWireSize(dir + "/" + name, out);
}

Status FindByUnique(const std::string& dir, std::string_view unique, std::string* name) {
  DIR* d = ::opendir(dir.c_str());
  if (!d) return Status::IoError(fmt::format("opendir {}: {}", dir, std::strerror(errno)));
  Status result = Status::NotFound("no such message");
  while (dirent* e = ::readdir(d)) {
    if (e->d_type != DT_REG && e->d_type != DT_UNKNOWN) continue;
    MaildirNameParts parts;
    if (!ParseMaildirName(e->d_name, &parts) || parts.unique != unique) continue;
    *name = e->d_name;
    result = Status::Ok();
    break;
  }
  ::closedir(d);
  return result;
}

}  // namespace mailnest
