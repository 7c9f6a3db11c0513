// Control of the relay queue from outside the scheduler (docs/RELAY.md
// "Control"): `mailnest queue flush|retry|delete`, and the HTTP API, work
// against a running instance's queue directory without racing it.
//
//   <queue_dir>/lock        flock(LOCK_EX) held by the running instance for
//                           its whole life: a second instance refuses to
//                           start, a control client learns whether one runs
//   <queue_dir>/ctl/flush   a request: every deferred recipient is due now
//   <queue_dir>/ctl/retry.<id>   one message is due now
//   <queue_dir>/ctl/delete.<id>  one message leaves the queue, undelivered
//
// A request is an empty file. The running scheduler watches ctl/ (inotify
// through uv_fs_event), acts, then unlinks the request: a client that sees
// its file gone knows it was honoured. The scheduler alone touches queue
// files while it runs, so a delete can never race a delivery attempt: an
// attempt under way is aborted first (no half-deleted message, no rewrite
// that resurrects it). With no instance running, the client takes the lock
// itself and acts on the files directly.
//
// Ids are checked with IsValidQueueId before they become a file name.
// Every function blocks (disk I/O): thread pool or command line only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "relay/queue_store.h"

namespace mailnest {

enum class QueueAction { kFlush, kRetry, kDelete };

struct QueueRequest {
  QueueAction action = QueueAction::kFlush;
  std::string id;  // "" for kFlush
};

std::string QueueControlDir(const QueueFiles& q);
// The request's file name in ctl/ ("flush", "retry.<id>", "delete.<id>").
std::string QueueRequestName(const QueueRequest& r);

// The instance's lock (held until *fd is closed). Busy when another
// process holds it.
Status LockQueue(const QueueFiles& q, int* fd);

// Writes the request file (ctl/ made if missing). Invalid on a bad id.
Status PostQueueRequest(const QueueFiles& q, const QueueRequest& r);
// The requests waiting in ctl/; unknown names and bad ids are removed.
Status ListQueueRequests(const QueueFiles& q, std::vector<QueueRequest>* out);
void RemoveQueueRequest(const QueueFiles& q, const QueueRequest& r);

// With the lock held and no instance: does the request on the files.
// NotFound when the id is not queued.
Status ApplyQueueRequestOffline(const QueueFiles& q, const QueueRequest& r, int64_t now);

// What a client does: lock free → apply offline (the lock is held while it
// acts); else post the request and wait up to wait_ms for the running
// instance to take it. *how says which happened, for the user.
Status RunQueueRequest(const QueueFiles& q, const QueueRequest& r, uint32_t wait_ms, std::string* how);

// Is the id queued (its envelope exists)? For the HTTP 404.
bool IsQueued(const QueueFiles& q, const std::string& id);

}  // namespace mailnest
