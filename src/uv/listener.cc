#include "uv/listener.h"

#include <fmt/format.h>

#include "uv/loop.h"

namespace mailnest {

Listener::Listener(uv_loop_t* loop, OnConnection cb) : loop_(loop), cb_(std::move(cb)) {}

Listener::~Listener() {
  // A handle still open here would be freed under libuv's feet; detach it
  // instead so its close callback (from the loop drain) frees it.
  if (handle_) {
    handle_->owner = nullptr;
    if (!uv_is_closing(reinterpret_cast<uv_handle_t*>(&handle_->tcp))) Close();
  }
}

Status Listener::Listen(const std::string& address, int port, int backlog) {
  sockaddr_storage ss;
  if (uv_ip4_addr(address.c_str(), port, reinterpret_cast<sockaddr_in*>(&ss)) != 0 &&
      uv_ip6_addr(address.c_str(), port, reinterpret_cast<sockaddr_in6*>(&ss)) != 0) {
    return Status::Invalid(fmt::format("listen address '{}' is not an IPv4 or IPv6 address", address));
  }
  handle_ = new Handle{{}, this, {}};
  uv_tcp_init(loop_, &handle_->tcp);
  handle_->tcp.data = handle_;
  int r = uv_tcp_bind(&handle_->tcp, reinterpret_cast<sockaddr*>(&ss), 0);
  if (r == 0) r = uv_listen(reinterpret_cast<uv_stream_t*>(&handle_->tcp), backlog, OnConnectionCb);
  if (r != 0) {
    Close();
    return Status::IoError(fmt::format("cannot listen on {}:{}: {}", address, port, UvError(r)));
  }
  sockaddr_storage bound;
  int len = sizeof bound;
  uv_tcp_getsockname(&handle_->tcp, reinterpret_cast<sockaddr*>(&bound), &len);
  bound_port_ = ntohs(bound.ss_family == AF_INET ? reinterpret_cast<sockaddr_in*>(&bound)->sin_port
                                                  : reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port);
  address_ = address;
  return Status::Ok();
}

void Listener::OnConnectionCb(uv_stream_t* s, int status) {
  auto* h = static_cast<Handle*>(s->data);
  if (!h->owner) return;
  if (status < 0) {
    if (h->owner->on_error_) h->owner->on_error_(status);
    return;
  }
  h->owner->cb_(s);
}

void Listener::Close(std::function<void()> done) {
  if (!handle_) {
    if (done) done();
    return;
  }
  Handle* h = handle_;
  handle_ = nullptr;
  h->done = std::move(done);
  uv_close(reinterpret_cast<uv_handle_t*>(&h->tcp), [](uv_handle_t* uh) {
    auto* hh = static_cast<Handle*>(uh->data);
    auto done_cb = std::move(hh->done);
    delete hh;
    if (done_cb) done_cb();
  });
}

}  // namespace mailnest
