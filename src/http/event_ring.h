// The Server-Sent Events of GET /api/v1/events, as bytes on the wire, and
// the bounded ring that Last-Event-ID resumes from. No I/O: the hub
// (http/event_hub.h) sends what this formats. Loop-thread only.
//
// Wire format of one event (text/event-stream, one JSON object per data
// line, never a newline inside it):
//   id: <decimal id>\n
//   event: <type>\n
//   data: <JSON>\n
//   \n
// Ids grow by one per event and start at the process's start time in
// milliseconds times 1000, so a client's Last-Event-ID from an earlier
// process is older than anything in the ring (it gets a "gap" event).
#pragma once

#include <cstdint>
#include <deque>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace mailnest {

// Every event type the hub sends, sorted.
const std::vector<std::string_view>& EventTypes();
bool IsEventType(std::string_view type);

// "a,b" → {a, b}; an unknown or empty name is an error naming it.
bool ParseEventTypes(std::string_view csv, std::set<std::string, std::less<>>* out, std::string* err);

// One event in wire form. data must be one line (JSON dump() output is).
std::string FormatSseEvent(uint64_t id, std::string_view type, std::string_view data);

struct RingEvent {
  uint64_t id = 0;
  std::string type;
  std::string wire;  // FormatSseEvent(id, type, data)
};

class EventRing {
 public:
  // capacity >= 1 events are kept; first_id is the id of the first event.
  EventRing(size_t capacity, uint64_t first_id);

  // Assigns the next id, stores the event (dropping the oldest beyond
  // capacity) and returns it.
  const RingEvent& Append(std::string_view type, std::string_view data);

  // The kept events with id > after, oldest first. *gap is set when events
  // after `after` were already dropped (or `after` is not an id this ring
  // could have given: older than the first, or newer than the last).
  std::vector<const RingEvent*> Since(uint64_t after, bool* gap) const;

  uint64_t last_id() const { return next_id_ - 1; }
  size_t size() const { return events_.size(); }
  size_t bytes() const { return bytes_; }

 private:
  size_t capacity_;
  uint64_t first_id_;
  uint64_t next_id_;
  std::deque<RingEvent> events_;
  size_t bytes_ = 0;
};

}  // namespace mailnest
