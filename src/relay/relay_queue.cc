#include "relay/relay_queue.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <ctime>

#include <unistd.h>

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

// Envelopes read per pool job at start: big enough that 100,000 load in a
// few seconds, small enough that the loop serves between batches.
constexpr size_t kLoadBatch = 2000;
constexpr size_t kLoadJobs = 3;

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
  if (GlobalQueueHooks().port == this) GlobalQueueHooks().port = nullptr;
  if (watch_) {
    watch_->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&watch_->handle),
             [](uv_handle_t* h) { delete static_cast<WatchBox*>(h->data); });
  }
  if (lock_fd_ >= 0) ::close(lock_fd_);
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
  if (s.ok()) s = LockQueue(files_, &lock_fd_);
  if (!s.ok()) return Status::IoError(fmt::format("relay queue {}: {}", files_.dir, s.message()));
  if (Status p = inode_pool_->Init(); !p.ok()) log_->Error("", "relay queue: no inode reuse: {}", p.message());
  return Status::Ok();
}

// The load runs as pool jobs: one scan (names, debris), then batches of
// envelopes (LoadMore), each merged on the loop as it comes, so the loop
// never waits on the disk and memory grows only by what is kept.
void RelayQueue::Start() {
  auto load = std::make_shared<LoadState>();
  load->started_ms = static_cast<int64_t>(uv_now(loop_));
  auto status = std::make_shared<Status>();
  QueueFiles files = files_;
  std::string own = fmt::format("P{}Q", static_cast<long>(::getpid()));
  const int64_t since = Now() - 1;
  StartJob([files, load, status, own, since] { *status = ScanQueue(files, own, since, &load->ids); },
           [this, load, status] {
             if (!status->ok()) log_->Error("", "relay queue {}: {}", files_.dir, status->message());
             next_seq_ = std::max<uint64_t>(next_seq_, load->ids.size());  // the loaded keep their list order
             LoadMore(load);
           });
  WatchControl();
  GlobalQueueHooks().port = this;
}

// Up to kLoadJobs batches are read at once (the thread pool has four
// threads; on a busy machine each thread is a share of the CPUs), each
// merged on the loop as it comes.
void RelayQueue::LoadMore(const std::shared_ptr<LoadState>& load) {
  if (stopping_) return;
  while (load->in_flight < kLoadJobs && load->next < load->ids.size()) {
    const size_t from = load->next;
    const size_t to = std::min(load->ids.size(), from + kLoadBatch);
    load->next = to;
    ++load->in_flight;
    auto loaded = std::make_shared<std::vector<QueueEnvelope>>();
    auto problems = std::make_shared<std::vector<std::string>>();
    QueueFiles files = files_;
    StartJob([files, load, from, to, loaded, problems] { LoadEnvelopes(files, load->ids, from, to, loaded.get(), problems.get()); },
             [this, load, loaded, problems, from] {
               --load->in_flight;
               for (const std::string& p : *problems) log_->Error("", "relay queue: {}", p);
               uint64_t seq = from;
               for (QueueEnvelope& e : *loaded) Adopt(std::move(e), seq++);
               Schedule(0);  // what is due goes while the rest loads
               LoadMore(load);
             });
  }
  if (load->in_flight == 0 && load->next >= load->ids.size() && !loaded_) {
    loaded_ = true;
    log_->Info("", "relay: {} queued messages in {} (loaded in {} ms)", entries_.size(), files_.dir,
               static_cast<int64_t>(uv_now(loop_)) - load->started_ms);
    load->ids = {};
    ScanControl();  // requests made while no instance ran, or during the load
    Schedule(0);
  }
}

RelayQueue::Entry* RelayQueue::Adopt(QueueEnvelope env, uint64_t seq) {
  // Queued by this run meanwhile: already known.
  if (auto known = entries_.find(env.id); known != entries_.end()) return known->second.get();
  env.recipients.shrink_to_fit();
  auto entry = std::make_unique<Entry>();
  entry->env = std::move(env);
  entry->seq = seq == UINT64_MAX ? next_seq_++ : seq;
  Entry* e = entry.get();
  entries_.emplace(std::string_view(e->env.id), std::move(entry));
  Reindex(e);
  return e;
}

void RelayQueue::Forget(EntryMap::iterator it) {
  Unindex(it->second.get());
  TakeFresh(it->second.get());
  entries_.erase(it);
}

void RelayQueue::Unindex(Entry* e) { due_.Remove(e); }

void RelayQueue::Reindex(Entry* e) {
  Unindex(e);
  if (e->busy || e->deleting) return;
  int64_t due = INT64_MAX;
  for (const QueueRecipient& r : e->env.recipients) {
    if (r.state == RcptState::kQueued) due = std::min(due, r.next_try);
  }
  if (due == INT64_MAX) return;
  due_.Put(e, due);
}

std::string RelayQueue::NextForDestination(const std::string& key) {
  auto w = waiting_.find(key);
  while (w != waiting_.end() && !w->second.empty()) {
    std::string id = std::move(w->second.front());
    w->second.pop_front();
    auto it = entries_.find(id);
    if (it != entries_.end() && !it->second->busy && !it->second->deleting) {
      if (w->second.empty()) waiting_.erase(w);
      return id;
    }
  }
  if (w != waiting_.end()) waiting_.erase(w);
  return "";
}

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
      [this, env, msg, status, done = std::move(done)] {
        if (status->ok()) {
          log_->Info(env->id, "from=<{}>, size={}, nrcpt={} (queue active)", LogSafe(env->sender), env->size,
                     env->recipients.size());
          KeepFresh(Adopt(*env), msg);
          Notify(QueueEventKind::kNew, *env, nullptr);
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

// One pass: start what is due (the front of due_) while the total
// connection limit allows; sleep until the next due time otherwise. A due
// message whose destination is full waits in waiting_[key], taken again
// when an attempt there ends (Release). Finished attempts and jobs call
// Schedule(0), so the cost of a pass is what it starts, not the queue.
void RelayQueue::Kick() {
  retired_.clear();
  if (stopping_) return;
  const int64_t now = Now();
  while (active_ < cfg_.max_connections) {
    Entry* e = due_.PopDue(now);  // entries leave due_ before they are freed
    if (!e) break;
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
    bool started = false;
    for (auto& [key, g] : groups) {
      auto busy = per_dest_.find(key);
      if (busy != per_dest_.end() && busy->second >= cfg_.max_per_destination) continue;
      StartAttempt(e, g.first, std::move(g.second));
      started = true;
      break;
    }
    if (!started && !groups.empty()) waiting_[groups.begin()->first].push_back(e->env.id);
  }
  if (auto next = due_.NextDue(); next && *next > now) Schedule(static_cast<uint64_t>(*next - now) * 1000);
}

void RelayQueue::LogResult(const QueueEnvelope& env, const QueueRecipient& r, std::string_view relay,
                           std::string_view status) {
  // Postfix's shape; the reply text is cleaned, bodies never appear.
  log_->Info(env.id, "to=<{}>, relay={}, delay={}, dsn={}, status={} ({})", LogSafe(r.address), relay,
             std::max<int64_t>(0, r.last_attempt - env.arrival), StatusOfReply(r.last_reply), status,
             LogSafe(r.last_reply, 512));
  Notify(status == "sent" ? QueueEventKind::kDelivered
         : status == "deferred" ? QueueEventKind::kDeferred
                                : QueueEventKind::kBounced,
         env, &r);
}

void RelayQueue::Persist(const std::string& id) {
  Entry* e = entries_.at(id).get();
  if (e->deleting) return FinishDelete(id);
  bool finished = std::all_of(e->env.recipients.begin(), e->env.recipients.end(),
                              [](const QueueRecipient& r) { return r.state != RcptState::kQueued; });
  auto status = std::make_shared<Status>();
  QueueFiles files = files_;
  if (finished) {
    StartJob([files, id, status] { *status = RemoveQueued(files, id); },
             [this, id, status] {
               if (!status->ok()) log_->Error(id, "relay queue remove failed: {}", status->message());
               log_->Info(id, "removed");
               auto it = entries_.find(id);
               if (it != entries_.end()) Forget(it);
               Schedule(0);
             });
    return;
  }
  auto env = std::make_shared<QueueEnvelope>(e->env);
  StartJob([files, env, status] { *status = RewriteEnvelope(files, *env); },
           [this, id, status] {
             if (!status->ok()) log_->Error(id, "relay queue update failed: {}", status->message());
             auto it = entries_.find(id);
             if (it != entries_.end()) {
               it->second->busy = false;
               if (it->second->deleting) return FinishDelete(id);
               Reindex(it->second.get());
             }
             Schedule(0);
           });
}

void RelayQueue::Shutdown(std::function<void()> done) {
  if (stopping_) return;
  stopping_ = true;
  if (GlobalQueueHooks().port == this) GlobalQueueHooks().port = nullptr;
  shutdown_done_ = std::move(done);
  if (timer_) {
    timer_->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&timer_->timer),
             [](uv_handle_t* h) { delete static_cast<TimerBox*>(h->data); });
    timer_ = nullptr;
  }
  if (watch_) {
    watch_->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&watch_->handle),
             [](uv_handle_t* h) { delete static_cast<WatchBox*>(h->data); });
    watch_ = nullptr;
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
