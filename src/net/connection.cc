#include "net/connection.h"

#include <sys/ioctl.h>

#include <csignal>
#include <cstring>
#include <mutex>

#include "net/address_name.h"

namespace mailnest {

namespace {
// One read buffer for the whole loop (single-threaded): handlers consume
// synchronously, so per-connection buffers would only waste memory.
char g_read_buffer[64 * 1024];

std::string PeerName(uv_tcp_t* tcp) {
  sockaddr_storage ss;
  int len = sizeof ss;
  if (uv_tcp_getpeername(tcp, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "unknown";
  return AddressName(ss);
}
}  // namespace

std::string Connection::LocalName() const {
  sockaddr_storage ss;
  int len = sizeof ss;
  if (uv_tcp_getsockname(&tcp_, reinterpret_cast<sockaddr*>(&ss), &len) != 0) return "unknown";
  return AddressName(ss);
}

struct Connection::WriteReq {
  uv_write_t req;
  Connection* conn;
  std::string bytes;  // owned until OnWriteCb
};

Connection::Connection(uv_loop_t* loop, Handler* handler) : loop_(loop), handler_(handler) {
  // libuv writes to sockets with write(2)/writev(2), which raise SIGPIPE
  // when the peer has gone (FIN answered by RST): with the default action
  // that kills the whole server, and every session with it. A write error is
  // already handled per connection (Flush/OnWriteCb close it), so the
  // signal is never wanted. Process-wide, done once, as Node does at start.
  static std::once_flag ignore_sigpipe;
  std::call_once(ignore_sigpipe, [] { std::signal(SIGPIPE, SIG_IGN); });
  uv_tcp_init(loop_, &tcp_);
  uv_timer_init(loop_, &timer_);
  tcp_.data = this;
  timer_.data = this;
}

int Connection::Accept(uv_stream_t* server) {
  int r = uv_accept(server, reinterpret_cast<uv_stream_t*>(&tcp_));
  if (r != 0) {
    Close();
    return r;
  }
  uv_tcp_nodelay(&tcp_, 1);
  peer_ = PeerName(&tcp_);
  ResumeReading();
  return 0;
}

void Connection::Connect(const sockaddr* addr, std::function<void(int status)> done) {
  on_connect_ = std::move(done);
  connect_req_.data = this;
  int r = uv_tcp_connect(&connect_req_, &tcp_, addr, [](uv_connect_t* req, int status) {
    auto* self = static_cast<Connection*>(req->data);
    auto cb = std::move(self->on_connect_);
    self->on_connect_ = nullptr;
    if (self->closing_) return;  // UV_ECANCELED after Close(): nobody waits
    if (status == 0) {
      uv_tcp_nodelay(&self->tcp_, 1);
      self->peer_ = PeerName(&self->tcp_);
      self->ResumeReading();
    } else {
      self->Close();
    }
    if (cb) cb(status);
  });
  if (r != 0) {
    auto cb = std::move(on_connect_);
    on_connect_ = nullptr;
    Close();
    if (cb) cb(r);
  }
}

void Connection::OnAlloc(uv_handle_t*, size_t, uv_buf_t* buf) {
  buf->base = g_read_buffer;
  buf->len = sizeof g_read_buffer;
}

void Connection::OnReadCb(uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
  auto* self = static_cast<Connection*>(s->data);
  if (n < 0) {  // UV_EOF or an error: either way the peer is gone
    self->Close();
    return;
  }
  if (n == 0 || self->closing_ || self->lingering_) return;  // lingering: discard
  self->dispatching_ = true;
  self->handler_->OnRead(buf->base, static_cast<size_t>(n));
  self->dispatching_ = false;
  if (!self->closing_) self->Flush();
}

void Connection::Write(std::string_view bytes) {
  if (closing_ || lingering_) return;  // nothing can follow our FIN
  out_.append(bytes);
  if (!dispatching_) Flush();
}

void Connection::Flush() {
  if (closing_) return;
  if (in_flight_ > 0) {  // OnWriteCb sends the rest
    CheckBacklog();
    return;
  }
  if (out_.empty()) {
    if (close_after_write_) Linger();
    return;
  }
  // Fast path: most replies fit in the socket buffer at once.
  uv_buf_t b = uv_buf_init(out_.data(), static_cast<unsigned>(out_.size()));
  int n = uv_try_write(reinterpret_cast<uv_stream_t*>(&tcp_), &b, 1);
  if (n > 0) out_.erase(0, static_cast<size_t>(n));
  if (out_.empty()) {
    if (close_after_write_) {
      Linger();
    } else {
      if (blocked_) {
        blocked_ = false;
        UpdateReading();
      }
      handler_->OnWritable();
    }
    return;
  }
  if (n < 0 && n != UV_EAGAIN) {
    Close();
    return;
  }
  auto* req = new WriteReq{{}, this, std::move(out_)};
  out_.clear();
  in_flight_ = req->bytes.size();
  uv_buf_t wb = uv_buf_init(req->bytes.data(), static_cast<unsigned>(req->bytes.size()));
  int r = uv_write(&req->req, reinterpret_cast<uv_stream_t*>(&tcp_), &wb, 1, OnWriteCb);
  if (r != 0) {
    in_flight_ = 0;
    delete req;
    Close();
    return;
  }
  CheckBacklog();
}

void Connection::CheckBacklog() {
  if (blocked_ || write_backlog() <= kMaxWriteBacklog) return;
  blocked_ = true;
  UpdateReading();
}

void Connection::OnWriteCb(uv_write_t* req, int status) {
  auto* w = reinterpret_cast<WriteReq*>(req);
  Connection* self = w->conn;
  delete w;
  self->in_flight_ = 0;
  if (status < 0) {  // UV_ECANCELED after Close(), or a broken pipe
    self->Close();
    return;
  }
  if (self->out_.empty() && !self->close_after_write_ && !self->closing_) {
    // The backlog just fell to zero through this write (Flush() only
    // reports that for writes uv_try_write finished): a streaming handler
    // (POP3 RETR) waits for exactly this to produce its next chunk, and a
    // blocked connection reads again.
    self->blocked_ = false;
    self->UpdateReading();
    self->handler_->OnWritable();
    return;
  }
  self->Flush();
}

void Connection::CloseAfterWrite() {
  if (lingering_) return;  // already half-closed; the linger timer runs
  close_after_write_ = true;
  PauseReading();
  uv_timer_stop(&timer_);
  deadline_ = armed_for_ = 0;
  if (!dispatching_) Flush();
}

void Connection::Linger() {
  if (lingering_ || closing_) return;
  lingering_ = true;
  auto* stream = reinterpret_cast<uv_stream_t*>(&tcp_);
  shutdown_req_.data = this;
  if (uv_shutdown(&shutdown_req_, stream, OnShutdownCb) != 0) {
    Close();
    return;
  }
  if (!reading_) {
    if (uv_read_start(stream, OnAlloc, OnReadCb) != 0) {
      Close();  // the shutdown request is cancelled (OnShutdownCb) before the close callbacks
      return;
    }
    reading_ = true;
  }
  ArmTimer(kCloseLingerMs);
}

void Connection::OnShutdownCb(uv_shutdown_t* req, int status) {
  // status 0: the FIN is queued; now the peer's EOF (OnReadCb) or the
  // linger timer closes. UV_ECANCELED: Close() came first.
  if (status < 0) static_cast<Connection*>(req->data)->Close();
}

void Connection::Close() {
  if (closing_) return;
  closing_ = true;
  pending_closes_ = 2;
  uv_close(reinterpret_cast<uv_handle_t*>(&timer_), OnCloseCb);
  uv_close(reinterpret_cast<uv_handle_t*>(&tcp_), OnCloseCb);
}

void Connection::OnCloseCb(uv_handle_t* h) {
  auto* self = static_cast<Connection*>(h->data);
  if (--self->pending_closes_ == 0) self->handler_->OnClosed();
}

void Connection::SetTimeout(uint64_t ms) {
  if (closing_ || lingering_) return;  // lingering: kCloseLingerMs bounds what is left
  if (ms == 0) {
    deadline_ = 0;  // an armed timer fires once more and finds nothing to do
    return;
  }
  ArmTimer(ms);
}

void Connection::ArmTimer(uint64_t ms) {
  deadline_ = uv_now(loop_) + ms;
  if (armed_for_ != 0 && armed_for_ <= deadline_) return;  // it re-arms for the rest
  armed_for_ = deadline_;
  uv_timer_start(&timer_, OnTimerCb, ms, 0);
}

void Connection::OnTimerCb(uv_timer_t* t) {
  auto* self = static_cast<Connection*>(t->data);
  self->armed_for_ = 0;
  if (self->closing_ || self->deadline_ == 0) return;
  uint64_t now = uv_now(self->loop_);
  if (now < self->deadline_) {
    self->armed_for_ = self->deadline_;
    uv_timer_start(&self->timer_, OnTimerCb, self->deadline_ - now, 0);
    return;
  }
  self->deadline_ = 0;
  if (self->lingering_) {
    self->Close();  // the peer did not close within kCloseLingerMs
    return;
  }
  self->handler_->OnTimeout();
}

int Connection::fd() const {
  uv_os_fd_t fd;
  if (closing_ || uv_fileno(reinterpret_cast<const uv_handle_t*>(&tcp_), &fd) != 0) return -1;
  return fd;
}

size_t Connection::PendingInputBytes() const {
  if (closing_) return 0;
  uv_os_fd_t fd;
  if (uv_fileno(reinterpret_cast<const uv_handle_t*>(&tcp_), &fd) != 0) return 0;
  int n = 0;
  if (ioctl(fd, FIONREAD, &n) != 0 || n < 0) return 0;
  return static_cast<size_t>(n);
}

void Connection::PauseReading() {
  want_reading_ = false;
  UpdateReading();
}

void Connection::ResumeReading() {
  want_reading_ = true;
  UpdateReading();
}

void Connection::UpdateReading() {
  if (closing_ || lingering_) return;  // lingering: Linger() reads (and discards) until EOF
  bool want = want_reading_ && !close_after_write_ && !write_blocked();
  if (want == reading_) return;
  if (!want) {
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&tcp_));
    reading_ = false;
  } else if (uv_read_start(reinterpret_cast<uv_stream_t*>(&tcp_), OnAlloc, OnReadCb) == 0) {
    reading_ = true;
  }
}

}  // namespace mailnest
