#include "relay/relay_queue.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <ctime>

#include "base/ascii.h"
#include "base/cidr.h"
#include "relay/dsn.h"
#include "relay/relay_attempt.h"
#include "store/maildir_name.h"
#include "uv/pool_job.h"

namespace mailnest {

namespace {

std::string DomainOf(const std::string& address) {
  size_t at = address.rfind('@');
  return at == std::string::npos ? std::string() : AsciiLower(address.substr(at + 1));
}

int64_t Now() { return static_cast<int64_t>(time(nullptr)); }

}  // namespace

RelayQueue::RelayQueue(uv_loop_t* loop, const Config& config, Logger* log, StoreOptions store)
    : loop_(loop), config_(config), cfg_(config.relay), log_(log), store_(std::move(store)) {
  files_.dir = cfg_.queue_dir.empty() ? config.mail_root + "/.queue" : cfg_.queue_dir;
  files_.fsync = config.store.fsync;
  // Beside the queue directory, not in it: the queue directory holds queue files only.
  std::string spare = files_.dir;
  while (spare.size() > 1 && spare.back() == '/') spare.pop_back();
  inode_pool_ = std::make_unique<QueueInodePool>(DefaultFsEnv(), spare + ".spare", 1024);
  files_.env = inode_pool_.get();
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
  if (Status p = inode_pool_->Init(); !p.ok()) log_->Error("", "relay queue: no inode reuse: {}", p.message());
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

void RelayQueue::LogResult(const QueueEnvelope& env, const QueueRecipient& r, std::string_view relay,
                           std::string_view status) {
  // Postfix's shape; the reply text is cleaned, bodies never appear.
  log_->Info(env.id, "to=<{}>, relay={}, delay={}, dsn={}, status={} ({})", LogSafe(r.address), relay,
             std::max<int64_t>(0, r.last_attempt - env.arrival), StatusOfReply(r.last_reply), status,
             LogSafe(r.last_reply, 512));
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
