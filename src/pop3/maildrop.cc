#include "pop3/maildrop.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <tuple>
#include <utility>

#include <fmt/format.h>

#include "uv/pool_job.h"
#include "store/delivery_journal.h"
#include "store/fs_env.h"
#include "store/mailbox_lock.h"
#include "store/mailbox_path.h"
#include "store/maildir_files.h"
#include "store/maildir_lookup.h"
#include "store/maildir_name.h"

namespace mailnest {

namespace {

constexpr size_t kMaxUidl = 70;        // RFC 1939 §7

bool IsUidlChar(char c) { return c >= 0x21 && c <= 0x7e; }

// "<sec>.M<usec>..." → (sec, usec) for ordering by delivery time. Names of
// another shape sort after the well-formed ones, by name.
std::tuple<bool, uint64_t, uint64_t> DeliveryTime(std::string_view unique) {
  uint64_t sec = 0, usec = 0;
  size_t i = 0;
  while (i < unique.size() && unique[i] >= '0' && unique[i] <= '9' && i < 19) {
    sec = sec * 10 + static_cast<uint64_t>(unique[i] - '0');
    ++i;
  }
  if (i == 0 || i + 1 >= unique.size() || unique[i] != '.' || unique[i + 1] != 'M') {
    return {true, 0, 0};
  }
  i += 2;
  size_t start = i;
  while (i < unique.size() && unique[i] >= '0' && unique[i] <= '9' && i - start < 19) {
    usec = usec * 10 + static_cast<uint64_t>(unique[i] - '0');
    ++i;
  }
  return {false, sec, usec};
}

struct Entry {
  MaildropMessage msg;
  std::string unique;
  std::tuple<bool, uint64_t, uint64_t> time;
};

}  // namespace

std::string MakeUidl(std::string_view unique) {
  bool ok = !unique.empty() && unique.size() <= kMaxUidl &&
            std::all_of(unique.begin(), unique.end(), IsUidlChar);
  if (ok) return std::string(unique);
  uint64_t h = 1469598103934665603ull;  // FNV-1a: stable across runs and hosts
  for (unsigned char c : unique) {
    h ^= c;
    h *= 1099511628211ull;
  }
  std::string out;
  for (char c : unique.substr(0, kMaxUidl - 17)) out.push_back(IsUidlChar(c) ? c : '_');
  out += fmt::format("~{:016x}", h);
  return out;
}

// Shared by the Maildrop and its jobs; touched by one side at a time (the
// loop thread only while no job is in flight).
struct Maildrop::State {
  MaildropOptions opts;
  FsEnv* env;
  std::string dir;      // <mail_root>/<user>
  int lock_fd = -1;
  bool owner_gone = false;

  // Job results.
  Status status;
  std::vector<Entry> entries;
  struct Removal {
    std::string sub;     // "cur" or "new" (a message whose move failed)
    std::string name;    // its file name when the snapshot was taken
    std::string unique;  // to find it again if another program renamed it
  };
  std::vector<Removal> to_remove;
  std::vector<std::string> unmoved;  // names left in new/ by a failed move
  std::string unmoved_error;
  size_t removed = 0;

  void ReleaseLock() {  // pool thread (or destructor)
    if (lock_fd >= 0) ::close(lock_fd);  // drops the flock
    lock_fd = -1;
  }
  ~State() { ReleaseLock(); }

  Status Lock() { return LockMailbox(dir, &lock_fd); }

  // new/<name> → cur/<name>:2, . A name that cannot be moved stays in new/
  // and is listed from there (AddUnmoved).
  Status MoveNewToCur() {
    std::string new_dir = dir + "/new";
    DIR* d = ::opendir(new_dir.c_str());
    if (!d) return Status::IoError(fmt::format("opendir {}: {}", new_dir, strerror(errno)));
    std::vector<std::string> names;
    while (dirent* e = ::readdir(d)) {
      // Regular files only: a symlink planted in the Maildir must not make
      // RETR serve a file from elsewhere (DT_UNKNOWN: filesystems without
      // d_type; RETR's O_NOFOLLOW open still refuses a link).
      if (e->d_name[0] == '.' || (e->d_type != DT_REG && e->d_type != DT_UNKNOWN)) continue;
      names.emplace_back(e->d_name);
    }
    ::closedir(d);
    for (const std::string& name : names) {
      MaildirNameParts parts;
      if (!ParseMaildirName(name, &parts)) continue;
      std::string target = name.find(":2,") == std::string::npos ? name + ":2," : name;
      if (Status s = env->Rename(new_dir + "/" + name, dir + "/cur/" + target); !s.ok()) {
        if (unmoved.empty()) unmoved_error = s.message();
        unmoved.push_back(name);
      }
    }
    return Status::Ok();
  }

  // Maildir convention (and Dovecot's): a file left in tmp/ for 36 hours is
  // the debris of a delivery that crashed before its rename; no delivery in
  // progress can be that old (smtp.data_timeout_s bounds a transfer). Best
  // effort: a failure here must not keep the user out of their mail.
  void RemoveStaleTmp() {
    constexpr time_t kStaleTmpSeconds = 36 * 3600;
    std::string tmp_dir = dir + "/tmp";
    DIR* d = ::opendir(tmp_dir.c_str());
    if (!d) return;
    std::vector<std::string> stale;
    time_t now = ::time(nullptr);
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] == '.') continue;
      struct stat st;
      if (::fstatat(::dirfd(d), e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode)) continue;
      if (now - st.st_mtime > kStaleTmpSeconds) stale.emplace_back(e->d_name);
    }
    ::closedir(d);
    for (const std::string& name : stale) env->Unlink(tmp_dir + "/" + name);
  }

  Status ListCur() {
    std::string cur_dir = dir + "/cur";
    DIR* d = ::opendir(cur_dir.c_str());
    if (!d) return Status::IoError(fmt::format("opendir {}: {}", cur_dir, strerror(errno)));
    entries.clear();
    while (dirent* e = ::readdir(d)) {
      // Regular files only: a symlink planted in the Maildir must not make
      // RETR serve a file from elsewhere (DT_UNKNOWN: filesystems without
      // d_type; RETR's O_NOFOLLOW open still refuses a link).
      if (e->d_name[0] == '.' || (e->d_type != DT_REG && e->d_type != DT_UNKNOWN)) continue;
      Entry en;
      MaildirNameParts parts;
      if (!ParseMaildirName(e->d_name, &parts)) continue;
      en.msg.file_name = e->d_name;
      // W= of our names and Dovecot's; other files (older mailnest
      // versions, procmail, getmail) are counted once and remembered. A
      // file that vanished meanwhile is not part of the snapshot.
      if (!MessageWireSize(cur_dir, en.msg.file_name, parts, &en.msg.size).ok()) continue;
      en.msg.unique = parts.unique;
      en.unique = std::move(parts.unique);
      en.time = DeliveryTime(en.unique);
      entries.push_back(std::move(en));
    }
    ::closedir(d);
    return Status::Ok();
  }

  // The messages MoveNewToCur could not move, listed from new/ (sizes as
  // ListCur finds them). One that vanished meanwhile is not listed.
  void AddUnmoved() {
    const std::string new_dir = dir + "/new";
    for (const std::string& name : unmoved) {
      MaildirNameParts parts;
      FileInfo info;
      if (!ParseMaildirName(name, &parts) || !env->Stat(new_dir + "/" + name, &info).ok() || info.is_dir) continue;
      Entry en;
      en.msg.file_name = name;
      en.msg.in_new = true;
      if (!MessageWireSize(new_dir, name, parts, &en.msg.size).ok()) continue;
      en.msg.unique = parts.unique;
      en.unique = std::move(parts.unique);
      en.time = DeliveryTime(en.unique);
      entries.push_back(std::move(en));
    }
  }

  // Oldest delivery first; then the UIDLs.
  void SortEntries() {
    std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
      return std::tie(a.time, a.unique, a.msg.file_name) < std::tie(b.time, b.unique, b.msg.file_name);
    });
    // Two files with one unique part (a copy with other flags) would share
    // a UIDL; the later one is named by its whole file name instead.
    for (size_t i = 0; i < entries.size(); ++i) {
      bool dup = i > 0 && entries[i].unique == entries[i - 1].unique;
      entries[i].msg.uidl = MakeUidl(dup ? entries[i].msg.file_name : entries[i].unique);
    }
  }

  void Open() {  // pool thread
    status = MailboxDir(opts.mail_root, opts.user, &dir);
    if (!status.ok()) return;
    status = EnsureMailbox(env, opts.mail_root, dir, opts.fsync);
    if (!status.ok()) return;
    status = Lock();
    if (status.code() == Status::Code::kIoError) {
      // The mailbox may have been removed after EnsureMailbox cached it.
      ForgetMailbox(dir);
      status = EnsureMailbox(env, opts.mail_root, dir, opts.fsync);
      if (status.ok()) status = Lock();
    }
    if (!status.ok()) return;
    RemoveStaleTmp();
    unmoved.clear();
    unmoved_error.clear();
    status = MoveNewToCur();
    if (status.ok()) status = ListCur();
    if (status.ok()) {
      AddUnmoved();
      SortEntries();
    }
    if (!status.ok()) ReleaseLock();
  }

  void Commit() {  // pool thread
    removed = 0;
    size_t failed = 0;
    bool from_new = false;
    for (const Removal& r : to_remove) {
      const std::string sub_dir = dir + "/" + r.sub;
      std::string path = sub_dir + "/" + r.name;
      if (env->Unlink(path).ok()) {
        ++removed;
        from_new |= r.sub == "new";
        continue;
      }
      int err = 0;
      FileInfo info;
      if (!env->Stat(path, &info, &err).ok() && err == ENOENT) {
        // Renamed by another program (a flag change) or gone already.
        std::string now;
        if (FindByUnique(sub_dir, r.unique, &now).ok() && env->Unlink(sub_dir + "/" + now).ok()) {
          ++removed;
          from_new |= r.sub == "new";
        }
        continue;
      }
      ++failed;
    }
    status = Status::Ok();
    if (removed > 0 && opts.fsync) {
      Status s = env->SyncDir(dir + "/cur");
      if (s.ok() && from_new) s = env->SyncDir(dir + "/new");
      if (!s.ok()) status = s;
    }
    if (failed > 0) {
      status = Status::IoError(fmt::format("{} of {} deleted messages not removed", failed, to_remove.size()));
    }
    ReleaseLock();
  }
};

Maildrop::Maildrop(uv_loop_t* loop, MaildropOptions opts)
    : loop_(loop), state_(std::make_shared<State>()) {
  state_->env = opts.env ? opts.env : DefaultFsEnv();
  state_->opts = std::move(opts);
}

Maildrop::~Maildrop() {
  state_->owner_gone = true;
  if (busy_ || state_->lock_fd < 0) return;  // a running job releases it when it ends
  auto st = state_;
  QueuePoolJob(
      loop_, [st] { st->ReleaseLock(); }, [st] {});
}

std::string Maildrop::MessagePath(size_t index) const {
  return state_->dir + (messages_[index].in_new ? "/new/" : "/cur/") + messages_[index].file_name;
}

void Maildrop::Open(Done done) {
  busy_ = true;
  auto st = state_;
  QueuePoolJob(
      loop_, [st] { st->Open(); },
      [this, st, loop = loop_, done = std::move(done)] {
        if (st->owner_gone) {
          if (st->lock_fd >= 0) QueuePoolJob(loop, [st] { st->ReleaseLock(); }, [st] {});
          return;
        }
        busy_ = false;
        if (st->status.ok()) {
          open_ = true;
          messages_.clear();
          messages_.reserve(st->entries.size());
          live_octets_ = 0;
          for (Entry& e : st->entries) {
            live_octets_ += e.msg.size;
            messages_.push_back(std::move(e.msg));
          }
          live_count_ = messages_.size();
          st->entries.clear();
          unmoved_ = st->unmoved.size();
          unmoved_error_ = st->unmoved_error;
        }
        done(st->status);
      });
}

void Maildrop::MarkDeleted(size_t index) {
  MaildropMessage& m = messages_[index];
  if (m.deleted) return;
  m.deleted = true;
  --live_count_;
  live_octets_ -= m.size;
}

void Maildrop::UnmarkAll() {
  for (MaildropMessage& m : messages_) {
    if (!m.deleted) continue;
    m.deleted = false;
    ++live_count_;
    live_octets_ += m.size;
  }
}

void Maildrop::Commit(CommitDone done) {
  busy_ = true;
  open_ = false;
  auto st = state_;
  st->to_remove.clear();
  for (const MaildropMessage& m : messages_) {
    if (m.deleted) st->to_remove.push_back({m.in_new ? "new" : "cur", m.file_name, m.unique});
  }
  // Runs on the loop thread once the files are gone (or were not touched).
  auto finish = [this, st, done = std::move(done)] {
    if (st->owner_gone) return;  // the job released the lock already
    busy_ = false;
    done(st->status, st->removed);
  };
  auto unlink = [st, loop = loop_, finish] { QueuePoolJob(loop, [st] { st->Commit(); }, finish); };
  if (st->to_remove.empty() || !st->opts.journal) return unlink();
  // A file whose journal record is still live would come back after a
  // crash: first wait until every delivery so far is checkpointed.
  st->opts.journal->Barrier([st, loop = loop_, unlink, finish](Status s) {
    if (s.ok()) return unlink();
    // Nothing is removed; the session reports it like a failed unlink.
    st->status = Status::IoError("cannot make deliveries durable before deleting: " + s.message());
    st->removed = 0;
    QueuePoolJob(loop, [st] { st->ReleaseLock(); }, finish);
  });
}

}  // namespace mailnest
