#include "smtp/smtp_server.h"
#include "base/metrics.h"

#include <fmt/format.h>

#include <unordered_set>
#include <vector>

#include "base/fd_limit.h"
#include "net/connection.h"
#include "smtp/smtp_reply.h"
#include "smtp/smtp_session.h"
#include "uv/listener.h"

namespace mailnest {

namespace {

// A connection beyond max_connections: one 421 4.3.2, then close. Owns
// itself and frees itself from Connection's OnClosed; it never touches the
// server, so it may outlive it.
class TurnAway final : public Connection::Handler {
 public:
  explicit TurnAway(uv_loop_t* loop) : conn_(loop, this) {}
  Connection& conn() { return conn_; }
  void OnRead(const char*, size_t) override {}
  void OnTimeout() override { conn_.Close(); }
  void OnClosed() override { delete this; }

 private:
  Connection conn_;
};

}  // namespace

struct SmtpServer::Impl {
  class Client;

  Impl(uv_loop_t* loop_in, const Config& config_in, Logger* log_in, DeliveryJournal* journal, RelayQueue* relay);
  ~Impl();

  void OnConnection(uv_stream_t* server);
  void OnClientClosed(Client* c);
  void Reap(Client* c);
  void RunReaper();
  void Free(Client* c);
  void MaybeFinishShutdown();
  void EndGrace();

  uv_loop_t* loop;
  const Config& config;
  Logger* log;
  SmtpContext ctx;
  Listener listener;
  std::unordered_set<Client*> clients;  // every live session, open or committing
  size_t open_connections = 0;          // sessions whose socket is still open
  uint64_t sessions_started = 0;
  bool shutting_down = false;
  bool listener_closed = false;
  std::function<void()> shutdown_done;

  // Sessions that finished from inside a store callback are freed from this
  // zero-delay timer on the next loop turn. The handle lives on the heap and
  // is freed in its close callback (it may outlive Impl by one loop turn).
  struct ReapTimer {
    uv_timer_t timer;
    Impl* owner;
  };
  ReapTimer* reaper;
  std::vector<Client*> graveyard;
  // Started by Shutdown(): after shutdown_grace_s, EndGrace() (same
  // heap-and-close-callback ownership as the reaper).
  ReapTimer* grace;
};

// One accepted connection: the Connection, and the session it feeds.
// Freed when the connection is closed AND no Commit is in flight.
class SmtpServer::Impl::Client final : public Connection::Handler, public SmtpSession::Io {
 public:
  Client(Impl* server, std::string id)
      : server_(server), conn_(server->loop, this), session_(server->ctx, this, std::move(id)) {}

  Connection& conn() { return conn_; }
  SmtpSession& session() { return session_; }
  // The server is going away without a Shutdown(): stop calling into it.
  void Detach() {
    server_ = nullptr;
    conn_.Close();
  }

  // Connection::Handler
  void OnRead(const char* data, size_t len) override {
    if (server_) session_.OnRead(data, len);
  }
  void OnTimeout() override {
    if (server_) session_.OnTimeout();
  }
  void OnWritable() override {
    if (server_) session_.OnWritable();
  }
  void OnClosed() override {
    if (!server_) return;  // detached: leaked on purpose at process exit
    session_.OnClosed();
    server_->OnClientClosed(this);  // may free this
  }

  // SmtpSession::Io
  void Write(std::string_view bytes) override { conn_.Write(bytes); }
  void CloseAfterWrite() override { conn_.CloseAfterWrite(); }
  void Close() override { conn_.Close(); }
  void SetTimeout(uint64_t ms) override { conn_.SetTimeout(ms); }
  void PauseReading() override { conn_.PauseReading(); }
  void ResumeReading() override { conn_.ResumeReading(); }
  size_t WriteBacklog() const override { return conn_.write_backlog(); }
  bool InputPending() const override { return conn_.PendingInputBytes() > 0; }
  std::string LocalAddress() const override { return conn_.LocalName(); }
  void Finished() override {
    if (server_) server_->Reap(this);
  }

 private:
  Impl* server_;
  Connection conn_;
  SmtpSession session_;
};

SmtpServer::Impl::Impl(uv_loop_t* loop_in, const Config& config_in, Logger* log_in,
                       DeliveryJournal* journal, RelayQueue* relay)
    : loop(loop_in),
      config(config_in),
      log(log_in),
      listener(loop_in, [this](uv_stream_t* s) { OnConnection(s); }),
      reaper(new ReapTimer{{}, this}),
      grace(new ReapTimer{{}, this}) {
  ctx.loop = loop;
  ctx.relay = relay;
  ctx.config = &config;
  ctx.log = log;
  ctx.store.mail_root = config.mail_root;
  ctx.store.hostname = config.hostname;
  ctx.store.fsync = config.store.fsync;
  ctx.store.journal = journal;
  listener.set_on_error([this](int status) {
    log->Error("", "accept failed: {} ({} sessions open)", uv_strerror(status), open_connections);
  });
  uv_timer_init(loop, &reaper->timer);
  reaper->timer.data = reaper;
  uv_timer_init(loop, &grace->timer);
  grace->timer.data = grace;
}

SmtpServer::Impl::~Impl() {
  // Normally Shutdown() has emptied `clients`. Otherwise the sessions cannot
  // be freed safely here (their handles close later): detach them.
  for (Client* c : graveyard) {  // closed and finished: safe to free now
    clients.erase(c);
    delete c;
  }
  for (Client* c : clients) c->Detach();
  for (ReapTimer* t : {reaper, grace}) {
    t->owner = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&t->timer), [](uv_handle_t* h) { delete static_cast<ReapTimer*>(h->data); });
  }
}

void SmtpServer::Impl::OnConnection(uv_stream_t* server) {
  if (open_connections >= config.smtp.max_connections) {
    auto* t = new TurnAway(loop);
    if (t->conn().Accept(server) != 0) return;  // closed; OnClosed frees it
    log->Info("", "too many connections ({}): turning away {}", open_connections, t->conn().peer());
    t->conn().SetTimeout(uint64_t{config.smtp.command_timeout_s} * 1000);
    t->conn().Write(FormatSmtpReply(SmtpReplyId::kTooManyConnections, config.hostname));
    t->conn().CloseAfterWrite();
    return;
  }
  auto* c = new Client(this, fmt::format("{:06x}", ++sessions_started));
  clients.insert(c);
  ++open_connections;
  Bump(GlobalMetrics().smtp_connections);
  Add(GlobalMetrics().smtp_sessions_open, 1);
  int r = c->conn().Accept(server);
  if (r != 0) {
    log->Warn(c->session().id(), "accept failed: {}", uv_strerror(r));
    return;  // the connection closes itself; OnClientClosed frees c
  }
  if (NearFdLimit(c->conn().fd())) {
    log->Warn(c->session().id(), "descriptor limit nearly reached ({} sessions open): turning away {}",
              open_connections, c->conn().peer());
    c->session().Refuse(c->conn().peer());
    return;
  }
  c->session().Start(c->conn().peer());
  if (shutting_down) c->session().Shutdown();
}

void SmtpServer::Impl::OnClientClosed(Client* c) {
  --open_connections;
  if (c->session().delivery_pending()) return;  // Finished() → Reap() later
  Free(c);
}

void SmtpServer::Impl::Reap(Client* c) {
  graveyard.push_back(c);
  uv_timer_start(
      &reaper->timer,
      [](uv_timer_t* t) {
        auto* r = static_cast<ReapTimer*>(t->data);
        if (r->owner) r->owner->RunReaper();
      },
      0, 0);
}

void SmtpServer::Impl::RunReaper() {
  std::vector<Client*> dead;
  dead.swap(graveyard);
  for (Client* c : dead) Free(c);
}

void SmtpServer::Impl::Free(Client* c) {
  clients.erase(c);
  Add(GlobalMetrics().smtp_sessions_open, -1);
  delete c;
  MaybeFinishShutdown();
}

void SmtpServer::Impl::MaybeFinishShutdown() {
  if (!shutting_down || !listener_closed || !clients.empty() || !shutdown_done) return;
  uv_timer_stop(&grace->timer);  // an active timer would hold the loop open
  log->Info("", "smtp: all sessions closed");
  auto done = std::move(shutdown_done);
  shutdown_done = nullptr;
  done();
}

void SmtpServer::Impl::EndGrace() {
  log->Info("", "smtp: shutdown grace of {} s over, closing {} sessions", config.shutdown_grace_s, clients.size());
  std::vector<Client*> live(clients.begin(), clients.end());
  for (Client* c : live) c->session().ShutdownNow();
}

SmtpServer::SmtpServer(uv_loop_t* loop, const Config& config, Logger* log, DeliveryJournal* journal,
                       RelayQueue* relay)
    : impl_(std::make_unique<Impl>(loop, config, log, journal, relay)) {}

SmtpServer::~SmtpServer() = default;

Status SmtpServer::Start() {
  const ListenConfig& l = impl_->config.smtp.listen;
  Status s = impl_->listener.Listen(l.address, l.port);
  if (!s.ok()) return s;
  impl_->log->Info("", "smtp listening on {}:{} (max_connections={})", l.address, impl_->listener.bound_port(),
                   impl_->config.smtp.max_connections);
  return Status::Ok();
}

int SmtpServer::bound_port() const { return impl_->listener.bound_port(); }

void SmtpServer::set_faults(FaultInjector* faults) { impl_->ctx.faults = faults; }

void SmtpServer::Shutdown(std::function<void()> done) {
  Impl* impl = impl_.get();
  if (impl->shutting_down) return;
  impl->shutting_down = true;
  impl->shutdown_done = std::move(done);
  impl->log->Info("", "smtp: shutting down, {} sessions", impl->clients.size());
  // Copy: a session may close (never free) itself synchronously below.
  std::vector<Impl::Client*> live(impl->clients.begin(), impl->clients.end());
  for (Impl::Client* c : live) c->session().Shutdown();
  uv_timer_start(
      &impl->grace->timer,
      [](uv_timer_t* t) {
        auto* g = static_cast<Impl::ReapTimer*>(t->data);
        if (g->owner) g->owner->EndGrace();
      },
      uint64_t{impl->config.shutdown_grace_s} * 1000, 0);
  impl->listener.Close([impl] {
    impl->listener_closed = true;
    impl->MaybeFinishShutdown();
  });
}

}  // namespace mailnest
