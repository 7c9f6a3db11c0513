#include "http/event_hub.h"

#include <fmt/format.h>
#include <sys/socket.h>

#include <csignal>

#include <chrono>
#include <utility>
#include <vector>

#include "http/http_reply.h"

namespace mailnest {

namespace {

uint64_t FirstEventId() {
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::system_clock::now().time_since_epoch());
  return static_cast<uint64_t>(ms.count()) * 1000 + 1;
}

constexpr std::string_view kHeartbeat = ":\n\n";
constexpr uint64_t kTickMs = 1000;

}  // namespace

// One open GET /api/v1/events response. Lives on the heap (never in h2o's
// pool); freed by OnStop or after its final send.
class EventHub::Subscriber {
 public:
  Subscriber(EventHub* hub, h2o_req_t* req, std::set<std::string, std::less<>> types)
      : hub_(hub), req_(req), types_(std::move(types)) {
    gen_.self = this;
    gen_.super.proceed = &Subscriber::OnProceed;
    gen_.super.stop = &Subscriber::OnStop;
  }

  h2o_generator_t* generator() { return &gen_.super; }
  bool Wants(std::string_view type) const { return types_.empty() || types_.count(type) != 0; }

  // Queues bytes; false (and the subscriber dropped) past the backlog bound.
  bool Queue(std::string_view bytes) {
    if (!req_ || ending_) return true;
    if (pending_.size() + inflight_.size() + bytes.size() > hub_->config_.max_event_backlog_bytes) {
      Drop();
      return false;
    }
    pending_.append(bytes);
    return true;
  }

  void Flush() {
    if (!req_ || inflight_busy_ || pending_.empty()) return;
    inflight_.swap(pending_);
    pending_.clear();
    inflight_busy_ = true;
    last_write_ms_ = uv_now(hub_->loop_);
    h2o_iovec_t buf = h2o_iovec_init(inflight_.data(), inflight_.size());
    in_send_ = true;
    h2o_send(req_, &buf, 1, H2O_SEND_STATE_IN_PROGRESS);
    in_send_ = false;
    if (dead_) delete this;  // stop ran inside h2o_send
  }

  void Heartbeat(uint64_t now_ms, uint64_t every_ms) {
    if (inflight_busy_ || now_ms - last_write_ms_ < every_ms) return;
    if (Queue(kHeartbeat)) Flush();
  }

  // Server shutdown: the final chunk now if h2o is not busy with ours,
  // else the socket is shut down. No more events either way.
  void End() {
    hub_ = nullptr;
    ending_ = true;
    pending_.clear();
    if (!req_) return;
    req_->http1_is_persistent = 0;
    if (inflight_busy_) return ShutdownSocket();
    h2o_req_t* req = std::exchange(req_, nullptr);
    h2o_send(req, nullptr, 0, H2O_SEND_STATE_FINAL);  // h2o forgets the generator
    delete this;
  }

 private:
  struct Gen {
    h2o_generator_t super;  // first: h2o passes &super
    Subscriber* self;
  };

  void Drop() {
    if (hub_) {
      ++hub_->dropped_;
      hub_->Forget(this);
      hub_ = nullptr;
    }
    ending_ = true;
    std::string().swap(pending_);
    if (inflight_busy_ || in_send_) return ShutdownSocket();  // OnProceed or OnStop ends it
    if (h2o_req_t* req = std::exchange(req_, nullptr)) {
      req->http1_is_persistent = 0;
      h2o_send(req, nullptr, 0, H2O_SEND_STATE_FINAL);
    }
    delete this;  // callers do not touch a subscriber Queue() refused
  }

  // h2o 2.2 has no call to abort a response mid-stream; shutting the socket
  // down makes its pending write fail, and h2o then closes the connection
  // through its own path (which calls OnStop).
  void ShutdownSocket() {
    if (!req_ || !req_->conn || !req_->conn->callbacks->get_socket) return;
    if (h2o_socket_t* sock = req_->conn->callbacks->get_socket(req_->conn)) {
      int fd = h2o_socket_get_fd(sock);
      if (fd >= 0) ::shutdown(fd, SHUT_RDWR);
    }
  }

  static void OnProceed(h2o_generator_t* g, h2o_req_t*) {
    Subscriber* s = reinterpret_cast<Gen*>(g)->self;
    s->inflight_busy_ = false;
    s->inflight_.clear();
    if (s->ending_) {
      if (s->hub_ == nullptr && s->req_ && !s->in_send_) {
        // Dropped or shut down while busy: end it now that h2o is free.
        h2o_req_t* req = std::exchange(s->req_, nullptr);
        req->http1_is_persistent = 0;
        h2o_send(req, nullptr, 0, H2O_SEND_STATE_FINAL);
        delete s;
      }
      return;
    }
    // What queued meanwhile goes with the hub's next flush, not now: an
    // immediate write here would make each stream write once per loop turn
    // again, whatever http.event_flush_ms says.
    if (!s->pending_.empty() && s->hub_) s->hub_->ArmFlush();
  }

  static void OnStop(h2o_generator_t* g, h2o_req_t*) {
    Subscriber* s = reinterpret_cast<Gen*>(g)->self;
    s->req_ = nullptr;
    if (s->hub_) s->hub_->Forget(s);
    if (s->in_send_) {
      s->dead_ = true;  // Flush deletes once h2o_send returns
      return;
    }
    delete s;
  }

  EventHub* hub_;
  h2o_req_t* req_;
  std::set<std::string, std::less<>> types_;
  Gen gen_{};
  std::string pending_;   // queued, not yet handed to h2o
  std::string inflight_;  // handed to h2o: kept until proceed
  bool inflight_busy_ = false;
  bool in_send_ = false;
  bool dead_ = false;
  bool ending_ = false;
  uint64_t last_write_ms_ = 0;
};

EventHub::EventHub(uv_loop_t* loop, const HttpConfig& config, std::function<std::string()> stats)
    : loop_(loop), config_(config), stats_(std::move(stats)), ring_(config.event_ring, FirstEventId()) {}

EventHub::~EventHub() {
  for (Subscriber* s : subs_) s->End();  // only if Close never ran
  if (ticker_) ticker_->hub = nullptr;
  if (flusher_) flusher_->hub = nullptr;
}

void EventHub::Start() {
  std::signal(SIGPIPE, SIG_IGN);  // a dropped subscriber's socket is written to once more
  ticker_ = new Ticker{{}, this};
  uv_timer_init(loop_, &ticker_->timer);
  uv_timer_start(
      &ticker_->timer,
      [](uv_timer_t* t) {
        if (EventHub* h = reinterpret_cast<Ticker*>(t)->hub) h->Tick();
      },
      kTickMs, kTickMs);
  uv_unref(reinterpret_cast<uv_handle_t*>(&ticker_->timer));
  flusher_ = new Flusher{{}, this};
  uv_timer_init(loop_, &flusher_->timer);
  uv_unref(reinterpret_cast<uv_handle_t*>(&flusher_->timer));
}

void EventHub::FlushAll() {
  flush_armed_ = false;
  last_flush_ms_ = uv_now(loop_);
  std::vector<Subscriber*> all(subs_.begin(), subs_.end());
  for (Subscriber* s : all) {
    if (subs_.count(s)) s->Flush();  // a no-op when nothing is queued or h2o is busy
  }
}

void EventHub::Close() {
  closed_ = true;
  std::vector<Subscriber*> all(subs_.begin(), subs_.end());
  subs_.clear();
  for (Subscriber* s : all) s->End();
  if (Ticker* t = std::exchange(ticker_, nullptr)) {
    t->hub = nullptr;
    uv_timer_stop(&t->timer);
    uv_close(reinterpret_cast<uv_handle_t*>(&t->timer), [](uv_handle_t* h) { delete reinterpret_cast<Ticker*>(h); });
  }
  if (Flusher* f = std::exchange(flusher_, nullptr)) {
    f->hub = nullptr;
    uv_timer_stop(&f->timer);
    uv_close(reinterpret_cast<uv_handle_t*>(&f->timer), [](uv_handle_t* h) { delete reinterpret_cast<Flusher*>(h); });
  }
}

void EventHub::Tick() {
  if (subs_.empty()) return;
  uint64_t now = uv_now(loop_);
  if (stats_ && now - last_stats_ms_ >= uint64_t{config_.stats_interval_s} * 1000) {
    last_stats_ms_ = now;
    Publish("stats", stats_());
  }
  std::vector<Subscriber*> all(subs_.begin(), subs_.end());
  for (Subscriber* s : all) {
    if (subs_.count(s)) s->Heartbeat(now, uint64_t{config_.event_heartbeat_s} * 1000);
  }
}

void EventHub::Subscribe(h2o_req_t* req, std::set<std::string, std::less<>> types, std::optional<uint64_t> last_id,
                         bool closing) {
  if (closed_ || closing) return SendError(req, 503, "shutting down", true);
  if (subs_.size() >= config_.max_subscribers) {
    return SendError(req, 503, fmt::format("more than {} event subscribers", config_.max_subscribers), false);
  }
  auto* s = new Subscriber(this, req, std::move(types));
  subs_.insert(s);
  req->res.status = 200;
  req->res.reason = "OK";
  h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0, nullptr,
                        H2O_STRLIT("nosniff"));
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, nullptr, H2O_STRLIT("no-store"));
  h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, nullptr,
                 H2O_STRLIT("text/event-stream; charset=utf-8"));
  h2o_start_response(req, s->generator());
  // The first bytes: a retry hint, then what the client missed.
  s->Queue(fmt::format(": mailnest events, last id {}\nretry: 2000\n\n", ring_.last_id()));
  if (last_id) {
    bool gap = false;
    auto missed = ring_.Since(*last_id, &gap);
    if (gap && s->Wants("gap")) {
      // No id: the client's Last-Event-ID stays what it sent.
      s->Queue(fmt::format("event: gap\ndata: {{\"last_event_id\":{},\"oldest_kept\":{}}}\n\n", *last_id,
                           missed.empty() ? ring_.last_id() + 1 : missed.front()->id));
    }
    for (const RingEvent* e : missed) {
      if (s->Wants(e->type) && !s->Queue(e->wire)) return;  // dropped already
    }
  }
  s->Flush();
}

void EventHub::Publish(std::string_view type, std::string_view data_json) {
  if (closed_) return;
  const RingEvent& e = ring_.Append(type, data_json);
  if (subs_.empty()) return;
  std::vector<Subscriber*> all(subs_.begin(), subs_.end());
  bool queued = false;
  for (Subscriber* s : all) {
    if (!subs_.count(s) || !s->Wants(e.type)) continue;
    queued = s->Queue(e.wire) || queued;
  }
  if (queued) ArmFlush();
}

void EventHub::ArmFlush() {
  if (flush_armed_) return;
  if (!flusher_) return FlushAll();  // not started (unit tests drive the hub directly)
  flush_armed_ = true;
  uint64_t now = uv_now(loop_), due = last_flush_ms_ + config_.event_flush_ms;
  uv_timer_start(
      &flusher_->timer,
      [](uv_timer_t* t) {
        if (EventHub* h = reinterpret_cast<Flusher*>(t)->hub) h->FlushAll();
      },
      due > now ? due - now : 0, 0);
}

}  // namespace mailnest
