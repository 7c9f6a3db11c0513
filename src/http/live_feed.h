// What makes the HTTP side live: SMTP's commits go straight into the
// message index (base/live_hooks.h, no inotify round trip and no syscall on
// the intake path), and every index change becomes a message.new or
// message.deleted event on the hub. Loop-thread only.
//
// Before the first scan is in, nothing is announced (a start over 100,000
// messages would otherwise flood the ring); from then on every message
// with a seq past the last announced one is.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "base/live_hooks.h"

namespace mailnest {

class EventHub;
class IndexWatcher;
class MessageIndex;
struct IndexedMessage;

// A message as GET /api/v1/messages lists it (the same fields), as JSON text.
std::string MessageSummaryJson(const IndexedMessage& m);

class LiveFeed : public DeliveryObserver {
 public:
  // on_changed: the index gained or lost messages (wakes /api/v1/wait).
  LiveFeed(MessageIndex* index, IndexWatcher* watcher, EventHub* hub, std::function<void()> on_changed);

  void OnDelivered(const DeliveredMessage& m) override;
  // The watcher applied a batch of disk changes.
  void OnIndexChanged();
  // The first scan is in the index.
  void OnReady();

  // Extra work per delivery (the stats' top senders and recipients).
  void set_on_delivered(std::function<void(const DeliveredMessage&)> cb) { on_delivered_ = std::move(cb); }

 private:
  void AnnounceNew();

  MessageIndex* index_;
  IndexWatcher* watcher_;
  EventHub* hub_;
  std::function<void()> on_changed_;
  std::function<void(const DeliveredMessage&)> on_delivered_;
  uint64_t announced_seq_ = 0;
  bool ready_ = false;
};

}  // namespace mailnest
