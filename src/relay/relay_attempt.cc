#include "relay/relay_attempt.h"

#include <fmt/format.h>

#include <cstring>

namespace mailnest {

namespace {

std::string AddressText(const sockaddr* sa) {
  char buf[INET6_ADDRSTRLEN] = "?";
  if (sa->sa_family == AF_INET) {
    uv_ip4_name(reinterpret_cast<const sockaddr_in*>(sa), buf, sizeof buf);
  } else if (sa->sa_family == AF_INET6) {
    uv_ip6_name(reinterpret_cast<const sockaddr_in6*>(sa), buf, sizeof buf);
  }
  return buf;
}

}  // namespace

RelayAttempt* RelayAttempt::Start(uv_loop_t* loop, RelayTarget target, ClientSettings settings, uint64_t connect_ms,
                                  std::string sender, std::vector<std::string> recipients,
                                  std::shared_ptr<const std::string> message, Done done) {
  auto* a = new RelayAttempt(loop, std::move(target), std::move(settings), connect_ms, std::move(sender),
                             std::move(recipients), std::move(message), std::move(done));
  a->Resolve();
  return a;
}

RelayAttempt::RelayAttempt(uv_loop_t* loop, RelayTarget target, ClientSettings settings, uint64_t connect_ms,
                           std::string sender, std::vector<std::string> recipients,
                           std::shared_ptr<const std::string> message, Done done)
    : loop_(loop),
      target_(std::move(target)),
      connect_ms_(connect_ms),
      message_(std::move(message)),
      done_(std::move(done)),
      relay_desc_(fmt::format("{}:{}", target_.host, target_.port)),
      conn_(loop, this),
      client_(this, std::move(settings), std::move(sender), std::move(recipients), message_.get()) {}

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
  const std::string ip = AddressText(res->ai_addr);
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
  if (!client_.finished()) {
    client_.OnClosed(failure_dsn_, failure_);  // empty: "lost connection"
  }
  auto done = std::move(done_);
  done(*this);
  delete this;
}

}  // namespace mailnest
