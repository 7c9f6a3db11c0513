#include "store/mailbox_fs.h"

#include <mutex>
#include <unordered_map>

#include <fmt/format.h>

#include "store/fs_env.h"

namespace mailnest {

namespace {

std::mutex g_mu;
// dir → what CheckMailboxFs found. Guarded by g_mu; leaked on purpose (used until exit).
auto* g_known = new std::unordered_map<std::string, MailboxFs>();
auto* g_warn = new std::function<void(const std::string&)>();

}  // namespace

MailboxFs KnownMailboxFs(const std::string& dir) {
  std::lock_guard<std::mutex> l(g_mu);
  auto it = g_known->find(dir);
  return it == g_known->end() ? MailboxFs::kUnknown : it->second;
}

bool AllOnJournalFs(const std::vector<std::string>& dirs) {
  std::lock_guard<std::mutex> l(g_mu);
  for (const std::string& dir : dirs) {
    auto it = g_known->find(dir);
    if (it == g_known->end() || it->second != MailboxFs::kJournalFs) return false;
  }
  return true;
}

MailboxFs CheckMailboxFs(FsEnv* env, const std::string& mail_root, const std::string& dir) {
  if (MailboxFs known = KnownMailboxFs(dir); known != MailboxFs::kUnknown) return known;
  FileInfo root, tmp, fresh;
  if (!env->Stat(mail_root, &root).ok() || !env->Stat(dir + "/tmp", &tmp).ok() ||
      !env->Stat(dir + "/new", &fresh).ok()) {
    return MailboxFs::kUnknown;
  }
  const bool same = tmp.dev == root.dev && fresh.dev == root.dev;
  const MailboxFs found = same ? MailboxFs::kJournalFs : MailboxFs::kOtherFs;
  std::function<void(const std::string&)> warn;
  {
    std::lock_guard<std::mutex> l(g_mu);
    auto [it, inserted] = g_known->emplace(dir, found);
    if (inserted && !same) warn = *g_warn;
  }
  if (warn) {
    warn(fmt::format("mailbox {} is not on mail_root's filesystem (a symlink?): the delivery journal's "
                     "checkpoint cannot cover it, so its messages are made durable by per-file fsync",
                     dir));
  }
  return found;
}

void SetMailboxFsWarning(std::function<void(const std::string& message)> hook) {
  std::lock_guard<std::mutex> l(g_mu);
  *g_warn = std::move(hook);
}

}  // namespace mailnest
