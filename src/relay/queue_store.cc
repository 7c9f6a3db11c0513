#include "relay/queue_store.h"

#include <fmt/format.h>

#include <cerrno>

#include "relay/queue_layout.h"
#include "store/dir_sync_group.h"
#include "store/fs_env.h"

namespace mailnest {

// --- names and envelope reading (relay/queue_layout.h) --------------------

FsEnv* QueueEnv(const QueueFiles& q) { return q.env ? q.env : DefaultFsEnv(); }

std::string QueuePath(const QueueFiles& q, const std::string& id, std::string_view suffix) {
  std::string p = q.dir;
  p += '/';
  p += id;
  p += suffix;
  return p;
}

bool QueueFileExists(const QueueFiles& q, const std::string& path) {
  FileInfo info;
  int err = 0;
  return QueueEnv(q)->Stat(path, &info, &err).ok();
}

bool NameEndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

namespace {

constexpr size_t kMaxEnvelope = 64u << 20;

// Reads path into *text until stop(*text) says it has enough or the file
// ends; at most limit octets.
template <typename Stop>
Status ReadUntil(FsEnv* env, const std::string& path, size_t limit, std::string* text, Stop stop) {
  int fd = -1;
  Status r = env->OpenRead(path, &fd);
  if (!r.ok()) return r;
  char buf[65536];
  size_t got = 0;
  while ((r = env->Read(fd, buf, sizeof buf, &got)).ok() && got > 0) {
    text->append(buf, got);
    if (stop(*text)) break;
    if (text->size() > limit) {
      r = Status::IoError(fmt::format("queue: {} is larger than {} octets", path, limit));
      break;
    }
  }
  env->Close(fd);
  return r;
}

// The end of a .qf's envelope: just past its "end" line. An address or a
// reply cannot hold a LF, so the first "\nend\n" is the envelope's own.
size_t HeadEnd(std::string_view text) {
  size_t at = text.find("\nend\n");
  return at == std::string_view::npos ? std::string_view::npos : at + 5;
}

}  // namespace

Status ReadEnvelopeFile(FsEnv* env, const std::string& path, QueueEnvelope* out) {
  std::string text;
  Status r = ReadUntil(env, path, kMaxEnvelope, &text, [](const std::string&) { return false; });
  return r.ok() ? DecodeEnvelope(text, out) : r;
}

Status ReadQueueFileHead(FsEnv* env, const std::string& path, QueueEnvelope* out, size_t* head_size) {
  std::string text;
  Status r = ReadUntil(env, path, kMaxEnvelope, &text,
                       [](const std::string& t) { return HeadEnd(t) != std::string_view::npos; });
  if (!r.ok()) return r;
  size_t end = HeadEnd(text);
  if (end == std::string_view::npos) return Status::Invalid("no end line (torn write)");
  if (head_size) *head_size = end;
  return DecodeEnvelope(std::string_view(text).substr(0, end), out);
}

EnvelopeSource FindEnvelope(const QueueFiles& q, const std::string& id) {
  EnvelopeSource src;
  src.one_file = QueueFileExists(q, QueuePath(q, id, kQueueFile));
  if (!src.one_file) {
    src.path = QueuePath(q, id, kOldEnvelope);
  } else if (std::string qe = QueuePath(q, id, kQueueFileEnvelope); QueueFileExists(q, qe)) {
    src.path = std::move(qe);
  } else {
    src.path = QueuePath(q, id, kQueueFile);
  }
  return src;
}

Status ReadEnvelopeAt(FsEnv* env, const EnvelopeSource& src, QueueEnvelope* out) {
  if (NameEndsWith(src.path, kQueueFile)) return ReadQueueFileHead(env, src.path, out, nullptr);
  return ReadEnvelopeFile(env, src.path, out);
}

// --- writing and removing -------------------------------------------------

namespace {

// The queue directory's fsync, shared by every pool job that asks at about
// the same time (store/dir_sync_group.h): N messages queued or removed
// together cost about two directory syncs, not N.
Status SyncQueueDir(const QueueFiles& q) { return SyncDirCovering(QueueEnv(q), q.dir); }

// parts written to "<path>.new" → (fsync) → rename to path; the caller
// syncs the directory.
Status WriteFile(const QueueFiles& q, const std::string& path, std::string_view a, std::string_view b = {}) {
  FsEnv* env = QueueEnv(q);
  const std::string tmp = path + ".new";
  env->Unlink(tmp);  // debris of an earlier failed try (ENOENT normally)
  int fd = -1;
  Status s = env->OpenExclusive(tmp, &fd);
  if (!s.ok()) return s;
  s = env->WriteAll(fd, a.data(), a.size());
  if (s.ok() && !b.empty()) s = env->WriteAll(fd, b.data(), b.size());
  if (s.ok() && q.fsync) s = env->Sync(fd);
  Status c = env->Close(fd);
  if (s.ok()) s = c;
  if (s.ok()) s = env->Rename(tmp, path);
  if (!s.ok()) env->Unlink(tmp);
  return s;
}

}  // namespace

Status EnsureQueueDir(const QueueFiles& q) {
  FsEnv* env = QueueEnv(q);
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
  const std::string path = QueuePath(q, env.id, kQueueFile);
  Status s = WriteFile(q, path, EncodeEnvelope(env), message);
  if (s.ok() && q.fsync) s = SyncQueueDir(q);
  if (!s.ok()) QueueEnv(q)->Unlink(path);  // not acknowledged: leave nothing behind
  return s;
}

Status RewriteEnvelope(const QueueFiles& q, const QueueEnvelope& env) {
  if (!IsValidQueueId(env.id)) return Status::Invalid("queue: bad id");
  const bool one_file = QueueFileExists(q, QueuePath(q, env.id, kQueueFile));
  Status s = WriteFile(q, QueuePath(q, env.id, one_file ? kQueueFileEnvelope : kOldEnvelope), EncodeEnvelope(env));
  if (s.ok() && q.fsync) s = SyncQueueDir(q);
  return s;
}

Status RemoveQueued(const QueueFiles& q, const std::string& id) {
  if (!IsValidQueueId(id)) return Status::Invalid("queue: bad id");
  FsEnv* env = QueueEnv(q);
  // The file that makes the message queued goes first; what is left after a
  // crash is an orphan, removed at start.
  const bool one_file = QueueFileExists(q, QueuePath(q, id, kQueueFile));
  Status s = env->Unlink(QueuePath(q, id, one_file ? kQueueFile : kOldEnvelope));
  if (s.ok() && q.fsync) s = SyncQueueDir(q);
  env->Unlink(QueuePath(q, id, one_file ? kQueueFileEnvelope : kOldMessage));  // .qe: often none
  return s;
}

Status ReadQueuedMessage(const QueueFiles& q, const std::string& id, uint64_t max_size, std::string* out) {
  out->clear();
  if (!IsValidQueueId(id)) return Status::Invalid("queue: bad id");
  FsEnv* env = QueueEnv(q);
  std::string path = QueuePath(q, id, kQueueFile);
  const bool one_file = QueueFileExists(q, path);
  if (!one_file) path = QueuePath(q, id, kOldMessage);
  const size_t limit = max_size + (one_file ? kMaxEnvelope : 0);
  Status s = ReadUntil(env, path, limit, out, [](const std::string&) { return false; });
  if (s.ok() && one_file) {
    size_t end = HeadEnd(*out);
    if (end == std::string_view::npos) return Status::Invalid(fmt::format("queue: {}.qf has no envelope end", id));
    out->erase(0, end);
  }
  if (s.ok() && out->size() > max_size) {
    s = Status::IoError(fmt::format("queue: {}'s message is larger than {} octets", id, max_size));
  }
  return s;
}

Status ReadQueuedEnvelope(const QueueFiles& q, const std::string& id, QueueEnvelope* out) {
  if (!IsValidQueueId(id)) return Status::Invalid("queue: bad id");
  EnvelopeSource src = FindEnvelope(q, id);
  if (!src.one_file && !QueueFileExists(q, src.path)) return Status::NotFound(id + " is not queued");
  Status s = ReadEnvelopeAt(QueueEnv(q), src, out);
  if (s.ok() && out->id != id) s = Status::Invalid("id does not match the file name");
  return s;
}

}  // namespace mailnest
