#include "http/http_service.h"

#include "http/api.h"
#include "http/h2o_server.h"
#include "http/index_watcher.h"
#include "http/message_deleter.h"
#include "http/message_index.h"

namespace mailnest {

HttpService::HttpService(uv_loop_t* loop, const Config& config, Readiness* readiness, DeliveryJournal* journal)
    : loop_(loop), config_(config), readiness_(readiness) {
  index_ = std::make_unique<MessageIndex>();
  api_ = std::make_unique<Api>(loop_, config_, readiness_, index_.get());
  watcher_ = std::make_unique<IndexWatcher>(
      loop_, config_.mail_root, index_.get(), [this] { api_->OnIndexChanged(); },
      [this] { readiness_->index_pending = false; }, uint64_t{config_.http.index_rescan_s} * 1000);
  server_ = std::make_unique<HttpServer>(loop_, config_.http, [this](h2o_req_t* req) { api_->Handle(req); });
  api_->set_server(server_.get());
  deleter_ = std::make_unique<MessageDeleter>(loop_, config_, index_.get(), journal);
  api_->set_deleter(deleter_.get());
}

HttpService::~HttpService() = default;

Status HttpService::Start() {
  Status s = server_->Start();
  if (!s.ok()) return s;
  readiness_->http_pending = false;
  readiness_->index_pending = true;
  watcher_->Start();
  return s;
}

int HttpService::bound_port() const { return server_->bound_port(); }

void HttpService::Shutdown(std::function<void()> done) {
  auto remaining = std::make_shared<int>(2);
  auto one_done = [remaining, done = std::move(done)] {
    if (--*remaining == 0 && done) done();
  };
  watcher_->Close(one_done);
  server_->Shutdown([this] { api_->Drain(); }, one_done);
}

}  // namespace mailnest
