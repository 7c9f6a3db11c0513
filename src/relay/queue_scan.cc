// The queue as a whole: the start's scan and load (off the loop, in
// batches), the read-only listing, and LoadQueue for tools and tests.
// Both layouts of relay/queue_layout.h are read.
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>

#include "relay/queue_layout.h"
#include "relay/queue_store.h"
#include "store/fs_env.h"

namespace mailnest {

namespace {

// ScanQueue's ids carry their layout in a leading mark (never part of a
// valid id): '*' a .qf, '!' an .env whose .msg is missing, none an .env
// with its .msg.
constexpr char kOneFileMark = '*';
constexpr char kNoMessageMark = '!';

std::string IdOf(const std::string& name, std::string_view suffix) {
  return name.substr(0, name.size() - suffix.size());
}

// A message whose envelope does not decode is kept aside, never dropped:
// its files are renamed "<name>.bad" and the problem reported.
void KeepAside(const QueueFiles& q, const std::string& id, const std::string& bad_path, bool one_file,
               const Status& why, std::vector<std::string>* problems) {
  FsEnv* env = QueueEnv(q);
  const std::string name = bad_path.substr(q.dir.size() + 1);
  problems->push_back(fmt::format("{}: {} (kept as {}.bad)", name, why.message(), name));
  env->Rename(bad_path, bad_path + ".bad");
  // A bad .qe: the .qf's own head is stale (recipients already done would
  // be sent again), so the message stays aside as a whole.
  if (one_file && NameEndsWith(bad_path, kQueueFileEnvelope)) {
    const std::string qf = QueuePath(q, id, kQueueFile);
    env->Rename(qf, qf + ".bad");
  }
}

}  // namespace

Status ScanQueue(const QueueFiles& q, std::string_view own, int64_t since, std::vector<std::string>* ids) {
  FsEnv* env = QueueEnv(q);
  std::vector<std::string> names;  // the one copy of the listing
  int err = 0;
  Status s = env->ListDir(q.dir, &names, &err);
  if (!s.ok()) return err == ENOENT ? Status::Ok() : s;
  // Ours: this pid, made since this process started (a pid is reused, e.g.
  // in a container, where every start may be pid 1). Already in this
  // process's memory, maybe even gone again by the time a batch reads it.
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
  const size_t old_from = ids->size();
  std::vector<std::string> old;  // .env ids, marked below
  for (const std::string& n : names) {
    if (NameEndsWith(n, ".new")) {
      if (!mine(n)) env->Unlink(q.dir + "/" + n);  // never acknowledged
    } else if (NameEndsWith(n, kQueueFile)) {
      if (!mine(n)) ids->push_back(kOneFileMark + IdOf(n, kQueueFile));
    } else if (NameEndsWith(n, kQueueFileEnvelope)) {
      std::string id = IdOf(n, kQueueFileEnvelope);
      if (!has(id + std::string(kQueueFile)) && !mine(n)) env->Unlink(q.dir + "/" + n);  // its .qf left
    } else if (NameEndsWith(n, kOldEnvelope)) {
      if (!mine(n)) ids->push_back(IdOf(n, kOldEnvelope));  // without its .msg: kept aside by the load
    } else if (NameEndsWith(n, kOldMessage)) {
      std::string id = IdOf(n, kOldMessage);
      if (!has(id + std::string(kOldEnvelope)) && !mine(id)) env->Unlink(q.dir + "/" + n);  // orphan
    }
  }
  for (size_t i = old_from; i < ids->size(); ++i) {
    std::string& id = (*ids)[i];
    if (id[0] != kOneFileMark && !has(id + std::string(kOldMessage))) id.insert(id.begin(), kNoMessageMark);
  }
  return Status::Ok();
}

void LoadEnvelopes(const QueueFiles& q, const std::vector<std::string>& ids, size_t from, size_t to,
                   std::vector<QueueEnvelope>* out, std::vector<std::string>* problems) {
  FsEnv* env = QueueEnv(q);
  for (size_t i = from; i < to && i < ids.size(); ++i) {
    const char mark = ids[i].empty() ? 0 : ids[i][0];
    const bool marked = mark == kOneFileMark || mark == kNoMessageMark;
    const std::string id = marked ? ids[i].substr(1) : ids[i];
    EnvelopeSource src;
    src.one_file = mark == kOneFileMark;
    src.path = QueuePath(q, id, kOldEnvelope);
    if (src.one_file) {
      src = FindEnvelope(q, id);
      if (!src.one_file) continue;  // left meanwhile
    }
    QueueEnvelope e;
    Status r = mark == kNoMessageMark ? Status::Invalid("message file missing") : ReadEnvelopeAt(env, src, &e);
    if (!r.ok() && mark != kNoMessageMark && !QueueFileExists(q, src.path)) continue;  // left meanwhile
    if (r.ok() && e.id != id) r = Status::Invalid("id does not match the file name");
    if (!r.ok()) {
      KeepAside(q, id, src.path, src.one_file, r, problems);
      continue;
    }
    out->push_back(std::move(e));
  }
}

Status LoadQueue(const QueueFiles& q, std::vector<QueueEnvelope>* out, std::vector<std::string>* problems) {
  std::vector<std::string> ids;
  Status s = ScanQueue(q, "", 0, &ids);
  if (s.ok()) LoadEnvelopes(q, ids, 0, ids.size(), out, problems);
  return s;
}

Status ListQueued(const QueueFiles& q, std::vector<QueueEnvelope>* out) {
  FsEnv* env = QueueEnv(q);
  std::vector<std::string> names;
  int err = 0;
  Status s = env->ListDir(q.dir, &names, &err);
  if (!s.ok()) return err == ENOENT ? Status::Ok() : s;
  std::sort(names.begin(), names.end());
  for (const std::string& n : names) {
    EnvelopeSource src;
    if (NameEndsWith(n, kQueueFile)) {
      src = FindEnvelope(q, IdOf(n, kQueueFile));
    } else if (NameEndsWith(n, kOldEnvelope)) {
      src.path = q.dir + "/" + n;
    } else {
      continue;
    }
    QueueEnvelope e;
    if (ReadEnvelopeAt(env, src, &e).ok()) out->push_back(std::move(e));  // gone meanwhile: skipped
  }
  return Status::Ok();
}

}  // namespace mailnest
