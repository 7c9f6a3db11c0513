#include "relay/queue_control.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

#include <fmt/format.h>

#include "relay/queue_layout.h"

namespace mailnest {

namespace {

Status Errno(std::string_view what, const std::string& path) {
  return Status::IoError(fmt::format("{} {}: {}", what, path, std::strerror(errno)));
}

bool Exists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

bool ParseRequest(const std::string& name, QueueRequest* r) {
  if (name == "flush") {
    r->action = QueueAction::kFlush;
    r->id.clear();
    return true;
  }
  struct Prefix {
    const char* text;
    QueueAction action;
  };
  for (Prefix p : {Prefix{"retry.", QueueAction::kRetry}, Prefix{"delete.", QueueAction::kDelete}}) {
    size_t n = std::strlen(p.text);
    if (name.compare(0, n, p.text) == 0 && IsValidQueueId(std::string_view(name).substr(n))) {
      r->action = p.action;
      r->id = name.substr(n);
      return true;
    }
  }
  return false;
}

// Every queued recipient of one envelope due at once.
Status MakeDue(const QueueFiles& q, QueueEnvelope* env) {
  bool changed = false;
  for (QueueRecipient& r : env->recipients) {
    if (r.state == RcptState::kQueued && r.next_try != 0) {
      r.next_try = 0;
      changed = true;
    }
  }
  return changed ? RewriteEnvelope(q, *env) : Status::Ok();
}

}  // namespace

std::string QueueControlDir(const QueueFiles& q) { return q.dir + "/ctl"; }

std::string QueueRequestName(const QueueRequest& r) {
  switch (r.action) {
    case QueueAction::kFlush:
      return "flush";
    case QueueAction::kRetry:
      return "retry." + r.id;
    case QueueAction::kDelete:
      return "delete." + r.id;
  }
  return "flush";
}

Status LockQueue(const QueueFiles& q, int* fd) {
  const std::string path = q.dir + "/lock";
  int f = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (f < 0) return Errno("open", path);
  if (::flock(f, LOCK_EX | LOCK_NB) != 0) {
    int e = errno;
    ::close(f);
    if (e == EWOULDBLOCK) return Status::Busy(fmt::format("{} is locked by a running instance", path));
    errno = e;
    return Errno("flock", path);
  }
  *fd = f;
  return Status::Ok();
}

Status PostQueueRequest(const QueueFiles& q, const QueueRequest& r) {
  if (r.action != QueueAction::kFlush && !IsValidQueueId(r.id)) return Status::Invalid("bad queue id");
  const std::string dir = QueueControlDir(q);
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST) return Errno("mkdir", dir);
  const std::string path = dir + "/" + QueueRequestName(r);
  int f = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (f < 0) return Errno("open", path);
  ::close(f);
  return Status::Ok();
}

Status ListQueueRequests(const QueueFiles& q, std::vector<QueueRequest>* out) {
  const std::string dir = QueueControlDir(q);
  DIR* d = ::opendir(dir.c_str());
  if (!d) return errno == ENOENT ? Status::Ok() : Errno("opendir", dir);
  std::vector<std::string> junk;
  while (struct dirent* de = ::readdir(d)) {
    std::string name = de->d_name;
    if (name == "." || name == "..") continue;
    QueueRequest r;
    if (ParseRequest(name, &r)) {
      out->push_back(std::move(r));
    } else {
      junk.push_back(name);
    }
  }
  ::closedir(d);
  for (const std::string& n : junk) ::unlink((dir + "/" + n).c_str());  // never a path outside ctl/
  return Status::Ok();
}

void RemoveQueueRequest(const QueueFiles& q, const QueueRequest& r) {
  ::unlink((QueueControlDir(q) + "/" + QueueRequestName(r)).c_str());
}

bool IsQueued(const QueueFiles& q, const std::string& id) {
  return IsValidQueueId(id) &&
         (QueueFileExists(q, QueuePath(q, id, kQueueFile)) || QueueFileExists(q, QueuePath(q, id, kOldEnvelope)));
}

Status ApplyQueueRequestOffline(const QueueFiles& q, const QueueRequest& r, int64_t /*now*/) {
  if (r.action == QueueAction::kFlush) {
    std::vector<QueueEnvelope> envs;
    Status s = ListQueued(q, &envs);
    for (QueueEnvelope& e : envs) {
      if (s.ok()) s = MakeDue(q, &e);
    }
    return s;
  }
  if (!IsQueued(q, r.id)) return Status::NotFound(fmt::format("{} is not queued", r.id));
  if (r.action == QueueAction::kDelete) return RemoveQueued(q, r.id);
  QueueEnvelope e;
  Status s = ReadQueuedEnvelope(q, r.id, &e);
  return s.ok() ? MakeDue(q, &e) : s;
}

Status RunQueueRequest(const QueueFiles& q, const QueueRequest& r, uint32_t wait_ms, std::string* how) {
  if (r.action != QueueAction::kFlush && !IsValidQueueId(r.id)) return Status::Invalid("bad queue id");
  if (!Exists(q.dir)) return Status::NotFound(fmt::format("no queue directory {}", q.dir));
  int fd = -1;
  Status s = LockQueue(q, &fd);
  if (s.ok()) {  // no instance: we hold the lock while we act
    s = ApplyQueueRequestOffline(q, r, static_cast<int64_t>(::time(nullptr)));
    ::close(fd);
    *how = "done (no instance running)";
    return s;
  }
  if (s.code() != Status::Code::kBusy) return s;
  if (r.action != QueueAction::kFlush && !IsQueued(q, r.id)) {
    return Status::NotFound(fmt::format("{} is not queued", r.id));
  }
  if (s = PostQueueRequest(q, r); !s.ok()) return s;
  const std::string path = QueueControlDir(q) + "/" + QueueRequestName(r);
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms);
  while (Exists(path)) {
    if (std::chrono::steady_clock::now() >= until) {
      *how = "requested; the running instance has not taken it yet";
      return Status::Ok();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  *how = "done by the running instance";
  return Status::Ok();
}

}  // namespace mailnest
