// queue.* events (docs/HTTP_API.md "Events"): the relay queue's changes,
// told through base/queue_hooks.h, published on the event hub. Loop-thread
// only.
#pragma once

#include <nlohmann/json.hpp>

#include "base/queue_hooks.h"

namespace mailnest {

class EventHub;

// A queued message as GET /api/v1/queue lists it.
nlohmann::json QueueMessageJson(const QueueMessageView& m);

class QueueFeed : public QueueObserver {
 public:
  explicit QueueFeed(EventHub* hub) : hub_(hub) {}
  void OnQueueEvent(const QueueEvent& e) override;

 private:
  EventHub* hub_;
};

}  // namespace mailnest
