#include "relay/queue_store.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>

#include <unistd.h>

#include "store/dir_sync_group.h"
#include "store/fs_env.h"

namespace mailnest {

namespace {

FsEnv* Env(const QueueFiles& q) { return q.env ? q.env : DefaultFsEnv(); }

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The queue directory's fsync, shared by every pool job that asks at about
// the same time (store/dir_sync_group.h): N messages queued or removed
// together cost about two directory syncs, not N.
Status SyncQueueDir(const QueueFiles& q) { return SyncDirCovering(Env(q), q.dir); }

// Written in place under its final name, then (fsync). For the .msg only: a
// .msg means nothing until its .env exists, and a torn one left by a crash
// has no .env and is removed at start, so it needs no tmp → rename.
Status WriteInPlace(const QueueFiles& q, const std::string& name, const std::string& data) {
  FsEnv* env = Env(q);
  const std::string path = q.dir + "/" + name;
  int fd = -1;
  Status s = env->OpenExclusive(path, &fd);
  if (!s.ok()) return s;
  s = env->WriteAll(fd, data.data(), data.size());
  if (s.ok() && q.fsync) s = env->Sync(fd);
  Status c = env->Close(fd);
  if (s.ok()) s = c;
  if (!s.ok()) env->Unlink(path);
  return s;
}

// tmp → (fsync) → rename; the caller syncs the directory.
Status WriteFile(const QueueFiles& q, const std::string& name, const std::string& data) {
  FsEnv* env = Env(q);
  const std::string final_path = q.dir + "/" + name;
  const std::string tmp = final_path + ".new";
  env->Unlink(tmp);  // debris of an earlier failed try (ENOENT normally)
  int fd = -1;
  Status s = env->OpenExclusive(tmp, &fd);
  if (!s.ok()) return s;
  s = env->WriteAll(fd, data.data(), data.size());
  if (s.ok() && q.fsync) s = env->Sync(fd);
  Status c = env->Close(fd);
  if (s.ok()) s = c;
  if (s.ok()) s = env->Rename(tmp, final_path);
  if (!s.ok()) env->Unlink(tmp);
  return s;
}

}  // namespace

Status EnsureQueueDir(const QueueFiles& q) {
  FsEnv* env = Env(q);
  bool created = false;
  Status s = env->MakeDir(q.dir, &created);
  if (s.ok() && created && q.fsync) {
    size_t slash = q.dir.rfind('/');
    s = env->SyncDir(slash == std::string::npos ? "." : slash == 0 ? "/" : q.dir.substr(0, slash));
  }
  return s;
}

Status WriteQueued(const QueueFiles& q, const QueueEnvelope& env, const std::string& message) {
  if (!IsValidQueueId(env.id)) return Status::Invalid("queue: bad id");
  Status s = WriteInPlace(q, env.id + ".msg", message);
  if (s.ok()) s = WriteFile(q, env.id + ".env", EncodeEnvelope(env));
  if (s.ok() && q.fsync) s = SyncQueueDir(q);
  if (!s.ok()) {  // not acknowledged: leave nothing behind
    Env(q)->Unlink(q.dir + "/" + env.id + ".env");
    Env(q)->Unlink(q.dir + "/" + env.id + ".msg");
  }
  return s;
}

Status RewriteEnvelope(const QueueFiles& q, const QueueEnvelope& env) {
  if (!IsValidQueueId(env.id)) return Status::Invalid("queue: bad id");
  Status s = WriteFile(q, env.id + ".env", EncodeEnvelope(env));
  if (s.ok() && q.fsync) s = SyncQueueDir(q);
  return s;
}

Status RemoveQueued(const QueueFiles& q, const std::string& id) {
  if (!IsValidQueueId(id)) return Status::Invalid("queue: bad id");
  Status s = Env(q)->Unlink(q.dir + "/" + id + ".env");
  if (s.ok() && q.fsync) s = SyncQueueDir(q);
  Env(q)->Unlink(q.dir + "/" + id + ".msg");  // an orphan would be removed at start anyway
  return s;
}

Status ReadQueuedMessage(const QueueFiles& q, const std::string& id, uint64_t max_size, std::string* out) {
  out->clear();
  if (!IsValidQueueId(id)) return Status::Invalid("queue: bad id");
  FsEnv* env = Env(q);
  int fd = -1;
  Status s = env->OpenRead(q.dir + "/" + id + ".msg", &fd);
  if (!s.ok()) return s;
  char buf[65536];
  while (true) {
    size_t got = 0;
    s = env->Read(fd, buf, sizeof buf, &got);
    if (!s.ok() || got == 0) break;
    out->append(buf, got);
    if (out->size() > max_size) {
      s = Status::IoError(fmt::format("queue: {}.msg is larger than {} octets", id, max_size));
      break;
    }
  }
  env->Close(fd);
  return s;
}

namespace {

Status ReadEnvelope(FsEnv* env, const std::string& path, QueueEnvelope* e) {
  std::string text;
  int fd = -1;
  Status r = env->OpenRead(path, &fd);
  if (!r.ok()) return r;
  char buf[65536];
  size_t got = 0;
  while ((r = env->Read(fd, buf, sizeof buf, &got)).ok() && got > 0 && text.size() < (64u << 20)) {
    text.append(buf, got);
  }
  env->Close(fd);
  return r.ok() ? DecodeEnvelope(text, e) : r;
}

}  // namespace

Status ListQueued(const QueueFiles& q, std::vector<QueueEnvelope>* out) {
  FsEnv* env = Env(q);
  std::vector<std::string> names;
  int err = 0;
  Status s = env->ListDir(q.dir, &names, &err);
  if (!s.ok()) return err == ENOENT ? Status::Ok() : s;
  std::sort(names.begin(), names.end());
  for (const std::string& n : names) {
    if (!EndsWith(n, ".env")) continue;
    QueueEnvelope e;
    if (ReadEnvelope(env, q.dir + "/" + n, &e).ok()) out->push_back(std::move(e));  // gone meanwhile: skipped
  }
  return Status::Ok();
}

Status LoadQueue(const QueueFiles& q, std::vector<QueueEnvelope>* out, std::vector<std::string>* problems) {
  FsEnv* env = Env(q);
  std::vector<std::string> names;
  int err = 0;
  Status s = env->ListDir(q.dir, &names, &err);
  if (!s.ok()) return err == ENOENT ? Status::Ok() : s;
  std::vector<std::string> envs;
  std::vector<std::string> msgs;
  for (const std::string& n : names) {
    if (EndsWith(n, ".new")) {
      env->Unlink(q.dir + "/" + n);  // never acknowledged
    } else if (EndsWith(n, ".env")) {
      envs.push_back(n.substr(0, n.size() - 4));
    } else if (EndsWith(n, ".msg")) {
      msgs.push_back(n.substr(0, n.size() - 4));
    }
  }
  std::sort(msgs.begin(), msgs.end());
  for (const std::string& id : envs) {
    std::string text;
    QueueEnvelope e;
    int fd = -1;
    Status r = env->OpenRead(q.dir + "/" + id + ".env", &fd);
    if (r.ok()) {
      char buf[65536];
      size_t got = 0;
      while ((r = env->Read(fd, buf, sizeof buf, &got)).ok() && got > 0 && text.size() < (64u << 20)) {
        text.append(buf, got);
      }
      env->Close(fd);
    }
    if (r.ok()) r = DecodeEnvelope(text, &e);
    if (r.ok() && e.id != id) r = Status::Invalid("id does not match the file name");
    if (r.ok() && !std::binary_search(msgs.begin(), msgs.end(), id)) r = Status::Invalid("message file missing");
    if (!r.ok()) {
      problems->push_back(fmt::format("{}.env: {} (kept as {}.env.bad)", id, r.message(), id));
      env->Rename(q.dir + "/" + id + ".env", q.dir + "/" + id + ".env.bad");
      continue;
    }
    out->push_back(std::move(e));
  }
  std::sort(envs.begin(), envs.end());
  for (const std::string& id : msgs) {
    if (!std::binary_search(envs.begin(), envs.end(), id)) env->Unlink(q.dir + "/" + id + ".msg");  // orphan
  }
  return Status::Ok();
}

Status ReadQueuedEnvelope(const QueueFiles& q, const std::string& id, QueueEnvelope* out) {
  if (!IsValidQueueId(id)) return Status::Invalid("queue: bad id");
  const std::string path = q.dir + "/" + id + ".env";
  if (::access(path.c_str(), F_OK) != 0 && errno == ENOENT) return Status::NotFound(id + " is not queued");
  Status s = ReadEnvelope(Env(q), path, out);
  if (s.ok() && out->id != id) s = Status::Invalid("id does not match the file name");
  return s;
}

Status ScanQueue(const QueueFiles& q, std::string_view own, int64_t since, std::vector<std::string>* ids) {
  FsEnv* env = Env(q);
  std::vector<std::string> names;  // the one copy of the listing (200,000 names for 100,000 messages)
  int err = 0;
  Status s = env->ListDir(q.dir, &names, &err);
  if (!s.ok()) return err == ENOENT ? Status::Ok() : s;
  // Ours: this pid, made since this process started (a pid is reused, e.g.
  // in a container, where every start may be pid 1).
  auto mine = [own, since](const std::string& n) {
    if (own.empty() || n.find(own) == std::string::npos) return false;
    int64_t sec = 0;
    for (char c : n) {
      if (c < '0' || c > '9') break;
      sec = sec * 10 + (c - '0');
    }
    return sec >= since;
  };
  std::sort(names.begin(), names.end());
  auto has = [&names](const std::string& n) { return std::binary_search(names.begin(), names.end(), n); };
  for (const std::string& n : names) {
    if (EndsWith(n, ".new")) {
      if (!mine(n)) env->Unlink(q.dir + "/" + n);  // never acknowledged
    } else if (EndsWith(n, ".env")) {
      // Queued by this process: already in its memory, maybe even gone
      // again by the time a batch would read it.
      if (mine(n)) continue;
      ids->push_back(n.substr(0, n.size() - 4));  // without its .msg: kept aside, reported by the load
    } else if (EndsWith(n, ".msg")) {
      std::string id = n.substr(0, n.size() - 4);
      if (!has(id + ".env") && !mine(id)) env->Unlink(q.dir + "/" + n);  // orphan
    }
  }
  // Which envelopes lack their message, for LoadEnvelopes: marked with a
  // leading '!' (never part of a valid id).
  for (std::string& id : *ids) {
    if (!has(id + ".msg")) id.insert(id.begin(), '!');
  }
  return Status::Ok();
}

void LoadEnvelopes(const QueueFiles& q, const std::vector<std::string>& ids, size_t from, size_t to,
                   std::vector<QueueEnvelope>* out, std::vector<std::string>* problems) {
  FsEnv* env = Env(q);
  for (size_t i = from; i < to && i < ids.size(); ++i) {
    const bool no_msg = !ids[i].empty() && ids[i][0] == '!';
    const std::string id = no_msg ? ids[i].substr(1) : ids[i];
    const std::string path = q.dir + "/" + id + ".env";
    QueueEnvelope e;
    Status r = no_msg ? Status::Invalid("message file missing") : ReadEnvelope(env, path, &e);
    if (!r.ok() && !no_msg && ::access(path.c_str(), F_OK) != 0) continue;  // left meanwhile
    if (r.ok() && e.id != id) r = Status::Invalid("id does not match the file name");
    if (!r.ok()) {
      problems->push_back(fmt::format("{}.env: {} (kept as {}.env.bad)", id, r.message(), id));
      env->Rename(path, q.dir + "/" + id + ".env.bad");
      continue;
    }
    out->push_back(std::move(e));
  }
}

}  // namespace mailnest
