#include "http/http_service.h"

#include "http/api.h"
#include "http/h2o_server.h"

namespace mailnest {

HttpService::HttpService(uv_loop_t* loop, const Config& config, Readiness* readiness)
    : loop_(loop), config_(config), readiness_(readiness) {
  api_ = std::make_unique<Api>(config_, readiness_);
  server_ = std::make_unique<HttpServer>(loop_, config_.http, [this](h2o_req_t* req) { api_->Handle(req); });
  api_->set_server(server_.get());
}

HttpService::~HttpService() = default;

Status HttpService::Start() {
  Status s = server_->Start();
  if (s.ok()) readiness_->http_pending = false;
  return s;
}

int HttpService::bound_port() const { return server_->bound_port(); }

void HttpService::Shutdown(std::function<void()> done) {
  server_->Shutdown([this] { api_->Drain(); }, std::move(done));
}

}  // namespace mailnest
