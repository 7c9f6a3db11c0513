// GET /api/v1/events: the Server-Sent Events stream. The hub keeps the
// event ring (http/event_ring.h) and the subscribers, each an h2o streaming
// response (a generator with proceed/stop callbacks).
//
// Flow control: h2o takes one buffer at a time per response; events that
// arrive meanwhile wait in the subscriber's pending buffer. A subscriber
// whose unsent bytes (pending + in flight) would exceed
// http.max_event_backlog_bytes is dropped: its socket is shut down, h2o
// closes the connection and calls stop. So memory per subscriber is bounded
// whatever the client does.
//
// Batching: Publish only queues; a timer armed by the first event hands each
// subscriber's queue to h2o in one write, at once (next loop turn) when the
// last write is http.event_flush_ms old, else once it is. So an SMTP command
// costs no write per subscriber, a busy hub writes each stream at most every
// event_flush_ms (2 ms: ~500 writes/s however many messages arrive), and an
// event on a quiet hub waits for nothing but the current loop turn.
//
// Handles: the subscribers hold no uv handle at all; the hub's timer
// (heartbeat comments and the periodic stats event) and its flush timer
// live on the heap outside h2o's pools and are freed by their close callbacks. A subscriber
// object is freed from its generator's stop callback (h2o disposes the
// request) or right after its final send. Loop-thread only.
#pragma once

#include <h2o.h>
#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>

#include "base/config.h"
#include "http/event_ring.h"

namespace mailnest {

class EventHub {
 public:
  // stats: the data of the periodic "stats" event (a JSON object's text).
  EventHub(uv_loop_t* loop, const HttpConfig& config, std::function<std::string()> stats);
  ~EventHub();
  EventHub(const EventHub&) = delete;
  EventHub& operator=(const EventHub&) = delete;

  void Start();  // the heartbeat/stats timer
  // Ends every stream and closes the timer (server shutdown).
  void Close();

  // Answers req with the stream (or 503 beyond http.max_subscribers).
  // types empty = every type; last_id: resume after that event.
  void Subscribe(h2o_req_t* req, std::set<std::string, std::less<>> types, std::optional<uint64_t> last_id,
                 bool closing);

  // Appends to the ring and queues for every subscriber that wants it.
  void Publish(std::string_view type, std::string_view data_json);

  // Whether anyone listens at all (session events are made only then).
  bool has_subscribers() const { return !subs_.empty(); }
  size_t subscribers() const { return subs_.size(); }
  uint64_t dropped() const { return dropped_; }
  uint64_t last_id() const { return ring_.last_id(); }

  class Subscriber;

 private:
  struct Ticker {
    uv_timer_t timer;  // first: the callback gets &timer
    EventHub* hub;
  };
  // Armed by the first event after a write; fires at once if the last
  // write is http.event_flush_ms old, else when it will be.
  struct Flusher {
    uv_timer_t timer;  // first: the callback gets &timer
    EventHub* hub;
  };
  void Tick();
  void ArmFlush();  // a write to every stream with queued events, soon
  void FlushAll();
  void Forget(Subscriber* s) { subs_.erase(s); }

  uv_loop_t* loop_;
  const HttpConfig& config_;
  std::function<std::string()> stats_;
  EventRing ring_;
  std::set<Subscriber*> subs_;
  Ticker* ticker_ = nullptr;    // freed by its close callback
  Flusher* flusher_ = nullptr;  // freed by its close callback
  bool flush_armed_ = false;
  uint64_t last_flush_ms_ = 0;
  uint64_t last_stats_ms_ = 0;
  uint64_t dropped_ = 0;
  bool closed_ = false;
};

}  // namespace mailnest
