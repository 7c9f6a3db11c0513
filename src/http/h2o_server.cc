#include "http/h2o_server.h"

#include <fmt/format.h>

#include <utility>

namespace mailnest {

namespace {
constexpr uint64_t kSweepMs = 50;
constexpr int kMaxSweeps = 100;  // 5 s: then connections are left to the loop drain

// Answers h2o makes itself before a request reaches us (413 for a body over
// max_body_bytes, 400 for a bad request line) use the host's fallback path:
// its headers filter gives them nosniff too. h2o keeps these pointers.
h2o_iovec_t kNosniffName = {const_cast<char*>("x-content-type-options"), 22};
h2o_headers_command_t kNosniff[] = {{H2O_HEADERS_CMD_ADD, &kNosniffName, {const_cast<char*>("nosniff"), 7}},
                                    {H2O_HEADERS_CMD_NULL, nullptr, {nullptr, 0}}};
}  // namespace

HttpServer::HttpServer(uv_loop_t* loop, const HttpConfig& config, Handler handler)
    : loop_(loop), config_(config), handler_(std::move(handler)),
      listener_(loop, [this](uv_stream_t* s) { OnConnection(s); }) {}

HttpServer::~HttpServer() {
  for (Conn* c : conns_) c->server = nullptr;
  if (ctx_inited_) h2o_context_dispose(&ctx_);
  if (ctx_inited_) h2o_config_dispose(&globalconf_);
}

Status HttpServer::Start() {
  h2o_config_init(&globalconf_);
  globalconf_.server_name = h2o_iovec_init(H2O_STRLIT("mailnest"));
  globalconf_.max_request_entity_size = config_.max_body_bytes;
  globalconf_.http1.req_timeout = uint64_t{config_.idle_timeout_s} * 1000;
  globalconf_.http1.upgrade_to_http2 = 0;
  h2o_hostconf_t* host = h2o_config_register_host(&globalconf_, h2o_iovec_init(H2O_STRLIT("default")), 65535);
  h2o_headers_register(&host->fallback_path, kNosniff);
  h2o_pathconf_t* path = h2o_config_register_path(host, "/", 0);
  auto* root = reinterpret_cast<RootHandler*>(h2o_create_handler(path, sizeof(RootHandler)));
  root->super.on_req = &HttpServer::OnRequest;
  root->self = this;
  h2o_context_init(&ctx_, loop_, &globalconf_);
  ctx_inited_ = true;
  accept_ctx_.ctx = &ctx_;
  accept_ctx_.hosts = globalconf_.hosts;
  return listener_.Listen(config_.listen.address, config_.listen.port);
}

int HttpServer::OnRequest(h2o_handler_t* h, h2o_req_t* req) {
  reinterpret_cast<RootHandler*>(h)->self->handler_(req);
  return 0;  // every request is ours: answered now or later by the handler
}

void HttpServer::OnConnection(uv_stream_t* server) {
  auto* c = new Conn{{}, this};
  uv_tcp_init(loop_, &c->tcp);
  ++open_conns_;
  conns_.insert(c);
  if (uv_accept(server, reinterpret_cast<uv_stream_t*>(&c->tcp)) != 0 || shutting_down_) {
    uv_close(reinterpret_cast<uv_handle_t*>(&c->tcp), &HttpServer::OnConnClosed);
    return;
  }
  h2o_socket_t* sock = h2o_uv_socket_create(reinterpret_cast<uv_stream_t*>(&c->tcp), &HttpServer::OnConnClosed);
  h2o_accept(&accept_ctx_, sock);
}

// h2o calls this (through uv_close) once it has finished with the socket.
void HttpServer::OnConnClosed(uv_handle_t* h) {
  auto* c = reinterpret_cast<Conn*>(h);
  if (HttpServer* s = c->server) {
    s->conns_.erase(c);
    --s->open_conns_;
    s->MaybeFinish();
  }
  delete c;
}

void HttpServer::Shutdown(std::function<void()> drain, std::function<void()> done) {
  if (shutting_down_) return;
  shutting_down_ = true;
  done_ = std::move(done);
  listener_.Close([this] {
    listener_closed_ = true;
    MaybeFinish();
  });
  if (drain) drain();
  sweep_ = new SweepTimer{{}, this};
  uv_timer_init(loop_, &sweep_->timer);
  uv_timer_start(&sweep_->timer, [](uv_timer_t* t) { reinterpret_cast<SweepTimer*>(t)->server->Sweep(); }, 0,
                 kSweepMs);
}

// Idle keep-alive connections and half-read requests wait on h2o's request
// timeout; expiring it now closes them through h2o's own path. Connections
// busy answering are left to finish (the answer carries Connection: close).
void HttpServer::Sweep() {
  ctx_.http1.req_timeout.timeout = 0;
  h2o_timeout_run(loop_, &ctx_.http1.req_timeout, h2o_now(loop_));
  if (++sweeps_ >= kMaxSweeps && open_conns_ > 0) {
    for (Conn* c : conns_) c->server = nullptr;  // the loop drain closes them
    conns_.clear();
    open_conns_ = 0;
  }
  MaybeFinish();
}

void HttpServer::MaybeFinish() {
  if (!shutting_down_ || !listener_closed_ || open_conns_ > 0 || !sweep_) return;
  SweepTimer* t = std::exchange(sweep_, nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&t->timer),
           [](uv_handle_t* h) { delete reinterpret_cast<SweepTimer*>(h); });
  if (auto d = std::exchange(done_, nullptr)) d();
}

}  // namespace mailnest
