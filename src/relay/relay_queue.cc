#include "relay/relay_queue.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <ctime>

#include "base/cidr.h"
#include "relay/dsn.h"
#include "relay/hop_count.h"
#include "relay/relay_attempt.h"
#include "store/maildir_name.h"
#include "uv/pool_job.h"

namespace mailnest {

namespace {

std::string Lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string DomainOf(const std::string& address) {
  size_t at = address.rfind('@');
  return at == std::string::npos ? std::string() : Lower(address.substr(at + 1));
}

int64_t Now() { return static_cast<int64_t>(time(nullptr)); }

// The stored reply of an outcome: a server's reply as it came, or a local
// reason as "<dsn> <text>" (relay/dsn.h reads both).
std::string StoredReply(const ClientReply& r) {
  return r.code != 0 ? r.text : fmt::format("{} {}", r.enhanced.empty() ? "4.0.0" : r.enhanced, r.text);
}

}  // namespace

RelayQueue::RelayQueue(uv_loop_t* loop, const Config& config, Logger* log, StoreOptions store)
    : loop_(loop), config_(config), cfg_(config.relay), log_(log), store_(std::move(store)) {
  files_.dir = cfg_.queue_dir.empty() ? config.mail_root + "/.queue" : cfg_.queue_dir;
  files_.fsync = config.store.fsync;
  backoff_ = BackoffPolicy{cfg_.minimal_backoff_s, cfg_.maximal_backoff_s, cfg_.max_queue_lifetime_s};
  timer_ = new TimerBox{{}, this};
  uv_timer_init(loop_, &timer_->timer);
  timer_->timer.data = timer_;
}

RelayQueue::~RelayQueue() {
  if (timer_) {  // no Shutdown(): the handle outlives us until its close callback
    timer_->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_->timer),
             [](uv_handle_t* h) { delete static_cast<TimerBox*>(h->data); });
  }
}

Status RelayQueue::Load() {
  if (cfg_.dns) {
    dns_ = std::make_unique<MxResolver>(loop_, config_.hostname);
    if (Status d = dns_->Init(cfg_.dns_servers, cfg_.dns_timeout_ms); !d.ok()) return d;
  }
  Status s = EnsureQueueDir(files_);
  if (!s.ok()) return Status::IoError(fmt::format("relay queue {}: {}", files_.dir, s.message()));
  std::vector<QueueEnvelope> loaded;
  std::vector<std::string> problems;
  s = LoadQueue(files_, &loaded, &problems);
  if (!s.ok()) return Status::IoError(fmt::format("relay queue {}: {}", files_.dir, s.message()));
  for (const std::string& p : problems) log_->Error("", "relay queue: {}", p);
  for (QueueEnvelope& e : loaded) {
    auto entry = std::make_unique<Entry>();
    std::string id = e.id;
    entry->env = std::move(e);
    entries_[id] = std::move(entry);
  }
  log_->Info("", "relay: {} queued messages in {}", entries_.size(), files_.dir);
  return Status::Ok();
}

void RelayQueue::Start() { Schedule(0); }

bool RelayQueue::MayRelay(std::string_view peer_ip) const {
  return cfg_.enabled && AddressInNetworks(peer_ip, cfg_.networks);
}

std::string RelayQueue::NewId() { return MakeUniqueBase(); }

void RelayQueue::StartJob(std::function<void()> work, std::function<void()> after) {
  ++jobs_;
  QueuePoolJob(loop_, std::move(work), [this, after = std::move(after)] {
    --jobs_;
    after();
    MaybeFinishShutdown();
  });
}

void RelayQueue::Enqueue(std::string id, std::string sender, std::vector<std::string> recipients,
                         std::string message, std::function<void(Status)> done) {
  auto env = std::make_shared<QueueEnvelope>();
  env->id = std::move(id);
  env->arrival = Now();
  env->sender = std::move(sender);
  env->size = message.size();
  for (std::string& r : recipients) {
    QueueRecipient q;
    q.address = std::move(r);
    env->recipients.push_back(std::move(q));
  }
  auto msg = std::make_shared<std::string>(std::move(message));
  auto status = std::make_shared<Status>();
  bool full = entries_.size() >= cfg_.max_queued_messages;
  QueueFiles files = files_;
  StartJob(
      [files, env, msg, status, full] {
        *status = full ? Status::Busy("relay queue full (relay.max_queued_messages)") : WriteQueued(files, *env, *msg);
      },
      [this, env, status, done = std::move(done)] {
        if (status->ok()) {
          log_->Info(env->id, "from=<{}>, size={}, nrcpt={} (queue active)", LogSafe(env->sender), env->size,
                     env->recipients.size());
          auto entry = std::make_unique<Entry>();
          entry->env = *env;
          entries_[env->id] = std::move(entry);
          Schedule(0);
        } else {
          log_->Error(env->id, "relay queue write failed: {}", status->message());
        }
        done(*status);
      });
}

RelayQueue::Route RelayQueue::RouteFor(const std::string& recipient) const {
  Route r;
  std::string spec;
  auto it = cfg_.transport.find(DomainOf(recipient));
  if (it != cfg_.transport.end()) {
    spec = it->second;
  } else {
    spec = cfg_.smarthost;
  }
  if (spec.empty()) {
    if (!dns_) return r;
    r.found = r.mx = true;
    r.domain = DomainOf(recipient);
    r.key = "mx:" + r.domain;
    return r;
  }
  size_t colon = spec.rfind(':');
  r.host = spec.substr(0, colon);
  if (r.host.size() > 2 && r.host.front() == '[') r.host = r.host.substr(1, r.host.size() - 2);
  r.port = std::atoi(spec.c_str() + colon + 1);
  r.key = spec;
  r.found = true;
  return r;
}

void RelayQueue::Schedule(uint64_t delay_ms) {
  if (stopping_ || !timer_) return;
  uv_timer_start(
      &timer_->timer,
      [](uv_timer_t* t) {
        auto* box = static_cast<TimerBox*>(t->data);
        if (box->owner) box->owner->Kick();
      },
      delay_ms, 0);
}

// One pass over the queue: start what is due and allowed by the
// concurrency limits; sleep until the next retry otherwise. Finished
// attempts and jobs call Schedule(0), so a message waiting for a free
// connection is looked at again as soon as one is free.
void RelayQueue::Kick() {
  retired_.clear();
  if (stopping_) return;
  const int64_t now = Now();
  int64_t next_wake = INT64_MAX;
  std::vector<Entry*> ready;
  for (auto& [id, e] : entries_) {
    if (e->busy) continue;
    bool due = false;
    for (const QueueRecipient& r : e->env.recipients) {
      if (r.state != RcptState::kQueued) continue;
      if (r.next_try <= now) {
        due = true;
      } else {
        next_wake = std::min(next_wake, r.next_try);
      }
    }
    if (due) ready.push_back(e.get());
  }
  for (Entry* e : ready) {
    // Group the due recipients by destination; one attempt per message at
    // a time (its other destinations follow when it finishes).
    std::map<std::string, std::pair<Route, std::vector<size_t>>> groups;
    std::vector<size_t> no_route;
    for (size_t i = 0; i < e->env.recipients.size(); ++i) {
      const QueueRecipient& r = e->env.recipients[i];
      if (r.state != RcptState::kQueued || r.next_try > now) continue;
      Route route = RouteFor(r.address);
      if (!route.found) {
        no_route.push_back(i);
        continue;
      }
      auto& g = groups[route.key];
      g.first = route;
      g.second.push_back(i);
    }
    if (!no_route.empty()) {
      ApplyLocal(e, no_route, "4.4.3 no route: set relay.transport or relay.smarthost, or relay.dns", false);
      continue;
    }
    for (auto& [key, g] : groups) {
      auto busy = per_dest_.find(key);
      if (active_ >= cfg_.max_connections ||
          (busy != per_dest_.end() && busy->second >= cfg_.max_per_destination)) {
        continue;
      }
      StartAttempt(e, g.first, std::move(g.second));
      break;
    }
  }
  if (next_wake != INT64_MAX) Schedule(static_cast<uint64_t>(std::max<int64_t>(0, next_wake - now)) * 1000);
}

void RelayQueue::StartAttempt(Entry* e, const Route& route, std::vector<size_t> rcpts) {
  e->busy = true;
  ++active_;
  ++per_dest_[route.key];
  auto ctx = std::make_shared<AttemptCtx>();
  ctx->id = e->env.id;
  ctx->key = route.key;
  ctx->rcpts = std::move(rcpts);
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
  if (e != entries_.end()) e->second->busy = false;
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

void RelayQueue::ReadAndLaunch(const std::shared_ptr<AttemptCtx>& ctx) {
  auto msg = std::make_shared<std::string>();
  auto status = std::make_shared<Status>();
  QueueFiles files = files_;
  uint64_t max = config_.smtp.max_message_size * 2 + 65536;  // stored form plus trace headers
  const std::string id = ctx->id;
  StartJob([files, id, msg, status, max] { *status = ReadQueuedMessage(files, id, max, msg.get()); },
           [this, ctx, msg, status] {
             if (stopping_ || !entries_.count(ctx->id)) {
               Release(ctx);
               return Schedule(0);
             }
             if (!status->ok()) {  // deferred like any failure: no retry loop on a bad file
               log_->Error(ctx->id, "relay: cannot read the queued message: {}", status->message());
               Release(ctx);
               return ApplyLocal(entries_.at(ctx->id).get(), ctx->rcpts,
                                 "4.3.0 cannot read the queued message: " + status->message(), false);
             }
             size_t hops = CountReceivedHeaders(*msg);
             if (hops > cfg_.max_received_headers) {  // a loop: never forward it again
               Release(ctx);
               return ApplyLocal(entries_.at(ctx->id).get(), ctx->rcpts,
                                 fmt::format("554 5.4.6 Too many hops: {} Received headers (more than {}), mail loop?",
                                             hops, cfg_.max_received_headers),
                                 true);
             }
             ctx->message = msg;
             Launch(ctx);
           });
}

void RelayQueue::Launch(const std::shared_ptr<AttemptCtx>& ctx) {
  Entry* e = entries_.at(ctx->id).get();
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
  RelayAttempt* a = RelayAttempt::Start(loop_, target, std::move(s), uint64_t{cfg_.connect_timeout_s} * 1000,
                                        e->env.sender, std::move(addresses), ctx->message,
                                        [this, ctx](RelayAttempt& att) { OnAttemptDone(ctx, att); });
  attempts_.push_back(a);
}

void RelayQueue::OnAttemptDone(const std::shared_ptr<AttemptCtx>& ctx, RelayAttempt& attempt) {
  attempts_.erase(std::remove(attempts_.begin(), attempts_.end(), &attempt), attempts_.end());
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

void RelayQueue::LogResult(const QueueEnvelope& env, const QueueRecipient& r, std::string_view relay,
                           std::string_view status) {
  // Postfix's shape; the reply text is cleaned, bodies never appear.
  log_->Info(env.id, "to=<{}>, relay={}, delay={}, dsn={}, status={} ({})", LogSafe(r.address), relay,
             std::max<int64_t>(0, r.last_attempt - env.arrival), StatusOfReply(r.last_reply), status,
             LogSafe(r.last_reply, 512));
}

void RelayQueue::Settle(const std::string& id, std::vector<size_t> failed) {
  Entry* e = entries_.at(id).get();
  if (failed.empty()) return Persist(id);
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

void RelayQueue::SendBounce(Entry* e, const std::vector<size_t>& failed, std::function<void(Status)> done) {
  // The original message, for its headers: read off the loop.
  auto msg = std::make_shared<std::string>();
  auto status = std::make_shared<Status>();
  QueueFiles files = files_;
  const std::string id = e->env.id;
  uint64_t max = config_.smtp.max_message_size * 2 + 65536;
  StartJob([files, id, msg, status, max] { *status = ReadQueuedMessage(files, id, max, msg.get()); },
           [this, id, failed, msg, status, done = std::move(done)]() mutable {
             auto it = entries_.find(id);
             if (it == entries_.end()) return done(Status::NotFound("message left the queue"));
             const QueueEnvelope& env = it->second->env;
             DsnInput in;
             in.reporting_mta = config_.hostname;
             in.queue_id = id;
             in.sender = env.sender;
             in.arrival = env.arrival;
             in.now = Now();
             in.original = status->ok() ? std::string_view(*msg) : std::string_view();
             for (size_t i : failed) {
               const QueueRecipient& r = env.recipients[i];
               in.recipients.push_back(DsnRecipient{r.address, r.remote_mta, r.last_reply, r.last_attempt});
             }
             std::string dsn = ComposeDsn(in);
             const std::string bounce_id = NewId();
             log_->Info(id, "sender non-delivery notification: {}", bounce_id);
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

void RelayQueue::Persist(const std::string& id) {
  Entry* e = entries_.at(id).get();
  bool finished = std::all_of(e->env.recipients.begin(), e->env.recipients.end(),
                              [](const QueueRecipient& r) { return r.state != RcptState::kQueued; });
  auto status = std::make_shared<Status>();
  QueueFiles files = files_;
  if (finished) {
    StartJob([files, id, status] { *status = RemoveQueued(files, id); },
             [this, id, status] {
               if (!status->ok()) log_->Error(id, "relay queue remove failed: {}", status->message());
               log_->Info(id, "removed");
               entries_.erase(id);
               Schedule(0);
             });
    return;
  }
  auto env = std::make_shared<QueueEnvelope>(e->env);
  StartJob([files, env, status] { *status = RewriteEnvelope(files, *env); },
           [this, id, status] {
             if (!status->ok()) log_->Error(id, "relay queue update failed: {}", status->message());
             auto it = entries_.find(id);
             if (it != entries_.end()) it->second->busy = false;
             Schedule(0);
           });
}

void RelayQueue::Shutdown(std::function<void()> done) {
  if (stopping_) return;
  stopping_ = true;
  shutdown_done_ = std::move(done);
  if (timer_) {
    timer_->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_->timer),
             [](uv_handle_t* h) { delete static_cast<TimerBox*>(h->data); });
    timer_ = nullptr;
  }
  std::vector<RelayAttempt*> live = attempts_;
  for (RelayAttempt* a : live) a->Abort();
  if (dns_) dns_->Shutdown();  // pending MX lookups answer now (OnMxAnswer releases them)
  log_->Info("", "relay: shutting down, {} attempts under way, {} queued", live.size(), entries_.size());
  MaybeFinishShutdown();
}

void RelayQueue::MaybeFinishShutdown() {
  if (!stopping_ || !shutdown_done_ || jobs_ > 0 || active_ > 0) return;
  auto done = std::move(shutdown_done_);
  shutdown_done_ = nullptr;
  done();
}

}  // namespace mailnest
