// RelayQueue's side of connection reuse (docs/RELAY.md "Connection reuse"):
// a session that has finished a message asks for the next due message to
// the same destination (RelayAttempt::Reuse::next_for). The message is
// taken exactly as Kick would take it (busy, a slot of the concurrency
// limits), read off the loop by ReadAndLaunch, and Launch hands it to the
// waiting session through the lease instead of opening a connection.
#include <ctime>

#include "relay/relay_queue.h"

namespace mailnest {

RelayAttempt::Reuse RelayQueue::ReuseFor(const std::string& key) {
  RelayAttempt::Reuse r;
  r.max_messages = cfg_.max_messages_per_connection;
  r.idle_ms = cfg_.connection_reuse_idle_ms;
  r.key = key;
  // Called only by an attempt that has a message of ours, so never after
  // Shutdown has aborted the attempts.
  r.next_for = [this](const std::string& k, const RelayTarget& t, std::shared_ptr<ConnectionLease> lease) {
    return TakeNextFor(k, t, std::move(lease));
  };
  return r;
}

// The session's previous message has released its slot just before (its
// done ran first), so this takes the same slot over when the limits allow.
// Candidates: first a message waiting for this destination to have room
// (waiting_), then the soonest due messages (at most kReuseScan of them, so a
// large queue costs a bounded look, never a walk of the whole queue).
bool RelayQueue::TakeNextFor(const std::string& key, const RelayTarget& target,
                             std::shared_ptr<ConnectionLease> lease) {
  constexpr size_t kReuseScan = 64;
  if (stopping_ || active_ >= cfg_.max_connections) return false;
  auto busy = per_dest_.find(key);
  if (busy != per_dest_.end() && busy->second >= cfg_.max_per_destination) return false;
  const int64_t now = static_cast<int64_t>(time(nullptr));
  std::vector<size_t> rcpts;
  auto due_here = [&](Entry* e) {
    rcpts.clear();
    if (e->busy || e->deleting) return false;
    for (size_t i = 0; i < e->env.recipients.size(); ++i) {
      const QueueRecipient& r = e->env.recipients[i];
      if (r.state == RcptState::kQueued && r.next_try <= now && RouteFor(r.address).key == key) rcpts.push_back(i);
    }
    return !rcpts.empty();
  };
  Entry* found = nullptr;
  if (std::string id = NextForDestination(key); !id.empty()) {
    Entry* e = entries_.at(id).get();
    if (due_here(e)) {
      found = e;
    } else {
      Reindex(e);  // not for us after all: back to the pass's order
    }
  }
  if (!found) {
    due_.ForEachDue(now, kReuseScan, [&](Entry* e) {
      if (!due_here(e)) return true;
      found = e;
      return false;
    });
  }
  if (!found) return false;
  Unindex(found);
  found->busy = true;
  ++active_;
  ++per_dest_[key];
  auto ctx = std::make_shared<AttemptCtx>();
  ctx->id = found->env.id;
  ctx->key = key;
  ctx->rcpts = std::move(rcpts);
  found->attempt = ctx;
  // Twice: if the waiting session turns out dead (RSET refused or the
  // connection lost before its reply: 4.4.1 outcomes), OnAttemptDone's
  // "next address" step gives the message one new connection at once
  // instead of deferring it.
  ctx->targets.push_back(target);
  ctx->targets.push_back(target);
  ctx->lease = std::move(lease);
  ReadAndLaunch(ctx);
  return true;
}

}  // namespace mailnest
