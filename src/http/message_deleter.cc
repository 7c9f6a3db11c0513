#include "http/message_deleter.h"

#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>

#include <fmt/format.h>

#include "http/message_index.h"
#include "store/delivery_journal.h"
#include "store/fs_env.h"
#include "store/mailbox_lock.h"
#include "store/mailbox_path.h"
#include "store/maildir_lookup.h"
#include "store/maildir_name.h"
#include "uv/pool_job.h"

namespace mailnest {

namespace {

struct Target {
  bool in_new;
  std::string name;    // the file name when it was found
  std::string unique;  // to find it again if another program renamed it
};

// Message files of dir/sub (regular files with a Maildir name).
Status ListMessages(const std::string& dir, bool in_new, std::vector<Target>* out) {
  std::string path = dir + (in_new ? "/new" : "/cur");
  DIR* d = ::opendir(path.c_str());
  if (!d) {
    if (errno == ENOENT) return Status::Ok();
    return Status::IoError(fmt::format("opendir {}: {}", path, strerror(errno)));
  }
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.' || (e->d_type != DT_REG && e->d_type != DT_UNKNOWN)) continue;
    MaildirNameParts parts;
    if (!ParseMaildirName(e->d_name, &parts)) continue;
    out->push_back({in_new, e->d_name, parts.unique});
  }
  ::closedir(d);
  return Status::Ok();
}

}  // namespace

// Shared by the deleter's steps; touched by one side at a time.
struct MessageDeleter::Op {
  std::string mailbox;
  bool whole = false;
  Target one;  // !whole: the message as the index knows it
  Done done;

  std::string dir;
  int lock_fd = -1;
  std::vector<Target> targets;
  std::vector<Target> removed;
  DeleteResult result;

  void Unlock() {
    if (lock_fd >= 0) ::close(lock_fd);
    lock_fd = -1;
  }
  ~Op() { Unlock(); }
};

MessageDeleter::MessageDeleter(uv_loop_t* loop, const Config& config, MessageIndex* index, DeliveryJournal* journal)
    : loop_(loop), config_(config), index_(index), journal_(journal) {}

void MessageDeleter::DeleteOne(const IndexedMessage& m, Done done) {
  auto op = std::make_shared<Op>();
  op->mailbox = m.mailbox();
  op->one = {m.in_new, m.file_name, std::string(m.unique())};
  op->done = std::move(done);
  Start(std::move(op));
}

void MessageDeleter::DeleteMailbox(const std::string& mailbox, Done done) {
  auto op = std::make_shared<Op>();
  op->mailbox = mailbox;
  op->whole = true;
  op->done = std::move(done);
  Start(std::move(op));
}

// Step 1 (pool): lock, then find what to remove.
void MessageDeleter::Start(std::shared_ptr<Op> op) {
  std::string root = config_.mail_root;
  QueuePoolJob(
      loop_,
      [op, root] {
        DeleteResult& r = op->result;
        if (Status s = MailboxDir(root, op->mailbox, &op->dir); !s.ok()) {
          r = {DeleteResult::kGone, 0, ""};
          return;
        }
        FileInfo dir_info;
        int err = 0;
        if (!DefaultFsEnv()->Stat(op->dir, &dir_info, &err).ok() && err == ENOENT) {
          r.code = DeleteResult::kGone;  // removed by someone else since the index saw it
          return;
        }
        Status s = LockMailbox(op->dir, &op->lock_fd);
        if (s.code() == Status::Code::kBusy) {
          r.code = DeleteResult::kBusy;
          return;
        }
        if (!s.ok()) {
          r = {DeleteResult::kError, 0, s.message()};
          return;
        }
        if (op->whole) {
          s = ListMessages(op->dir, true, &op->targets);
          if (s.ok()) s = ListMessages(op->dir, false, &op->targets);
          if (!s.ok()) r = {DeleteResult::kError, 0, s.message()};
          return;
        }
        // The index may be a moment behind a rename (new/ → cur/, a flag
        // change): look where it says first, then by unique part in both.
        FileInfo info;
        const Target& t = op->one;
        std::string name;
        FsEnv* env = DefaultFsEnv();
        if (env->Stat(op->dir + (t.in_new ? "/new/" : "/cur/") + t.name, &info).ok()) {
          op->targets.push_back(t);
        } else if (FindByUnique(op->dir + "/cur", t.unique, &name).ok()) {
          op->targets.push_back({false, name, t.unique});
        } else if (FindByUnique(op->dir + "/new", t.unique, &name).ok()) {
          op->targets.push_back({true, name, t.unique});
        } else {
          r.code = DeleteResult::kGone;
        }
      },
      [this, op] { AfterLock(op); });
}

// Step 2 (loop): the journal barrier, when there is something to remove.
void MessageDeleter::AfterLock(std::shared_ptr<Op> op) {
  if (op->result.code != DeleteResult::kOk || op->targets.empty() || !journal_) return Remove(op);
  journal_->Barrier([this, op](Status s) {
    if (!s.ok()) {
      op->targets.clear();  // nothing is removed
      op->result = {DeleteResult::kError, 0, "cannot make deliveries durable before deleting: " + s.message()};
    }
    Remove(op);
  });
}

// Step 3 (pool): unlink, fsync the directories, unlock. Also the way out
// of every failed step (it releases the lock off the loop).
void MessageDeleter::Remove(std::shared_ptr<Op> op) {
  bool fsync = config_.store.fsync;
  QueuePoolJob(
      loop_,
      [op, fsync] {
        FsEnv* env = DefaultFsEnv();
        bool from_new = false, from_cur = false;
        size_t failed = 0;
        for (const Target& t : op->targets) {
          const std::string sub = op->dir + (t.in_new ? "/new" : "/cur");
          std::string name = t.name;
          if (!env->Unlink(sub + "/" + name).ok()) {
            int err = 0;
            FileInfo info;
            // Renamed meanwhile by another program (a flag change), or gone.
            if (env->Stat(sub + "/" + name, &info, &err).ok() || err != ENOENT) {
              ++failed;
              continue;
            }
            if (!FindByUnique(sub, t.unique, &name).ok() || !env->Unlink(sub + "/" + name).ok()) continue;
          }
          op->removed.push_back({t.in_new, name, t.unique});
          (t.in_new ? from_new : from_cur) = true;
        }
        Status s;
        if (fsync && from_cur) s = env->SyncDir(op->dir + "/cur");
        if (s.ok() && fsync && from_new) s = env->SyncDir(op->dir + "/new");
        op->Unlock();
        if (op->result.code != DeleteResult::kOk) return;
        op->result.deleted = op->removed.size();
        if (!op->whole && op->removed.empty()) op->result.code = DeleteResult::kGone;
        if (!s.ok()) op->result = {DeleteResult::kError, op->removed.size(), s.message()};
        if (failed > 0) {
          op->result = {DeleteResult::kError, op->removed.size(),
                        fmt::format("{} of {} messages not removed", failed, op->targets.size())};
        }
      },
      [this, op] { Finish(op); });
}

// Step 4 (loop): the index follows at once (inotify would tell it later).
void MessageDeleter::Finish(std::shared_ptr<Op> op) {
  for (const Target& t : op->removed) index_->RemoveFile(op->mailbox, t.in_new, t.name);
  op->done(op->result);
}

}  // namespace mailnest
