#include "http/event_ring.h"

#include <fmt/format.h>

#include <algorithm>

namespace mailnest {

const std::vector<std::string_view>& EventTypes() {
  static const std::vector<std::string_view> kTypes = {
      "gap",           "message.deleted", "message.new",    "queue.bounced", "queue.deferred",
      "queue.deleted", "queue.delivered", "queue.new",     "session.close", "session.line",
      "session.open",  "session.state",   "stats",
  };
  return kTypes;
}

bool IsEventType(std::string_view type) {
  const auto& t = EventTypes();
  return std::binary_search(t.begin(), t.end(), type);
}

bool ParseEventTypes(std::string_view csv, std::set<std::string, std::less<>>* out, std::string* err) {
  out->clear();
  size_t i = 0;
  while (true) {
    size_t comma = csv.find(',', i);
    std::string_view name = csv.substr(i, comma == std::string_view::npos ? std::string_view::npos : comma - i);
    if (!IsEventType(name)) {
      *err = fmt::format("types: unknown event type '{}' (known: {})", name.substr(0, 40),
                         fmt::join(EventTypes(), ", "));
      return false;
    }
    out->emplace(name);
    if (comma == std::string_view::npos) return true;
    i = comma + 1;
  }
}

std::string FormatSseEvent(uint64_t id, std::string_view type, std::string_view data) {
  return fmt::format("id: {}\nevent: {}\ndata: {}\n\n", id, type, data);
}

EventRing::EventRing(size_t capacity, uint64_t first_id)
    : capacity_(std::max<size_t>(1, capacity)), first_id_(first_id), next_id_(first_id) {}

const RingEvent& EventRing::Append(std::string_view type, std::string_view data) {
  uint64_t id = next_id_++;
  events_.push_back({id, std::string(type), FormatSseEvent(id, type, data)});
  bytes_ += events_.back().wire.size();
  while (events_.size() > capacity_) {
    bytes_ -= events_.front().wire.size();
    events_.pop_front();
  }
  return events_.back();
}

std::vector<const RingEvent*> EventRing::Since(uint64_t after, bool* gap) const {
  std::vector<const RingEvent*> out;
  *gap = false;
  if (after + 1 < first_id_ || after > last_id()) {
    *gap = true;  // not an id of this ring: everything kept follows
    after = first_id_ - 1;
  }
  uint64_t oldest = events_.empty() ? next_id_ : events_.front().id;
  if (after + 1 < oldest) *gap = true;  // some were dropped
  for (const RingEvent& e : events_) {
    if (e.id > after) out.push_back(&e);
  }
  return out;
}

}  // namespace mailnest
