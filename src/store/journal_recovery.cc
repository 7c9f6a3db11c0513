#include "store/journal_recovery.h"

#include <map>
#include <set>
#include <vector>

#include "store/delivery_journal.h"
#include "store/fs_env.h"
#include "store/journal_record.h"
#include "store/mailbox_path.h"
#include "store/maildir_files.h"
#include "store/maildir_name.h"
#include "store/tmp_debris.h"

namespace mailnest {

namespace {

// Reads the whole file at fd (journals are bounded by checkpoint_bytes
// plus one batch, so this is a bounded allocation in practice).
Status ReadAll(FsEnv* env, int fd, std::string* out, size_t limit) {
  out->clear();
  std::string buf(64 * 1024, '\0');
  for (;;) {
    size_t got = 0;
    Status s = env->Read(fd, buf.data(), buf.size(), &got);
    if (!s.ok()) return s;
    if (got == 0) return Status::Ok();
    out->append(buf.data(), got);
    if (out->size() > limit) return Status::Ok();  // caller compares sizes
  }
}

Status FileEquals(FsEnv* env, const std::string& path, const std::string& want, bool* equal) {
  int fd = -1;
  Status s = env->OpenRead(path, &fd);
  if (!s.ok()) return s;
  std::string have;
  s = ReadAll(env, fd, &have, want.size());
  env->Close(fd);
  if (!s.ok()) return s;
  *equal = have == want;
  return Status::Ok();
}

// Durably writes `content` to `target` (replacing it if present) through
// a file in tmp/.
Status WriteDurably(FsEnv* env, const std::string& mailbox_dir, const std::string& final_name,
                    const std::string& content, const std::string& target) {
  const std::string tmp = mailbox_dir + "/tmp/" + final_name + ".recovered";
  env->Unlink(tmp);  // debris of an earlier, interrupted recovery
  int fd = -1;
  Status s = env->OpenExclusive(tmp, &fd);
  if (!s.ok()) return s;
  s = env->WriteAll(fd, content.data(), content.size());
  if (s.ok()) s = env->Sync(fd);
  Status c = env->Close(fd);
  if (s.ok()) s = c;
  if (s.ok()) s = env->Rename(tmp, target);
  if (!s.ok()) {
    env->Unlink(tmp);
    return s;
  }
  return env->SyncDir(ParentOf(target));
}

class Replayer {
 public:
  Replayer(const std::string& mail_root, FsEnv* env, JournalRecoveryReport* report,
           JournalRecoveryProgress* progress)
      : mail_root_(mail_root), env_(env), report_(report), progress_(progress) {}

  Status Apply(const JournalRecord& rec) {
    ++report_->records;
    for (const std::string& name : rec.mailboxes) {
      std::string dir;
      MaildirNameParts parts;
      if (!MailboxDir(mail_root_, name, &dir).ok() || !ParseMaildirName(rec.final_name, &parts) ||
          parts.unique != rec.final_name) {
        ++report_->invalid;
        continue;
      }
      const std::string key = name + "/" + rec.final_name;
      if (progress_ && progress_->done.count(key)) {
        ++report_->done_before;
        continue;
      }
      Status s = ApplyCopy(rec, dir);
      if (!s.ok()) return s;
      if (progress_) progress_->done.insert(key);
      // The crash may have left the message's own tmp/ file (written, not
      // yet renamed): the copy in new/ or cur/ supersedes it.
      if (env_->Unlink(dir + "/tmp/" + TmpNameOf(rec.final_name)).ok()) ++report_->superseded_tmp;
    }
    return Status::Ok();
  }

 private:
  // One mailbox's copy of the record's message: intact, restored or repaired.
  Status ApplyCopy(const JournalRecord& rec, const std::string& dir) {
    Status s = EnsureMailbox(env_, mail_root_, dir, true);
    if (!s.ok()) return s;
    std::string found;
    s = Find(dir, rec.final_name, &found);
    if (!s.ok()) return s;
    if (found.empty()) {
      s = WriteDurably(env_, dir, rec.final_name, rec.content, dir + "/new/" + rec.final_name);
      if (s.ok()) ++report_->restored;
      return s;
    }
    bool equal = false;
    s = FileEquals(env_, found, rec.content, &equal);
    if (!s.ok()) return s;
    if (equal) {
      // Equal in the page cache is not yet on disk: the dead process may
      // have relied on the journal alone (no per-file fsync), and the
      // journal is about to go. Sync() flushes it and its directory entry.
      s = SyncFile(found);
      if (s.ok()) ++report_->intact;
      return s;
    }
    s = WriteDurably(env_, dir, rec.final_name, rec.content, found);
    if (s.ok()) ++report_->repaired;
    return s;
  }

  Status SyncFile(const std::string& path) {
    int fd = -1;
    Status s = env_->OpenRead(path, &fd);
    if (!s.ok()) return s;
    s = env_->Sync(fd);
    Status c = env_->Close(fd);
    if (s.ok()) s = c;
    if (s.ok()) unsynced_dirs_.insert(ParentOf(path));
    return s;
  }

 public:
  // fsyncs the directories of the intact copies found since the last call:
  // the journal that vouched for them may be removed after this.
  Status Sync() {
    for (const std::string& dir : unsynced_dirs_) {
      if (Status s = env_->SyncDir(dir); !s.ok()) return s;
    }
    unsynced_dirs_.clear();
    return Status::Ok();
  }

 private:
  // *path = new/<name>, or the cur/ file whose unique part is <name>, or "".
  Status Find(const std::string& dir, const std::string& name, std::string* path) {
    path->clear();
    FileInfo info;
    int err = 0;
    if (env_->Stat(dir + "/new/" + name, &info, &err).ok()) {
      *path = dir + "/new/" + name;
      return Status::Ok();
    }
    auto it = cur_.find(dir);
    if (it == cur_.end()) {
      std::vector<std::string> names;
      Status s = env_->ListDir(dir + "/cur", &names);
      if (!s.ok()) return s;
      std::map<std::string, std::string> by_unique;
      for (const std::string& n : names) {
        MaildirNameParts parts;
        if (ParseMaildirName(n, &parts)) by_unique[parts.unique] = n;
      }
      it = cur_.emplace(dir, std::move(by_unique)).first;
    }
    auto hit = it->second.find(name);
    if (hit != it->second.end()) *path = dir + "/cur/" + hit->second;
    return Status::Ok();
  }

  const std::string& mail_root_;
  FsEnv* env_;
  JournalRecoveryReport* report_;
  JournalRecoveryProgress* progress_;
  std::map<std::string, std::map<std::string, std::string>> cur_;  // dir → unique → cur/ name
  std::set<std::string> unsynced_dirs_;  // of intact copies, until Sync()
};

// Calls fn(record) for every live record of a journal file's contents:
// the marker at offset 0, then records of its generation up to the first
// that is torn, corrupt, zero fill or of another (older) generation —
// older ones were retired by that marker. Returns how many bytes follow
// the live records; stops early when fn fails (*s).
template <typename Fn>
size_t ForEachLiveRecord(std::string_view rest, Status* s, Fn fn) {
  JournalRecord marker;
  size_t used = 0;
  if (DecodeJournalRecord(rest, &marker, &used) != DecodeResult::kOk || !marker.marker) return rest.size();
  rest.remove_prefix(used);
  while (s->ok() && !rest.empty()) {
    JournalRecord rec;
    if (DecodeJournalRecord(rest, &rec, &used) != DecodeResult::kOk || rec.marker ||
        rec.generation != marker.generation) {
      break;
    }
    *s = fn(rec);
    rest.remove_prefix(used);
  }
  return rest.size();
}

}  // namespace

Status RecoverJournals(const std::string& mail_root, FsEnv* env, JournalRecoveryReport* report,
                       JournalRecoveryProgress* progress) {
  if (!env) env = DefaultFsEnv();
  *report = JournalRecoveryReport{};
  const std::string dir = JournalDir(mail_root);
  std::vector<std::string> names;
  int err = 0;
  Status s = env->ListDir(dir, &names, &err);
  if (!s.ok()) return err == ENOENT ? Status::Ok() : s;
  Replayer replayer(mail_root, env, report, progress);
  bool removed_any = false;
  for (const std::string& name : names) {
    const bool journal = name.ends_with(".journal");
    if (!journal && !name.ends_with(".creating")) continue;
    const std::string path = dir + "/" + name;
    int fd = -1;
    s = env->OpenRead(path, &fd);
    if (!s.ok()) return s;
    bool held = false;
    s = env->TryLock(fd, &held);
    if (!s.ok() || held) {
      env->Close(fd);
      if (!s.ok()) return s;
      ++report->busy;
      continue;
    }
    // A ".creating" file never held records (see DeliveryJournal::Open).
    std::string data;
    if (journal) s = ReadAll(env, fd, &data, SIZE_MAX);
    // First the revocations (always after the record they cancel, in the
    // same file): a message refused with 451 is not delivered here.
    std::set<std::string> revoked;
    ForEachLiveRecord(data, &s, [&](const JournalRecord& rec) {
      if (rec.revocation) revoked.insert(rec.final_name);
      return Status::Ok();
    });
    const size_t ignored = ForEachLiveRecord(data, &s, [&](const JournalRecord& rec) {
      if (rec.revocation) return Status::Ok();
      if (revoked.count(rec.final_name)) {
        ++report->revoked;
        return Status::Ok();
      }
      return replayer.Apply(rec);
    });
    if (s.ok()) s = replayer.Sync();
    if (s.ok()) {
      report->ignored_bytes += ignored;
      s = env->Unlink(path);
    }
    env->Close(fd);  // the lock goes with it
    if (!s.ok()) return s;
    if (journal) ++report->journals;
    removed_any = true;
  }
  if (removed_any) return env->SyncDir(dir);
  return Status::Ok();
}

}  // namespace mailnest
