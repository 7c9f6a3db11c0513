#include "store/mailbox_path.h"

#include <filesystem>
#include <unordered_map>

#include <fmt/format.h>

#include "base/config.h"
#include "base/log.h"

namespace mailnest {

namespace {

// The lexical checks: the name's own rules, then a path-level check that
// the joined path stays directly under mail_root.
Status Check(const std::string& mail_root, const std::string& name, std::string* out) {
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

// Check() costs ~3 us (std::filesystem allocations), once
// per recipient of every message on the loop thread. They depend on the two
// strings only, so a name that passed once passes again: remember the
// results that passed (per thread, bounded).
constexpr size_t kCacheMax = 4096;

struct PassedCache {
  std::string root;
  std::unordered_map<std::string, std::string> dirs;  // name -> joined path
};

}  // namespace

Status MailboxDir(const std::string& mail_root, const std::string& name, std::string* out) {
  thread_local PassedCache cache;
  if (cache.root != mail_root) {
    cache.dirs.clear();
    cache.root = mail_root;
  }
  if (auto it = cache.dirs.find(name); it != cache.dirs.end()) {
    *out = it->second;
    return Status::Ok();
  }
  Status s = Check(mail_root, name, out);
  if (s.ok()) {
    if (cache.dirs.size() >= kCacheMax) cache.dirs.clear();
    cache.dirs.emplace(name, *out);
  }
  return s;
}

}  // namespace mailnest
