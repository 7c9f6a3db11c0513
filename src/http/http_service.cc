#include "http/http_service.h"

#include "http/access_gate.h"
#include "http/api.h"
#include "base/live_hooks.h"
#include "http/event_hub.h"
#include "http/live_feed.h"
#include "http/live_stats.h"
#include "http/queue_feed.h"
#include "http/session_recorder.h"
#include "http/h2o_server.h"
#include "http/index_watcher.h"
#include "http/message_deleter.h"
#include "http/message_index.h"
#include "pop3/password_checker.h"

namespace mailnest {

HttpService::HttpService(uv_loop_t* loop, const Config& config, Readiness* readiness, DeliveryJournal* journal)
    : loop_(loop), config_(config), readiness_(readiness) {
  index_ = std::make_unique<MessageIndex>();
  api_ = std::make_unique<Api>(loop_, config_, readiness_, index_.get());
  watcher_ = std::make_unique<IndexWatcher>(
      loop_, config_.mail_root, index_.get(), [this] { feed_->OnIndexChanged(); },
      [this] {
        readiness_->index_pending = false;
        feed_->OnReady();
      },
      uint64_t{config_.http.index_rescan_s} * 1000);
  server_ = std::make_unique<HttpServer>(loop_, config_.http, [this](h2o_req_t* req) { api_->Handle(req); });
  api_->set_server(server_.get());
  events_ = std::make_unique<EventHub>(loop_, config_.http, [this] {
    return stats_->Json(10).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  });
  api_->set_events(events_.get());
  feed_ = std::make_unique<LiveFeed>(index_.get(), watcher_.get(), events_.get(), [this] { api_->OnIndexChanged(); });
  sessions_ = std::make_unique<SessionRecorder>(config_.http, events_.get());
  api_->set_sessions(sessions_.get());
  stats_ = std::make_unique<LiveStats>(index_.get(), events_.get(), sessions_.get());
  api_->set_stats(stats_.get());
  feed_->set_on_delivered([this](const DeliveredMessage& m) { stats_->OnDelivered(m); });
  deleter_ = std::make_unique<MessageDeleter>(loop_, config_, index_.get(), journal);
  api_->set_deleter(deleter_.get());
  queue_feed_ = std::make_unique<QueueFeed>(events_.get());
  // Basic auth checks are sized like POP3's (pop3.password_check_threads,
  // pop3.password_check_queue) but run on their own threads.
  if (!config_.http.users.empty()) {
    checker_ = std::make_unique<PasswordChecker>(loop_, config_.pop3.password_check_threads,
                                                 config_.pop3.password_check_queue);
  }
  gate_ = std::make_unique<AccessGate>(loop_, config_.http, checker_.get(),
                                       [this] { return server_->shutting_down(); });
  api_->set_gate(gate_.get());
}

HttpService::~HttpService() {
  LiveHooks& hooks = GlobalLiveHooks();
  if (hooks.delivery == feed_.get()) hooks.delivery = nullptr;
  if (hooks.tracer == sessions_.get()) hooks.tracer = nullptr;
  if (GlobalQueueHooks().observer == queue_feed_.get()) GlobalQueueHooks().observer = nullptr;
}

Status HttpService::Start() {
  if (checker_) {
    if (Status s = checker_->Start(); !s.ok()) return s;
  }
  Status s = server_->Start();
  if (!s.ok()) return s;
  readiness_->http_pending = false;
  readiness_->index_pending = true;
  watcher_->Start();
  events_->Start();
  GlobalLiveHooks().delivery = feed_.get();
  GlobalLiveHooks().tracer = sessions_.get();
  GlobalQueueHooks().observer = queue_feed_.get();
  return s;
}

int HttpService::bound_port() const { return server_->bound_port(); }

void HttpService::set_faults(FaultInjector* faults) { api_->set_faults(faults); }

void HttpService::Shutdown(std::function<void()> done) {
  auto remaining = std::make_shared<int>(2);
  auto one_done = [this, remaining, done = std::move(done)] {
    if (--*remaining > 0) return;
    if (checker_) checker_->Close();  // its wake-up handle would hold the loop open
    if (done) done();
  };
  GlobalLiveHooks().delivery = nullptr;
  if (GlobalQueueHooks().observer == queue_feed_.get()) GlobalQueueHooks().observer = nullptr;
  watcher_->Close(one_done);
  server_->Shutdown(
      [this] {
        api_->Drain();
        events_->Close();
      },
      one_done);
}

}  // namespace mailnest
