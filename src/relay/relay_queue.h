// The store-and-forward relay (docs/RELAY.md): policy, the durable queue,
// the scheduler that hands due recipients to RelayAttempts, retries on
// Postfix's schedule, and bounces.
//
// Threads: every method runs on the loop thread. Queue files are written
// and read by thread-pool jobs (relay/queue_store.h). Load() only makes the
// directory and takes its lock; Start() reads what a previous run left in
// batches on the thread pool while the servers already run (a message
// queued meanwhile is scheduled as usual).
//
// Scheduling (docs/RELAY.md "Scheduler"): an ordered index (DueIndex, by
// next try, then arrival) holds every idle message that waits for a retry, so a pass looks only at
// what is due, never the whole queue; a due message whose destination is at
// relay.max_per_destination waits in that destination's list and is taken
// when one of its attempts ends (NextForDestination).
//
// Control (relay/queue_control.h): flush, retry and delete requests come
// as files in <queue_dir>/ctl/, noticed through uv_fs_event.
//
// Durability: Enqueue's done(Ok) runs only once the message and its
// envelope are fsynced and renamed into place (SMTP says 250 after it).
// Every state change rewrites the envelope before the next attempt; a
// crash between a remote 250 and that rewrite sends the message again
// (a duplicate, never a loss), as with any MTA.
//
// Shutdown(done): stops the timer, aborts the attempts under way (their
// recipients stay queued), waits for pool jobs, then calls done.
#pragma once

#include <uv.h>

#include <climits>
#include <cstdint>
#include <functional>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/config.h"
#include "base/log.h"
#include "base/queue_hooks.h"
#include "base/status.h"
#include "relay/backoff.h"
#include "relay/due_index.h"
#include "relay/mx_resolver.h"
#include "relay/relay_attempt.h"
#include "relay/queue_control.h"
#include "relay/queue_inode_pool.h"
#include "relay/queue_record.h"
#include "relay/queue_store.h"
#include "store/maildir_writer.h"

namespace mailnest {

class RelayQueue : public QueuePort {
 public:
  RelayQueue(uv_loop_t* loop, const Config& config, Logger* log, StoreOptions store);
  ~RelayQueue();
  RelayQueue(const RelayQueue&) = delete;
  RelayQueue& operator=(const RelayQueue&) = delete;

  // Blocking (once, at start): makes the queue directory and takes its
  // lock (Busy: another instance runs on it).
  Status Load();
  // Reads the queue in batches off the loop, then schedules; watches ctl/.
  // Logs "relay: N queued messages in DIR (loaded in T ms)" when done.
  void Start();
  bool loaded() const { return loaded_; }

  // Control, on the loop (also what ctl/ requests do). False: not queued.
  size_t Flush();  // how many messages became due
  bool Retry(const std::string& id);
  // The message leaves the queue undelivered: an attempt under way is
  // aborted first, and no later write can bring the envelope back.
  bool Delete(const std::string& id, std::function<void()> done = nullptr);

  // The next message due for a destination key ("host:port" or
  // "mx:<domain>") that waits for a free connection there, taken out of
  // the wait list; "" when none. A hook for connection reuse: a session
  // that has finished one message may ask for the next.
  std::string NextForDestination(const std::string& key);

  // QueuePort (base/queue_hooks.h): what the HTTP API sees. Installed by
  // Start(), removed by Shutdown().
  size_t QueueSize() const override { return entries_.size(); }
  bool QueueLoaded() const override { return loaded_; }
  void ListQueue(std::string_view after, size_t limit, std::vector<QueueMessageView>* out, bool* more) const override;
  bool FindQueued(std::string_view id, QueueMessageView* out) const override;
  bool RetryQueued(const std::string& id) override { return Retry(id); }
  size_t FlushQueue() override { return Flush(); }
  bool DeleteQueued(const std::string& id, std::function<void()> done) override { return Delete(id, std::move(done)); }

  // The policy: may a client at this address relay (relay.enabled and
  // relay.networks)?
  bool MayRelay(std::string_view peer_ip) const;

  // A new queue id (also used in the Received header).
  static std::string NewId();
  // Queues a message (stored form: LF line ends, trace headers first) for
  // non-local recipients. done runs later on the loop.
  void Enqueue(std::string id, std::string sender, std::vector<std::string> recipients, std::string message,
               std::function<void(Status)> done);

  void Shutdown(std::function<void()> done);

  size_t size() const { return entries_.size(); }
  const std::string& dir() const { return files_.dir; }

 private:
  struct AttemptCtx;
  static constexpr int64_t kNotIndexed = INT64_MIN;  // DueIndex's
  struct Entry {
    QueueEnvelope env;
    bool busy = false;      // an attempt, a bounce or a disk job is running
    bool deleting = false;  // Delete() asked: removed as soon as nothing runs
    int64_t due = kNotIndexed;  // its time in due_, while indexed
    uint64_t seq = 0;           // arrival order among equal due times
    std::weak_ptr<AttemptCtx> attempt;
    std::vector<std::function<void()>> on_deleted;
    // The message as queued, until its first attempt takes it
    // (relay.fresh_cache_bytes; counted in fresh_bytes_).
    std::shared_ptr<const std::string> fresh;
  };
  using EntryMap = std::map<std::string_view, std::unique_ptr<Entry>, std::less<>>;
  struct Route {
    bool found = false;
    bool mx = false;     // look up the domain's MX (no transport, no smarthost)
    std::string domain;  // for mx
    std::string host;
    int port = 25;
    std::string key;  // "host:port" or "mx:<domain>": the concurrency unit
  };
  // One attempt of one message to one destination, across its candidate
  // addresses (an MX list): a failed connect moves on to the next.
  struct AttemptCtx {
    std::string id;
    std::string key;
    std::vector<size_t> rcpts;
    std::vector<RelayTarget> targets;
    size_t next = 0;
    std::shared_ptr<const std::string> message;
    RelayAttempt* live = nullptr;  // the session under way (Delete aborts it)
    std::shared_ptr<ConnectionLease> lease;  // set: a session waits for this message (relay_reuse.cc)
  };
  struct TimerBox {
    uv_timer_t timer;
    RelayQueue* owner;
  };

  struct WatchBox {
    uv_fs_event_t handle;
    RelayQueue* owner;
  };

  Route RouteFor(const std::string& recipient) const;
  // Puts a non-busy entry in due_ at its earliest queued next_try (or takes
  // it out: busy, deleting, nothing queued). Idempotent.
  void Reindex(Entry* e);
  void Unindex(Entry* e);
  struct LoadState {
    std::vector<std::string> ids;  // ScanQueue's, in id order
    size_t next = 0;               // first id not yet handed to a job
    size_t in_flight = 0;
    int64_t started_ms = 0;
  };
  void LoadMore(const std::shared_ptr<LoadState>& load);
  // seq: its place in the arrival order (UINT64_MAX: after everything).
  // Returns the entry (the one already known under that id, if any).
  Entry* Adopt(QueueEnvelope env, uint64_t seq = UINT64_MAX);
  // The entry leaves memory: out of the due index, its fresh bytes
  // uncounted, erased. Every erase of entries_ goes through here.
  void Forget(EntryMap::iterator it);
  void WatchControl();
  void ScanControl();
  void Apply(const QueueRequest& r);
  // Deleting and idle: remove the files, then forget the entry.
  void FinishDelete(const std::string& id);
  void Notify(QueueEventKind kind, const QueueEnvelope& env, const QueueRecipient* r);
  static QueueMessageView View(const Entry& e);
  void Schedule(uint64_t delay_ms);
  void Kick();
  void StartAttempt(Entry* e, const Route& route, std::vector<size_t> rcpts);
  void OnMxAnswer(const std::shared_ptr<AttemptCtx>& ctx, MxAnswer answer);
  void ReadAndLaunch(const std::shared_ptr<AttemptCtx>& ctx);
  // The message is in hand (or could not be read): checks, then Launch.
  void OnMessageRead(const std::shared_ptr<AttemptCtx>& ctx, std::shared_ptr<const std::string> msg, const Status& status);
  // relay.fresh_cache_bytes: keep a just-queued message's bytes, take them, forget them.
  void KeepFresh(Entry* e, std::shared_ptr<const std::string> msg);
  std::shared_ptr<const std::string> TakeFresh(Entry* e);
  void Launch(const std::shared_ptr<AttemptCtx>& ctx);
  // Connection reuse (relay_reuse.cc): the next due message for a session
  // that finished one; see RelayAttempt::NextFor.
  bool TakeNextFor(const std::string& key, const RelayTarget& target, std::shared_ptr<ConnectionLease> lease);
  RelayAttempt::Reuse ReuseFor(const std::string& key);
  void OnAttemptDone(const std::shared_ptr<AttemptCtx>& ctx, RelayAttempt& attempt);
  // The attempt ends without a session: the slot is freed, busy cleared.
  void Release(const std::shared_ptr<AttemptCtx>& ctx);
  // A decision made here, not by a server: reason is "<dsn> text" (or a
  // 3-digit reply form); permanent bounces, otherwise deferred.
  void ApplyLocal(Entry* e, const std::vector<size_t>& rcpts, const std::string& reason, bool permanent);
  // After results were applied: bounce the newly failed, then persist.
  void Settle(const std::string& id, std::vector<size_t> failed);
  void Persist(const std::string& id);
  void SendBounce(Entry* e, const std::vector<size_t>& failed, std::function<void(Status)> done, bool delayed = false);
  // relay.delay_warning_s: sends the one delay DSN when it is time, then next().
  void WarnIfDelayed(const std::string& id, std::function<void()> next);
  void DeliverLocally(const std::string& recipient, std::string message, std::function<void(Status)> done);
  void StartJob(std::function<void()> work, std::function<void()> after);
  void MaybeFinishShutdown();
  void LogResult(const QueueEnvelope& env, const QueueRecipient& r, std::string_view relay, std::string_view status);

  uv_loop_t* loop_;
  const Config& config_;
  const RelayConfig& cfg_;
  Logger* log_;
  StoreOptions store_;
  QueueFiles files_;
  std::unique_ptr<QueueInodePool> inode_pool_;  // files_.env: removed files' inodes reused
  BackoffPolicy backoff_;
  // Keyed by a view of the entry's own id (no second copy of 100,000 ids).
  EntryMap entries_;
  DueIndex<Entry> due_;  // idle entries by next try, then arrival
  uint64_t next_seq_ = 0;
  uint64_t fresh_bytes_ = 0;  // octets held in Entry::fresh
  std::map<std::string, std::deque<std::string>> waiting_;   // destination key → due ids
  bool loaded_ = false;
  int lock_fd_ = -1;
  WatchBox* watch_ = nullptr;  // heap: freed in its close callback
  bool scanning_ = false;      // a ctl/ scan job is running
  bool rescan_ = false;        // another event came during it
  std::map<std::string, uint32_t> per_dest_;  // attempts under way per destination
  std::vector<RelayAttempt*> attempts_;
  uint32_t active_ = 0;
  uint32_t jobs_ = 0;                  // pool jobs and local deliveries in flight
  std::vector<std::unique_ptr<MaildirDelivery>> deliveries_;  // local bounces being committed
  std::vector<std::unique_ptr<MaildirDelivery>> retired_;     // freed on the next Kick
  TimerBox* timer_ = nullptr;          // heap: freed in its close callback
  std::unique_ptr<MxResolver> dns_;    // MX routing (c-ares)
  bool stopping_ = false;
  std::function<void()> shutdown_done_;
};

}  // namespace mailnest
