// The store-and-forward relay (docs/RELAY.md): policy, the durable queue,
// the scheduler that hands due recipients to RelayAttempts, retries on
// Postfix's schedule, and bounces.
//
// Threads: every method runs on the loop thread. Queue files are written
// and read by thread-pool jobs (relay/queue_store.h); Load() is the one
// blocking call, made at start before the loop runs (like the journal's
// recovery).
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

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/config.h"
#include "base/log.h"
#include "base/status.h"
#include "relay/backoff.h"
#include "relay/mx_resolver.h"
#include "relay/relay_attempt.h"
#include "relay/queue_inode_pool.h"
#include "relay/queue_record.h"
#include "relay/queue_store.h"
#include "store/maildir_writer.h"

namespace mailnest {

class RelayQueue {
 public:
  RelayQueue(uv_loop_t* loop, const Config& config, Logger* log, StoreOptions store);
  ~RelayQueue();
  RelayQueue(const RelayQueue&) = delete;
  RelayQueue& operator=(const RelayQueue&) = delete;

  // Blocking: makes the queue directory and reads what a previous run left.
  Status Load();
  // Arms the scheduler (call once the loop is about to run).
  void Start();

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
  struct Entry {
    QueueEnvelope env;
    bool busy = false;  // an attempt, a bounce or a disk job is running
  };
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
    std::shared_ptr<ConnectionLease> lease;  // set: a session waits for this message (relay_reuse.cc)
  };
  struct TimerBox {
    uv_timer_t timer;
    RelayQueue* owner;
  };

  Route RouteFor(const std::string& recipient) const;
  void Schedule(uint64_t delay_ms);
  void Kick();
  void StartAttempt(Entry* e, const Route& route, std::vector<size_t> rcpts);
  void OnMxAnswer(const std::shared_ptr<AttemptCtx>& ctx, MxAnswer answer);
  void ReadAndLaunch(const std::shared_ptr<AttemptCtx>& ctx);
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
  void SendBounce(Entry* e, const std::vector<size_t>& failed, std::function<void(Status)> done);
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
  std::map<std::string, std::unique_ptr<Entry>> entries_;
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
