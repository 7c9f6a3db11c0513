#include "http/queue_feed.h"

#include "http/event_hub.h"

namespace mailnest {

namespace {

// Addresses and replies are cleaned ASCII in the queue, but a sender or
// recipient may hold UTF-8 (SMTPUTF8): never let a bad octet throw.
std::string Dump(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

}  // namespace

nlohmann::json QueueMessageJson(const QueueMessageView& m) {
  nlohmann::json rcpts = nlohmann::json::array();
  for (const QueueRcptView& r : m.recipients) {
    rcpts.push_back({{"address", r.address},
                     {"state", std::string(r.state)},
                     {"attempts", r.attempts},
                     {"next_try", r.next_try},
                     {"last_attempt", r.last_attempt},
                     {"remote_mta", r.remote_mta},
                     {"last_reply", r.last_reply}});
  }
  return {{"id", m.id},
          {"sender", m.sender},
          {"arrival", m.arrival},
          {"size", m.size},
          {"state", m.deleting ? "deleting" : m.active ? "active" : "waiting"},
          {"recipients", rcpts}};
}

void QueueFeed::OnQueueEvent(const QueueEvent& e) {
  const char* type = "queue.new";
  nlohmann::json j = {{"id", std::string(e.id)}, {"sender", std::string(e.sender)}};
  switch (e.kind) {
    case QueueEventKind::kNew:
      j["recipients"] = e.recipients;
      break;
    case QueueEventKind::kDeleted:
      type = "queue.deleted";
      break;
    case QueueEventKind::kDeferred:
      type = "queue.deferred";
      j["next_try"] = e.next_try;
      [[fallthrough]];
    case QueueEventKind::kDelivered:
    case QueueEventKind::kBounced:
      if (e.kind == QueueEventKind::kDelivered) type = "queue.delivered";
      if (e.kind == QueueEventKind::kBounced) type = "queue.bounced";
      j["recipient"] = std::string(e.recipient);
      j["reply"] = std::string(e.reply);
      break;
  }
  hub_->Publish(type, Dump(j));
}

}  // namespace mailnest
