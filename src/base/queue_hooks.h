// The relay queue as the HTTP side sees it, without relay/ and http/
// depending on each other (like base/live_hooks.h for deliveries): the
// running scheduler installs a QueuePort (list, find, retry, flush, delete)
// and the HTTP service a QueueObserver (queue.* events). Null when the relay
// or the HTTP listener is off. Loop-thread only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace mailnest {

struct QueueRcptView {
  std::string address;
  std::string_view state;  // "queued", "sent", "bounced"
  uint32_t attempts = 0;
  int64_t next_try = 0;      // unix seconds; 0 = at once
  int64_t last_attempt = 0;  // unix seconds; 0 = never
  std::string remote_mta;
  std::string last_reply;
};

struct QueueMessageView {
  std::string id;
  std::string sender;  // "" = <>
  int64_t arrival = 0;
  uint64_t size = 0;
  bool active = false;    // an attempt or a write runs for it now
  bool deleting = false;  // a delete waits for that to end
  std::vector<QueueRcptView> recipients;
};

enum class QueueEventKind { kNew, kDeferred, kDelivered, kBounced, kDeleted };

struct QueueEvent {
  QueueEventKind kind;
  std::string_view id;
  std::string_view sender;
  std::string_view recipient;  // "" for kNew and kDeleted (the whole message)
  std::string_view reply;      // the last reply, cleaned; "" for kNew, kDeleted
  int64_t next_try = 0;        // kDeferred
  size_t recipients = 0;       // kNew: how many
};

class QueueObserver {
 public:
  virtual ~QueueObserver() = default;
  virtual void OnQueueEvent(const QueueEvent& e) = 0;  // must not block
};

class QueuePort {
 public:
  virtual ~QueuePort() = default;
  virtual size_t QueueSize() const = 0;
  virtual bool QueueLoaded() const = 0;
  // In id order (ids begin with the arrival second): at most limit after
  // `after` (exclusive, "" = from the start); *more when others follow.
  virtual void ListQueue(std::string_view after, size_t limit, std::vector<QueueMessageView>* out,
                         bool* more) const = 0;
  virtual bool FindQueued(std::string_view id, QueueMessageView* out) const = 0;
  virtual bool RetryQueued(const std::string& id) = 0;
  virtual size_t FlushQueue() = 0;
  // done runs once the files are gone; false: not queued.
  virtual bool DeleteQueued(const std::string& id, std::function<void()> done) = 0;
};

struct QueueHooks {
  QueueObserver* observer = nullptr;
  QueuePort* port = nullptr;
};

QueueHooks& GlobalQueueHooks();

}  // namespace mailnest
