// RelayQueue's control (docs/RELAY.md "Control"): flush, retry and delete,
// asked on the loop (HTTP) or through request files in <queue_dir>/ctl/
// (`mailnest queue flush|retry|delete`, relay/queue_control.h) that a
// uv_fs_event watch notices at once.
//
// Delete never races a delivery: the entry is marked, taken out of the
// schedule, an attempt under way is aborted, and the files are removed only
// once nothing runs for it (FinishDelete), so no later envelope rewrite can
// bring the message back and no half of it stays.
#include <fmt/format.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "relay/relay_queue.h"

namespace mailnest {

void RelayQueue::WatchControl() {
  if (stopping_ || watch_) return;
  // ctl/ exists before we watch it: a request made later is an event.
  if (::mkdir(QueueControlDir(files_).c_str(), 0700) != 0 && errno != EEXIST) {
    log_->Error("", "relay queue: cannot make {}: {}", QueueControlDir(files_), std::strerror(errno));
    return;
  }
  watch_ = new WatchBox{{}, this};
  uv_fs_event_init(loop_, &watch_->handle);
  watch_->handle.data = watch_;
  int rc = uv_fs_event_start(
      &watch_->handle,
      [](uv_fs_event_t* h, const char*, int, int) {
        auto* box = static_cast<WatchBox*>(h->data);
        if (box->owner) box->owner->ScanControl();
      },
      QueueControlDir(files_).c_str(), 0);
  if (rc != 0) {
    log_->Error("", "relay queue: cannot watch {}: {} (requests are read at start only)", QueueControlDir(files_),
                uv_strerror(rc));
  }
}

// Lists ctl/ off the loop; one scan at a time, and one more if events came
// during it. Requests wait until the queue is loaded (a delete must find
// its message).
void RelayQueue::ScanControl() {
  if (stopping_ || !loaded_) return;
  if (scanning_) {
    rescan_ = true;
    return;
  }
  scanning_ = true;
  auto requests = std::make_shared<std::vector<QueueRequest>>();
  QueueFiles files = files_;
  StartJob([files, requests] { ListQueueRequests(files, requests.get()); },
           [this, requests] {
             scanning_ = false;
             for (const QueueRequest& r : *requests) Apply(r);
             if (std::exchange(rescan_, false)) ScanControl();
           });
}

void RelayQueue::Apply(const QueueRequest& r) {
  if (stopping_) return;
  auto done = [this, r] {
    QueueFiles files = files_;
    StartJob([files, r] { RemoveQueueRequest(files, r); }, [] {});
  };
  switch (r.action) {
    case QueueAction::kFlush:
      Flush();
      return done();
    case QueueAction::kRetry:
      Retry(r.id);
      return done();
    case QueueAction::kDelete:
      // The request file goes once the message is gone: a client waiting
      // for it knows the files are removed.
      if (!Delete(r.id, done)) done();
      return;
  }
}

size_t RelayQueue::Flush() {
  size_t n = 0;
  for (auto& [id, e] : entries_) {
    bool any = false;
    for (QueueRecipient& r : e->env.recipients) {
      if (r.state == RcptState::kQueued && r.next_try != 0) {
        r.next_try = 0;
        any = true;
      }
    }
    if (any && !e->busy) Reindex(e.get());
    n += any ? 1 : 0;
  }
  log_->Info("", "relay: flush: {} deferred message(s) due now", n);
  Schedule(0);
  return n;
}

bool RelayQueue::Retry(const std::string& id) {
  auto it = entries_.find(id);
  if (it == entries_.end() || it->second->deleting) return false;
  for (QueueRecipient& r : it->second->env.recipients) {
    if (r.state == RcptState::kQueued) r.next_try = 0;
  }
  if (!it->second->busy) Reindex(it->second.get());
  log_->Info(id, "retry requested: due now");
  Schedule(0);
  return true;
}

bool RelayQueue::Delete(const std::string& id, std::function<void()> done) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return false;
  Entry* e = it->second.get();
  if (done) e->on_deleted.push_back(std::move(done));
  if (e->deleting) return true;  // already on its way out
  e->deleting = true;
  Unindex(e);
  log_->Info(id, "delete requested{}", e->busy ? ": waiting for the work under way" : "");
  if (auto ctx = e->attempt.lock(); ctx && ctx->live) {
    ctx->live->Abort();  // its end (OnAttemptDone → Persist) finishes the delete
    return true;
  }
  if (!e->busy) FinishDelete(id);
  return true;
}

void RelayQueue::FinishDelete(const std::string& id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  Entry* e = it->second.get();
  Unindex(e);
  e->busy = true;  // nothing else starts for it
  auto status = std::make_shared<Status>();
  QueueFiles files = files_;
  StartJob([files, id, status] { *status = RemoveQueued(files, id); },
           [this, id, status] {
             if (!status->ok()) log_->Error(id, "relay queue delete failed: {}", status->message());
             auto it = entries_.find(id);
             if (it == entries_.end()) return;
             std::vector<std::function<void()>> waiters = std::move(it->second->on_deleted);
             log_->Info(id, "deleted from the queue, undelivered");
             Notify(QueueEventKind::kDeleted, it->second->env, nullptr);
             Forget(it);
             for (auto& w : waiters) w();
             Schedule(0);
           });
}

QueueMessageView RelayQueue::View(const Entry& e) {
  QueueMessageView v;
  v.id = e.env.id;
  v.sender = e.env.sender;
  v.arrival = e.env.arrival;
  v.size = e.env.size;
  v.active = e.busy;
  v.deleting = e.deleting;
  for (const QueueRecipient& r : e.env.recipients) {
    v.recipients.push_back(QueueRcptView{r.address, RcptStateName(r.state), r.attempts, r.next_try, r.last_attempt,
                                         r.remote_mta, r.last_reply});
  }
  return v;
}

void RelayQueue::ListQueue(std::string_view after, size_t limit, std::vector<QueueMessageView>* out,
                           bool* more) const {
  auto it = after.empty() ? entries_.begin() : entries_.upper_bound(after);
  for (; it != entries_.end() && out->size() < limit; ++it) out->push_back(View(*it->second));
  *more = it != entries_.end();
}

bool RelayQueue::FindQueued(std::string_view id, QueueMessageView* out) const {
  auto it = entries_.find(id);
  if (it == entries_.end()) return false;
  *out = View(*it->second);
  return true;
}

void RelayQueue::Notify(QueueEventKind kind, const QueueEnvelope& env, const QueueRecipient* r) {
  QueueObserver* o = GlobalQueueHooks().observer;
  if (!o) return;
  QueueEvent e{kind, env.id, env.sender, r ? std::string_view(r->address) : std::string_view(),
               r ? std::string_view(r->last_reply) : std::string_view(), r ? r->next_try : 0,
               env.recipients.size()};
  o->OnQueueEvent(e);
}

}  // namespace mailnest
