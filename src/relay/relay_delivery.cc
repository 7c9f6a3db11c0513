// RelayQueue's delivery attempts (docs/RELAY.md "Delivery"): the route's
// candidates (a transport or smarthost, or the MX answer), the queued
// message read off the loop, one RelayAttempt per candidate until one
// connects, then each recipient's outcome: sent, deferred on the backoff
// schedule, or failed (to be bounced by Settle, relay_bounce.cc).
#include <fmt/format.h>

#include <algorithm>
#include <ctime>

#include "relay/hop_count.h"
#include "relay/relay_queue.h"

namespace mailnest {

namespace {

int64_t Now() { return static_cast<int64_t>(time(nullptr)); }

// The stored reply of an outcome: a server's reply as it came, or a local
// reason as "<dsn> <text>" (relay/dsn.h reads both).
std::string StoredReply(const ClientReply& r) {
  return r.code != 0 ? r.text : fmt::format("{} {}", r.enhanced.empty() ? "4.0.0" : r.enhanced, r.text);
}

}  // namespace

void RelayQueue::StartAttempt(Entry* e, const Route& route, std::vector<size_t> rcpts) {
  e->busy = true;
  ++active_;
  ++per_dest_[route.key];
  auto ctx = std::make_shared<AttemptCtx>();
  ctx->id = e->env.id;
  ctx->key = route.key;
  ctx->rcpts = std::move(rcpts);
  e->attempt = ctx;
  if (route.mx) {
    dns_->ResolveMx(route.domain, [this, ctx](MxAnswer a) { OnMxAnswer(ctx, std::move(a)); });
    return;
  }
  ctx->targets.push_back(RelayTarget{route.host, route.port, ""});
  ReadAndLaunch(ctx);
}

void RelayQueue::Release(const std::shared_ptr<AttemptCtx>& ctx) {
  --active_;
  auto it = per_dest_.find(ctx->key);
  if (it != per_dest_.end() && --it->second == 0) per_dest_.erase(it);
  auto e = entries_.find(ctx->id);
  if (e != entries_.end()) {
    e->second->busy = false;
    Reindex(e->second.get());
  }
  // A message that waited for this destination may go now.
  if (std::string next = NextForDestination(ctx->key); !next.empty()) Reindex(entries_.at(next).get());
}

void RelayQueue::OnMxAnswer(const std::shared_ptr<AttemptCtx>& ctx, MxAnswer a) {
  auto it = entries_.find(ctx->id);
  if (stopping_ || it == entries_.end()) {
    Release(ctx);
    return MaybeFinishShutdown();
  }
  using K = MxAnswer::Kind;
  if (a.kind == K::kHosts) {
    for (const MxTarget& t : a.targets) ctx->targets.push_back(RelayTarget{t.address, cfg_.mx_port, t.host});
    return ReadAndLaunch(ctx);
  }
  Release(ctx);
  Entry* e = it->second.get();
  e->busy = true;  // until Settle's envelope write
  switch (a.kind) {
    case K::kNullMx:  // RFC 7505 §4.2
      return ApplyLocal(e, ctx->rcpts, "556 5.1.10 " + CleanReplyText(a.error), true);
    case K::kNxDomain:
      return ApplyLocal(e, ctx->rcpts, "5.4.4 " + CleanReplyText(a.error), true);
    case K::kLoop:
      return ApplyLocal(e, ctx->rcpts, "5.4.6 " + CleanReplyText(a.error), true);
    default:
      return ApplyLocal(e, ctx->rcpts, "4.4.3 " + CleanReplyText(a.error), false);
  }
}

void RelayQueue::KeepFresh(Entry* e, std::shared_ptr<const std::string> msg) {
  if (e->fresh || fresh_bytes_ + msg->size() > cfg_.fresh_cache_bytes) return;
  fresh_bytes_ += msg->size();
  e->fresh = std::move(msg);
}

std::shared_ptr<const std::string> RelayQueue::TakeFresh(Entry* e) {
  if (e->fresh) fresh_bytes_ -= e->fresh->size();
  return std::move(e->fresh);
}

// A message's first attempt usually follows its queueing within
// milliseconds: its bytes are still in hand (KeepFresh), and taking them
// saves a pool job, which under load waits behind the intake's fsyncs.
// Later attempts, and messages past relay.fresh_cache_bytes, read the file.
void RelayQueue::ReadAndLaunch(const std::shared_ptr<AttemptCtx>& ctx) {
  if (auto it = entries_.find(ctx->id); it != entries_.end()) {
    if (std::shared_ptr<const std::string> fresh = TakeFresh(it->second.get())) {
      return OnMessageRead(ctx, std::move(fresh), Status::Ok());
    }
  }
  auto msg = std::make_shared<std::string>();
  auto status = std::make_shared<Status>();
  QueueFiles files = files_;
  uint64_t max = config_.smtp.max_message_size * 2 + 65536;  // stored form plus trace headers
  const std::string id = ctx->id;
  StartJob([files, id, msg, status, max] { *status = ReadQueuedMessage(files, id, max, msg.get()); },
           [this, ctx, msg, status] { OnMessageRead(ctx, msg, *status); });
}

void RelayQueue::OnMessageRead(const std::shared_ptr<AttemptCtx>& ctx, std::shared_ptr<const std::string> msg,
                               const Status& status) {
  if (stopping_ || !entries_.count(ctx->id)) {
    Release(ctx);
    return Schedule(0);
  }
  if (!status.ok()) {  // deferred like any failure: no retry loop on a bad file
    log_->Error(ctx->id, "relay: cannot read the queued message: {}", status.message());
    Release(ctx);
    return ApplyLocal(entries_.at(ctx->id).get(), ctx->rcpts,
                      "4.3.0 cannot read the queued message: " + status.message(), false);
  }
  size_t hops = CountReceivedHeaders(*msg);
  if (hops > cfg_.max_received_headers) {  // a loop: never forward it again
    Release(ctx);
    return ApplyLocal(entries_.at(ctx->id).get(), ctx->rcpts,
                      fmt::format("554 5.4.6 Too many hops: {} Received headers (more than {}), mail loop?", hops,
                                  cfg_.max_received_headers),
                      true);
  }
  ctx->message = std::move(msg);
  Launch(ctx);
}

void RelayQueue::Launch(const std::shared_ptr<AttemptCtx>& ctx) {
  Entry* e = entries_.at(ctx->id).get();
  if (e->deleting) {  // deleted while its route or message was looked up
    Release(ctx);
    e->busy = true;
    return Persist(ctx->id);
  }
  std::vector<std::string> addresses;
  for (size_t i : ctx->rcpts) addresses.push_back(e->env.recipients[i].address);
  const RelayTarget& target = ctx->targets[ctx->next];
  ClientSettings s;
  s.helo_name = config_.hostname;
  s.peer = fmt::format("{}:{}", target.name.empty() ? target.host : target.name, target.port);
  s.greeting_ms = uint64_t{cfg_.greeting_timeout_s} * 1000;
  s.command_ms = uint64_t{cfg_.command_timeout_s} * 1000;
  s.data_init_ms = uint64_t{cfg_.data_init_timeout_s} * 1000;
  s.data_block_ms = uint64_t{cfg_.data_block_timeout_s} * 1000;
  s.data_term_ms = uint64_t{cfg_.data_term_timeout_s} * 1000;
  s.max_reply_line = cfg_.max_reply_line_length;
  s.max_reply_lines = cfg_.max_reply_lines;
  s.pipelining = cfg_.pipelining;
  RelayAttempt::Done done = [this, ctx](RelayAttempt& att) { OnAttemptDone(ctx, att); };
  RelayAttempt* a = ctx->lease ? ctx->lease->Give(e->env.sender, addresses, ctx->message, done) : nullptr;
  if (!a) {
    a = RelayAttempt::Start(loop_, target, std::move(s), uint64_t{cfg_.connect_timeout_s} * 1000, e->env.sender,
                            std::move(addresses), ctx->message, std::move(done), ReuseFor(ctx->key));
  }
  ctx->live = a;
  attempts_.push_back(a);
}

void RelayQueue::OnAttemptDone(const std::shared_ptr<AttemptCtx>& ctx, RelayAttempt& attempt) {
  attempts_.erase(std::remove(attempts_.begin(), attempts_.end(), &attempt), attempts_.end());
  ctx->live = nullptr;
  const std::vector<RcptOutcome>& outcomes = attempt.client().outcomes();
  auto it = entries_.find(ctx->id);
  // The connection never came up: the next address (a less preferred MX)
  // is tried at once, in the same attempt.
  bool no_connect = std::all_of(outcomes.begin(), outcomes.end(), [](const RcptOutcome& o) {
    return o.reply.code == 0 && o.reply.enhanced == "4.4.1";
  });
  if (no_connect && !stopping_ && it != entries_.end() && ctx->next + 1 < ctx->targets.size()) {
    log_->Info(ctx->id, "{}: trying the next address", LogSafe(outcomes.empty() ? "" : outcomes[0].reply.text));
    ++ctx->next;
    return Launch(ctx);
  }
  Release(ctx);
  if (it == entries_.end()) return MaybeFinishShutdown();
  Entry* e = it->second.get();
  e->busy = true;  // until Settle's envelope write
  if (e->deleting) return Persist(ctx->id);  // aborted for a delete: nothing to record
  const int64_t now = Now();
  const RelayTarget& target = ctx->targets[ctx->next];
  const std::string host = target.name.empty() ? target.host : target.name;
  std::vector<size_t> failed;
  for (size_t k = 0; k < ctx->rcpts.size() && k < outcomes.size(); ++k) {
    QueueRecipient& r = e->env.recipients[ctx->rcpts[k]];
    const ClientReply& reply = outcomes[k].reply;
    // Cut short by our own shutdown: not an attempt, nothing to record.
    if (stopping_ && reply.code == 0) continue;
    ++r.attempts;
    r.last_attempt = now;
    r.remote_mta = reply.code != 0 ? host : "";
    r.last_reply = CleanReplyText(StoredReply(reply));
    int cls = reply.code / 100;
    if (cls == 2) {
      r.state = RcptState::kSent;
      LogResult(e->env, r, attempt.relay_desc(), "sent");
    } else if (cls == 5) {
      failed.push_back(ctx->rcpts[k]);
      LogResult(e->env, r, attempt.relay_desc(), "bounced");
    } else if (!stopping_ && Expired(backoff_, e->env.arrival, now)) {
      failed.push_back(ctx->rcpts[k]);
      LogResult(e->env, r, attempt.relay_desc(), "expired");
    } else {
      r.next_try = NextRetry(backoff_, e->env.arrival, now);
      LogResult(e->env, r, attempt.relay_desc(), "deferred");
    }
  }
  Settle(ctx->id, std::move(failed));
}

void RelayQueue::ApplyLocal(Entry* e, const std::vector<size_t>& rcpts, const std::string& reason, bool permanent) {
  e->busy = true;
  TakeFresh(e);  // no attempt now: the next one, minutes away, reads the file
  const int64_t now = Now();
  std::vector<size_t> failed;
  for (size_t i : rcpts) {
    QueueRecipient& r = e->env.recipients[i];
    ++r.attempts;
    r.last_attempt = now;
    r.remote_mta.clear();
    r.last_reply = CleanReplyText(reason);
    if (permanent) {
      failed.push_back(i);
      LogResult(e->env, r, "none", "bounced");
    } else if (Expired(backoff_, e->env.arrival, now)) {
      failed.push_back(i);
      LogResult(e->env, r, "none", "expired");
    } else {
      r.next_try = NextRetry(backoff_, e->env.arrival, now);
      LogResult(e->env, r, "none", "deferred");
    }
  }
  Settle(e->env.id, std::move(failed));
}

}  // namespace mailnest
