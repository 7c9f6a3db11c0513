#include "pop3/pop3_server.h"
#include "base/metrics.h"

#include <unordered_set>
#include <vector>

#include "pop3/login_guard.h"
#include "pop3/one_shot_timer.h"
#include "pop3/password_checker.h"
#include "pop3/pop3_session.h"
#include "uv/listener.h"

namespace mailnest {

namespace {
// A yescrypt hash (default cost) of 24 random bytes that were thrown away,
// used only when no configured user has a hash to borrow the cost from.
// Unknown users never log in whatever it matches (AuthJob::known).
constexpr const char* kFallbackDummyHash =
    "$y$j9T$bgZu.KgY5SO37BahDXeRG0$fUDyxbMuXp36xR/QeQXESQHdqIvTQZnCSdtC/ZlD5P9";
}  // namespace

struct Pop3Server::Impl {
  uv_loop_t* loop;
  const Config& config;
  Logger* log;
  Pop3Session::Context ctx;
  Listener listener;
  std::unordered_set<Pop3Session*> sessions;
  uint64_t next_id = 1;
  bool shutting_down = false;
  bool listener_closed = false;
  std::function<void()> shutdown_done;
  OneShotTimer grace;  // shutdown_grace_s after Shutdown(): close what is left
  PasswordChecker checker;
  LoginGuard guard;

  Impl(uv_loop_t* l, const Config& c, Logger* lg, DeliveryJournal* journal)
      : loop(l),
        config(c),
        log(lg),
        listener(l, [this](uv_stream_t* s) { Accept(s); }),
        grace(l),
        checker(l, c.pop3.password_check_threads, c.pop3.password_check_queue),
        guard(c.pop3.max_logins_per_ip, c.pop3.auth_failure_delay_ms) {
    bool ok = true;
    ctx.loop = loop;
    ctx.config = &config;
    ctx.log = log;
    ctx.journal = journal;
    ctx.checker = &checker;
    ctx.guard = &guard;
    ctx.log_level = ParseLogLevel(config.log_level, &ok);
    if (!ok) ctx.log_level = LogLevel::kInfo;
    // An unknown user's password is checked against a real user's hash (and
    // the result ignored), so both failures cost the same crypt(3) work.
    ctx.dummy_hash = kFallbackDummyHash;
    for (const auto& [name, user] : config.users) {
      if (!user.password_hash.empty()) {
        ctx.dummy_hash = user.password_hash;
        break;
      }
    }
    ctx.on_gone = [this](Pop3Session* s) { Gone(s); };
    listener.set_on_error([this](int status) {
      log->Error("", "accept failed: {} ({} sessions open)", uv_strerror(status), sessions.size());
    });
  }

  void Accept(uv_stream_t* server) {
    auto* s = new Pop3Session(&ctx, next_id++);
    sessions.insert(s);
    Bump(GlobalMetrics().pop3_connections);
    Add(GlobalMetrics().pop3_sessions_open, 1);
    // Over the limit the session still accepts, so the client hears why.
    s->Start(server, shutting_down || sessions.size() > config.pop3.max_connections);
  }

  void Gone(Pop3Session* s) {
    sessions.erase(s);
    Add(GlobalMetrics().pop3_sessions_open, -1);
    MaybeFinishShutdown();
  }

  void MaybeFinishShutdown() {
    if (!shutting_down || !listener_closed || !sessions.empty() || !shutdown_done) return;
    grace.Stop();     // an active timer would hold the loop open,
    checker.Close();  // and so would the checker's wake-up handle
    auto done = std::move(shutdown_done);
    shutdown_done = nullptr;
    done();
  }
};

Pop3Server::Pop3Server(uv_loop_t* loop, const Config& config, Logger* log, DeliveryJournal* journal)
    : impl_(std::make_unique<Impl>(loop, config, log, journal)) {}

Pop3Server::~Pop3Server() = default;

Status Pop3Server::Start() {
  const ListenConfig& l = impl_->config.pop3.listen;
  Status s = impl_->checker.Start();
  if (!s.ok()) return s;
  s = impl_->listener.Listen(l.address, l.port);
  if (s.ok()) impl_->log->Info("", "listening on {}:{}", l.address, impl_->listener.bound_port());
  return s;
}

int Pop3Server::bound_port() const { return impl_->listener.bound_port(); }

void Pop3Server::Shutdown(std::function<void()> done) {
  Impl* impl = impl_.get();
  if (impl->shutting_down) return;
  impl->shutting_down = true;
  impl->log->Info("", "shutting down: {} sessions", impl->sessions.size());
  impl->shutdown_done = [impl, done = std::move(done)] {
    impl->log->Info("", "shutdown complete");
    if (done) done();
  };
  // The listener's close callback ends the shutdown once no session is
  // left, so done() never runs before the listening handle is freed.
  impl->listener.Close([impl] {
    impl->listener_closed = true;
    impl->MaybeFinishShutdown();
  });
  std::vector<Pop3Session*> current(impl->sessions.begin(), impl->sessions.end());
  for (Pop3Session* s : current) s->Shutdown();
  impl->grace.Start(uint64_t{impl->config.shutdown_grace_s} * 1000, [impl] {
    impl->log->Info("", "shutdown grace of {} s over, closing {} sessions", impl->config.shutdown_grace_s,
                    impl->sessions.size());
    std::vector<Pop3Session*> left(impl->sessions.begin(), impl->sessions.end());
    for (Pop3Session* s : left) s->ShutdownNow();
  });
}

}  // namespace mailnest
