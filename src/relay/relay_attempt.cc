#include "relay/relay_attempt.h"

#include <fmt/format.h>

#include <cstring>
#include <utility>

#include "net/address_name.h"

namespace mailnest {

RelayAttempt* RelayAttempt::Start(uv_loop_t* loop, RelayTarget target, ClientSettings settings, uint64_t connect_ms,
                                  std::string sender, std::vector<std::string> recipients,
                                  std::shared_ptr<const std::string> message, Done done, Reuse reuse) {
  auto* a = new RelayAttempt(loop, std::move(target), std::move(settings), connect_ms, std::move(sender),
                             std::move(recipients), std::move(message), std::move(done), std::move(reuse));
  a->Resolve();
  return a;
}

RelayAttempt::RelayAttempt(uv_loop_t* loop, RelayTarget target, ClientSettings settings, uint64_t connect_ms,
                           std::string sender, std::vector<std::string> recipients,
                           std::shared_ptr<const std::string> message, Done done, Reuse reuse)
    : loop_(loop),
      target_(std::move(target)),
      connect_ms_(connect_ms),
      message_(std::move(message)),
      done_(std::move(done)),
      relay_desc_(fmt::format("{}:{}", target_.host, target_.port)),
      conn_(loop, this),
      client_(this, std::move(settings), std::move(sender), std::move(recipients), message_.get()) {
  reuse_ = std::move(reuse);
}

void RelayAttempt::Resolve() {
  addrinfo hints;
  std::memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  resolver_.data = this;
  resolving_ = true;
  const std::string port = std::to_string(target_.port);
  int r = uv_getaddrinfo(
      loop_, &resolver_,
      [](uv_getaddrinfo_t* req, int status, addrinfo* res) {
        static_cast<RelayAttempt*>(req->data)->OnResolved(status, res);
      },
      target_.host.c_str(), port.c_str(), &hints);
  if (r != 0) OnResolved(r, nullptr);
}

void RelayAttempt::OnResolved(int status, addrinfo* res) {
  resolving_ = false;
  if (aborted_) {
    if (res) uv_freeaddrinfo(res);
    conn_.Close();  // OnClosed reports
    return;
  }
  if (status != 0 || !res) {
    Fail("4.4.3", fmt::format("Host or domain name not found. Name service error for name={}: {}", target_.host,
                       uv_strerror(status)));
    if (res) uv_freeaddrinfo(res);
    conn_.Close();
    return;
  }
  const std::string ip = AddressHost(res->ai_addr);
  relay_desc_ = fmt::format("{}[{}]:{}", target_.name.empty() ? target_.host : target_.name, ip, target_.port);
  conn_.SetTimeout(connect_ms_);
  conn_.Connect(res->ai_addr, [this](int st) {
    if (st != 0) {
      Fail("4.4.1", fmt::format("connect to {}: {}", relay_desc_, uv_strerror(st)));
      return;  // the connection closes itself; OnClosed reports
    }
    connected_ = true;
    client_.Start();
  });
  uv_freeaddrinfo(res);
}

void RelayAttempt::Fail(std::string_view dsn, std::string text) {
  if (!failure_.empty()) return;  // the first reason wins
  failure_dsn_ = std::string(dsn);
  failure_ = std::move(text);
}

void RelayAttempt::OnTimeout() {
  if (waiting_) return EndWait();  // the next message took longer than idle_ms
  if (!connected_) {
    Fail("4.4.1", fmt::format("connect to {}: timed out", relay_desc_));
    conn_.Close();
    return;
  }
  client_.OnTimeout();  // decides, then Close()
}

void RelayAttempt::Abort() {
  aborted_ = true;
  Fail("4.3.2", "delivery interrupted: mail system shutting down");
  if (!resolving_) conn_.Close();
}

void RelayAttempt::OnClosed() {
  if (auto lease = lease_.lock()) lease->attempt_ = nullptr;  // its message goes over a new connection
  // A reused connection lost before the RSET's reply: the message was not
  // started; 4.4.1 makes the queue try it again at once on a new connection.
  if (!client_.finished() && client_.state() == ClientState::kRset) {
    Fail("4.4.1", fmt::format("connection to {} lost before the next message", relay_desc_));
  }
  if (!client_.finished()) {
    client_.OnClosed(failure_dsn_, failure_);  // empty: "lost connection"
  }
  if (done_) {  // null when the last transaction was reported already
    auto done = std::move(done_);
    done_ = nullptr;
    done(*this);
  }
  delete this;
}

// The transaction is decided: report it now, then look for the next
// message to the same destination.
bool RelayAttempt::OnTransactionDone() {
  auto done = std::move(done_);
  done_ = nullptr;
  done(*this);
  if (aborted_ || messages_ >= reuse_.max_messages || !reuse_.next_for) return false;  // QUIT
  auto lease = std::make_shared<ConnectionLease>(this);
  lease_ = lease;
  waiting_ = true;
  conn_.SetTimeout(reuse_.idle_ms);
  if (reuse_.next_for(reuse_.key, target_, lease)) return true;  // Give() or the lease's end follows
  lease->attempt_ = nullptr;  // nothing due
  lease_.reset();
  waiting_ = false;
  return false;
}

bool RelayAttempt::Continue(std::string sender, std::vector<std::string> recipients,
                            std::shared_ptr<const std::string> message, Done done) {
  if (!waiting_ || aborted_ || client_.state() != ClientState::kIdle) return false;
  waiting_ = false;
  lease_.reset();
  ++messages_;
  message_ = std::move(message);
  done_ = std::move(done);
  client_.Continue(std::move(sender), std::move(recipients), message_.get());
  return true;
}

void RelayAttempt::EndWait() {
  if (!waiting_) return;
  waiting_ = false;
  if (auto lease = lease_.lock()) lease->attempt_ = nullptr;
  lease_.reset();
  client_.Quit();
}

ConnectionLease::~ConnectionLease() {
  if (attempt_) attempt_->EndWait();
}

RelayAttempt* ConnectionLease::Give(std::string sender, std::vector<std::string> recipients,
                                    std::shared_ptr<const std::string> message, RelayAttempt::Done done) {
  RelayAttempt* a = std::exchange(attempt_, nullptr);
  if (!a || !a->Continue(std::move(sender), std::move(recipients), std::move(message), std::move(done))) return nullptr;
  return a;
}

}  // namespace mailnest
