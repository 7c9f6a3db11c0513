// RelayQueue's bounces (docs/RELAY.md "Bounces"): recipients that failed
// for good are reported to the sender in one RFC 3464 report (relay/dsn.h),
// delivered into a local sender's mailbox or queued with MAIL FROM:<> for a
// remote one, before their envelope says "bounced". A bounce is never
// bounced.
#include <fmt/format.h>

#include <algorithm>
#include <ctime>

#include "relay/dsn.h"
#include "relay/relay_queue.h"

namespace mailnest {

namespace {

std::string DomainOf(const std::string& address) {
  size_t at = address.rfind('@');
  std::string d = at == std::string::npos ? std::string() : address.substr(at + 1);
  for (char& c : d) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return d;
}

int64_t Now() { return static_cast<int64_t>(time(nullptr)); }

}  // namespace

void RelayQueue::Settle(const std::string& id, std::vector<size_t> failed) {
  Entry* e = entries_.at(id).get();
  if (e->deleting) return Persist(id);  // a deleted message is not bounced
  if (failed.empty()) return WarnIfDelayed(id, [this, id] { Persist(id); });
  auto mark = [this, id, failed](bool bounced) {
    auto it = entries_.find(id);
    if (it == entries_.end()) return;
    for (size_t i : failed) {
      QueueRecipient& r = it->second->env.recipients[i];
      if (bounced) {
        r.state = RcptState::kBounced;
      } else {  // the bounce could not be made: try the recipient again later
        r.next_try = NextRetry(backoff_, it->second->env.arrival, Now());
      }
    }
    Persist(id);
  };
  if (stopping_) return Persist(id);  // failed recipients stay queued; the next run retries them
  if (e->env.sender.empty()) {
    log_->Info(id, "no bounce for {} recipient(s): the sender is <> (a bounce is never bounced)", failed.size());
    return mark(true);
  }
  SendBounce(e, failed, [this, id, mark](Status s) {
    if (!s.ok()) log_->Error(id, "bounce not delivered: {}", s.message());
    mark(s.ok());
  });
}

// relay.delay_warning_s: once the message has waited that long with
// recipients still deferred, one delay DSN (Action: delayed) goes to the
// sender, as a bounce would; "warned" in the envelope keeps it to one, also
// across restarts. A bounce (sender <>) never gets one.
void RelayQueue::WarnIfDelayed(const std::string& id, std::function<void()> next) {
  Entry* e = entries_.at(id).get();
  const int64_t now = Now();
  if (cfg_.delay_warning_s == 0 || e->env.warned != 0 || e->env.sender.empty() || stopping_ ||
      now - e->env.arrival < int64_t{cfg_.delay_warning_s}) {
    return next();
  }
  std::vector<size_t> deferred;
  for (size_t i = 0; i < e->env.recipients.size(); ++i) {
    const QueueRecipient& r = e->env.recipients[i];
    if (r.state == RcptState::kQueued && r.attempts > 0) deferred.push_back(i);
  }
  if (deferred.empty()) return next();
  SendBounce(e, deferred, [this, id, next = std::move(next)](Status s) {
    auto it = entries_.find(id);
    if (s.ok() && it != entries_.end()) it->second->env.warned = Now();  // persisted by next()
    if (!s.ok()) log_->Error(id, "delay warning not delivered: {}", s.message());
    next();
  }, true);
}

void RelayQueue::SendBounce(Entry* e, const std::vector<size_t>& failed, std::function<void(Status)> done,
                            bool delayed) {
  // The original message, for its headers: read off the loop.
  auto msg = std::make_shared<std::string>();
  auto status = std::make_shared<Status>();
  QueueFiles files = files_;
  const std::string id = e->env.id;
  uint64_t max = config_.smtp.max_message_size * 2 + 65536;
  StartJob([files, id, msg, status, max] { *status = ReadQueuedMessage(files, id, max, msg.get()); },
           [this, id, failed, msg, status, delayed, done = std::move(done)]() mutable {
             auto it = entries_.find(id);
             if (it == entries_.end()) return done(Status::NotFound("message left the queue"));
             const QueueEnvelope& env = it->second->env;
             DsnInput in;
             in.reporting_mta = config_.hostname;
             in.queue_id = id;
             in.sender = env.sender;
             in.arrival = env.arrival;
             in.now = Now();
             in.delayed = delayed;
             in.retry_until = env.arrival + int64_t{cfg_.max_queue_lifetime_s};
             in.original = status->ok() ? std::string_view(*msg) : std::string_view();
             for (size_t i : failed) {
               const QueueRecipient& r = env.recipients[i];
               in.recipients.push_back(DsnRecipient{r.address, r.remote_mta, r.last_reply, r.last_attempt});
             }
             std::string dsn = ComposeDsn(in);
             const std::string bounce_id = NewId();
             log_->Info(id, "sender {} notification: {}", delayed ? "delay" : "non-delivery", bounce_id);
             if (config_.local_domains.count(DomainOf(env.sender))) {
               DeliverLocally(env.sender, std::move(dsn), std::move(done));
             } else {
               Enqueue(bounce_id, "", {env.sender}, std::move(dsn), std::move(done));
             }
           });
}

void RelayQueue::DeliverLocally(const std::string& recipient, std::string message, std::function<void(Status)> done) {
  size_t at = recipient.rfind('@');
  std::vector<std::string> boxes = config_.ResolveLocal(recipient.substr(0, at));
  bool ok = !boxes.empty() && std::all_of(boxes.begin(), boxes.end(), IsValidMailboxName);
  if (!ok) {
    return done(Status::NotFound(fmt::format("no local mailbox for <{}>", LogSafe(recipient))));
  }
  auto d = std::make_unique<MaildirDelivery>(loop_, store_);
  d->Begin(boxes);
  d->AppendHeader("Return-Path: <>\n");
  d->Append(message.data(), message.size());
  MaildirDelivery* raw = d.get();
  deliveries_.push_back(std::move(d));
  ++jobs_;
  raw->Commit([this, raw, recipient, done = std::move(done)](Status s, const std::string& file_id) {
    --jobs_;
    auto it = std::find_if(deliveries_.begin(), deliveries_.end(), [raw](const auto& p) { return p.get() == raw; });
    if (it != deliveries_.end()) {  // freed on the next Kick, never inside its own callback
      retired_.push_back(std::move(*it));
      deliveries_.erase(it);
    }
    if (s.ok()) log_->Info("", "bounce delivered to <{}> as {}", LogSafe(recipient), file_id);
    done(s);
    MaybeFinishShutdown();
  });
}

}  // namespace mailnest
