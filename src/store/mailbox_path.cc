#include "store/mailbox_path.h"

#include <filesystem>

#include <fmt/format.h>

#include "base/config.h"
#include "base/log.h"

namespace mailnest {

Status MailboxDir(const std::string& mail_root, const std::string& name, std::string* out) {
  if (mail_root.empty()) return Status::Invalid("mail_root is empty");
  if (!IsValidMailboxName(name)) {
    return Status::Invalid(fmt::format("invalid mailbox name \"{}\"", LogSafe(name, 80)));
  }
  std::string root = mail_root;
  while (root.size() > 1 && root.back() == '/') root.pop_back();
  std::string joined = root + "/" + name;

  // Defence in depth: the name check above already rules out every way out
  // of mail_root, but a future change to it must not open a traversal.
  namespace fs = std::filesystem;
  fs::path norm_root = fs::path(root).lexically_normal();
  fs::path norm = fs::path(joined).lexically_normal();
  if (norm.parent_path() != norm_root || norm.filename() != name) {
    return Status::Invalid(fmt::format("mailbox \"{}\" escapes mail_root", LogSafe(name, 80)));
  }
  *out = std::move(joined);
  return Status::Ok();
}

}  // namespace mailnest
