#include "store/maildir_files.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <mutex>
#include <unordered_set>

#include <fmt/format.h>

#include "store/dir_sync_group.h"
#include "store/fs_env.h"
#include "store/mailbox_path.h"
#include "store/maildir_name.h"
#include "store/maildir_writer.h"

namespace mailnest {

namespace {

// Mailbox directories known to have tmp/, new/ and cur/. Guarded by g_known_mu.
std::mutex g_known_mu;
std::unordered_set<std::string>* g_known = new std::unordered_set<std::string>();

bool IsKnown(const std::string& dir) {
  std::lock_guard<std::mutex> lock(g_known_mu);
  return g_known->count(dir) != 0;
}

// mkdir(path) and, when it was created, fsync its parent so the new entry
// survives a crash (the message inside it would otherwise be unreachable).
Status MakeDurableDir(FsEnv* env, const std::string& path, bool fsync) {
  bool created = false;
  Status s = env->MakeDir(path, &created);
  if (!s.ok()) return s;
  if (created && fsync) return env->SyncDir(ParentOf(path));
  return Status::Ok();
}

const std::string& LocalHostName() {
  static const std::string* host = [] {
    char buf[256] = {0};
    if (::gethostname(buf, sizeof(buf) - 1) != 0 || buf[0] == '\0') return new std::string("localhost");
    return new std::string(buf);
  }();
  return *host;
}

Status CopyFile(FsEnv* env, const std::string& from, const std::string& to, bool fsync,
                DeliveryFiles* files) {
  int in = -1;
  Status s = env->OpenRead(from, &in);
  if (!s.ok()) return s;
  int out = -1;
  s = env->OpenExclusive(to, &out);
  if (!s.ok()) {
    env->Close(in);
    return s;
  }
  files->created.push_back(to);
  std::string buf(64 * 1024, '\0');
  for (;;) {
    size_t got = 0;
    s = env->Read(in, buf.data(), buf.size(), &got);
    if (!s.ok() || got == 0) break;
    s = env->WriteAll(out, buf.data(), got);
    if (!s.ok()) break;
  }
  if (s.ok() && fsync) s = env->Sync(out);
  Status c1 = env->Close(out);
  env->Close(in);
  if (s.ok()) s = c1;
  return s;
}

}  // namespace

std::string ParentOf(const std::string& path) {
  size_t slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

Status PrepareDelivery(FsEnv* env, const StoreOptions& opts, const std::vector<std::string>& mailboxes,
                       DeliveryFiles* files) {
  if (mailboxes.empty()) return Status::Invalid("no mailbox to deliver to");
  files->env = env ? env : DefaultFsEnv();
  files->fsync = opts.fsync;
  files->mail_root = opts.mail_root;
  files->mailbox_dirs.clear();
  for (const std::string& name : mailboxes) {
    std::string dir;
    Status s = MailboxDir(opts.mail_root, name, &dir);
    if (!s.ok()) return s;
    // An alias and its user may both name one mailbox: deliver once.
    if (std::find(files->mailbox_dirs.begin(), files->mailbox_dirs.end(), dir) ==
        files->mailbox_dirs.end()) {
      files->mailbox_dirs.push_back(std::move(dir));
    }
  }
  files->id = MakeUniqueBase();
  files->host = SanitizeMaildirHost(opts.hostname.empty() ? LocalHostName() : opts.hostname);
  files->tmp_name = files->id + "." + files->host;
  return Status::Ok();
}

Status EnsureMailbox(FsEnv* env, const std::string& mail_root, const std::string& dir, bool fsync) {
  if (IsKnown(dir)) return Status::Ok();
  // mkdir -p of mail_root itself, normally already there (main makes it).
  FileInfo info;
  int err = 0;
  if (!env->Stat(mail_root, &info, &err).ok()) {
    for (size_t pos = 1; pos <= mail_root.size(); ++pos) {
      if (pos == mail_root.size() || mail_root[pos] == '/') {
        std::string prefix = mail_root.substr(0, pos);
        if (prefix.empty() || prefix.back() == '/') continue;
        Status s = MakeDurableDir(env, prefix, fsync);
        if (!s.ok()) return s;
      }
    }
  }
  Status s = MakeDurableDir(env, dir, fsync);
  if (!s.ok()) return s;
  bool any_created = false;
  for (const char* sub : {"/tmp", "/new", "/cur"}) {
    bool created = false;
    s = env->MakeDir(dir + sub, &created);
    if (!s.ok()) return s;
    any_created |= created;
  }
  if (any_created && fsync) {
    s = env->SyncDir(dir);
    if (!s.ok()) return s;
  }
  std::lock_guard<std::mutex> lock(g_known_mu);
  g_known->insert(dir);
  return Status::Ok();
}

void ForgetMailbox(const std::string& dir) {
  std::lock_guard<std::mutex> lock(g_known_mu);
  g_known->erase(dir);
}

Status OpenPrimary(DeliveryFiles* f) {
  const std::string& dir = f->mailbox_dirs.front();
  const std::string path = dir + "/tmp/" + f->tmp_name;
  Status s;
  for (int attempt = 0; attempt < 2; ++attempt) {
    s = EnsureMailbox(f->env, f->mail_root, dir, f->fsync);
    if (!s.ok()) return s;
    int err = 0;
    s = f->env->OpenExclusive(path, &f->fd, &err);
    if (s.ok()) break;
    if (err != ENOENT) return s;
    ForgetMailbox(dir);  // removed since we cached it: make it again, once
  }
  if (!s.ok()) return s;
  f->opened = true;
  f->created.push_back(path);
  return Status::Ok();
}

Status WriteChunk(DeliveryFiles* f, std::string_view data) {
  if (!f->opened) {
    Status s = OpenPrimary(f);
    if (!s.ok()) return s;
  }
  if (data.empty()) return Status::Ok();
  Status s = f->env->WriteAll(f->fd, data.data(), data.size());
  if (!s.ok()) return s;
  f->written += data.size();
  f->counted.Add(data);
  return Status::Ok();
}

Status Seal(DeliveryFiles* f) {
  FsEnv* env = f->env;
  if (!f->opened) {
    Status s = OpenPrimary(f);
    if (!s.ok()) return s;
  }
  if (f->fsync) {
    Status s = env->Sync(f->fd);
    if (!s.ok()) return s;
  }
  {
    int fd = f->fd;
    f->fd = -1;  // released whatever Close says
    Status s = env->Close(fd);
    if (!s.ok()) return s;
  }
  f->final_name = MakeMaildirFileName(f->id, f->host, f->written, f->counted.wire());

  // One tmp/ file per mailbox; created[i] tracks mailbox i's file from here.
  const std::string primary = f->mailbox_dirs[0] + "/tmp/" + f->tmp_name;
  for (size_t i = 1; i < f->mailbox_dirs.size(); ++i) {
    const std::string& dir = f->mailbox_dirs[i];
    const std::string to = dir + "/tmp/" + f->tmp_name;
    Status s;
    int err = 0;
    for (int attempt = 0; attempt < 2; ++attempt) {
      s = EnsureMailbox(env, f->mail_root, dir, f->fsync);
      if (!s.ok()) return s;
      s = env->Link(primary, to, &err);
      if (s.ok() || err != ENOENT) break;
      ForgetMailbox(dir);
    }
    if (s.ok()) {
      f->created.push_back(to);
    } else if (err == EXDEV) {
      // Mailbox on another filesystem: a copy (fsynced like the original).
      s = CopyFile(env, primary, to, f->fsync, f);
      if (!s.ok()) return s;
    } else {
      return s;
    }
  }
  return Status::Ok();
}

Status MoveToNew(DeliveryFiles* f) {
  FsEnv* env = f->env;
  for (size_t i = 0; i < f->mailbox_dirs.size(); ++i) {
    const std::string to = f->mailbox_dirs[i] + "/new/" + f->final_name;
    Status s = env->Rename(f->created[i], to);
    if (!s.ok()) return s;
    f->created[i] = to;
  }
  if (f->fsync) {
    for (const std::string& dir : f->mailbox_dirs) {
      Status s = SyncDirCovering(env, dir + "/new");
      if (!s.ok()) return s;
    }
  }
  return Status::Ok();
}

Status Publish(DeliveryFiles* f) {
  Status s = Seal(f);
  if (s.ok()) s = MoveToNew(f);
  return s;
}

void RemoveCreated(DeliveryFiles* f) {
  if (f->fd >= 0) {
    f->env->Close(f->fd);
    f->fd = -1;
  }
  for (const std::string& path : f->created) f->env->Unlink(path);
  f->created.clear();
}

Status DeliverMessage(const StoreOptions& opts, const std::vector<std::string>& mailboxes,
                      std::string_view content, std::string* id, FsEnv* env) {
  DeliveryFiles files;
  Status s = PrepareDelivery(env, opts, mailboxes, &files);
  if (!s.ok()) return s;
  if (id) *id = files.id;
  s = WriteChunk(&files, content);
  if (s.ok()) s = Publish(&files);
  if (!s.ok()) RemoveCreated(&files);
  return s;
}

}  // namespace mailnest
