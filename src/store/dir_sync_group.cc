#include "store/dir_sync_group.h"

#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <utility>

#include "store/fs_env.h"

namespace mailnest {

namespace {

struct DirGroup {
  std::condition_variable cv;
  uint64_t requested = 0;  // last ticket handed out
  uint64_t completed = 0;  // every ticket ≤ this is covered by a finished fsync
  bool syncing = false;
  Status last;  // result of the fsync that set `completed`
};

std::mutex g_mu;
// Entries live for the process: one per (env, directory) ever synced, i.e.
// bounded by the number of mailboxes.
std::map<std::pair<FsEnv*, std::string>, std::unique_ptr<DirGroup>>* g_groups =
    new std::map<std::pair<FsEnv*, std::string>, std::unique_ptr<DirGroup>>();

}  // namespace

Status SyncDirCovering(FsEnv* env, const std::string& dir) {
  std::unique_lock<std::mutex> lock(g_mu);
  auto& slot = (*g_groups)[{env, dir}];
  if (!slot) slot = std::make_unique<DirGroup>();
  DirGroup* g = slot.get();
  const uint64_t ticket = ++g->requested;
  for (;;) {
    if (g->completed >= ticket) return g->last;
    if (!g->syncing) {
      // Leader: this fsync starts now, after every ticket issued so far.
      g->syncing = true;
      const uint64_t covers = g->requested;
      lock.unlock();
      Status s = env->SyncDir(dir);
      lock.lock();
      g->syncing = false;
      g->completed = covers;
      g->last = s;
      g->cv.notify_all();
      continue;
    }
    g->cv.wait(lock);
  }
}

}  // namespace mailnest
