// One accepted TCP connection on the loop: the socket, an idle timer and an
// ordered write queue.
//
// Ownership (after CMake's cmUVHandlePtr and Node's HandleWrap): the
// Connection is embedded in its session object, which must stay alive until
// Handler::OnClosed() — called from the last of the two close callbacks.
// Only then may the session free itself (and this Connection with it).
// Close() is idempotent; after it no Handler callback except OnClosed fires.
//
// Writes: Write() appends to an output buffer. While the handler is inside
// OnRead() the buffer is flushed once when OnRead() returns (so a pipelined
// batch of commands costs one write); otherwise Write() flushes at once.
// At most one uv_write is in flight; its request owns its bytes until the
// callback (which may report UV_ECANCELED after Close()).
//
// Backpressure, the one rule for every protocol: once more than
// kMaxWriteBacklog octets are unsent the connection stops reading by itself
// (whatever the handler asked for) and starts again only when the backlog
// has drained to zero, then calls OnWritable(). A handler dispatching
// buffered input checks write_blocked() before each command, so a client
// that pipelines without reading holds at most one read's worth of input
// and about kMaxWriteBacklog of replies.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace mailnest {

class Connection {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    // Bytes from the peer. They live in a buffer shared by the whole loop:
    // consume or copy them before returning.
    virtual void OnRead(const char* data, size_t len) = 0;
    // The idle timer set with SetTimeout() expired.
    virtual void OnTimeout() = 0;
    // The write backlog fell to zero (for streaming replies such as RETR).
    virtual void OnWritable() {}
    // Both handles are closed; nothing touches the handler after this.
    virtual void OnClosed() = 0;
  };

  static constexpr size_t kMaxWriteBacklog = 64 * 1024;

  Connection(uv_loop_t* loop, Handler* handler);
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  // Accepts from a listening socket and starts reading. On failure the
  // connection closes itself (OnClosed follows) and the error is returned.
  int Accept(uv_stream_t* server);

  // The client side (the relay): connects to addr; once connected, reading
  // starts and done(0) runs; on failure done(error) runs and the connection
  // closes itself (OnClosed follows). done never runs after Close().
  void Connect(const sockaddr* addr, std::function<void(int status)> done);

  // How long a closing connection keeps reading (and discarding) after its
  // FIN, waiting for the peer's: see CloseAfterWrite().
  static constexpr uint64_t kCloseLingerMs = 2000;

  void Write(std::string_view bytes);
  void Flush();
  // Closes once everything written so far has been sent, as a lingering
  // close (Apache's lingering_close): half-close (FIN), read and discard
  // until the peer's EOF or kCloseLingerMs, then close. Closing at once
  // while the peer's input is unread, or still arriving (a pipelined QUIT
  // behind a command that ends the session), makes the kernel send an RST,
  // and an RST can destroy the final reply in the peer's receive queue
  // before the peer has read it. No handler callback but OnClosed follows.
  void CloseAfterWrite();
  void Close();

  // (Re)starts the idle timer; 0 stops it. Lazy: a later deadline only
  // moves deadline_, and the uv timer, when it fires early, re-arms for the
  // rest (as Node does). Sessions restart the timer on every command and
  // state change; uv_timer_start/stop each time was ~3% of the loop thread.
  void SetTimeout(uint64_t ms);
  // What the handler wants; reading really runs only while the write
  // backlog allows it (see above).
  void PauseReading();
  void ResumeReading();

  // Octets the peer has sent that the kernel holds unread (FIONREAD); SMTP
  // uses it right after accept to catch clients that talk before the
  // greeting. 0 when unknown.
  size_t PendingInputBytes() const;
  // The socket's descriptor; -1 before Accept or after Close.
  int fd() const;

  bool closing() const { return closing_; }
  size_t write_backlog() const { return out_.size() + in_flight_; }
  // Over the backlog limit, or not yet drained since it was: stop
  // producing replies until OnWritable().
  bool write_blocked() const { return blocked_ || write_backlog() > kMaxWriteBacklog; }
  const std::string& peer() const { return peer_; }
  // Our end's "ip:port" (one getsockname; for the session recorder).
  std::string LocalName() const;
  uv_loop_t* loop() const { return loop_; }

 private:
  struct WriteReq;
  static void OnAlloc(uv_handle_t*, size_t, uv_buf_t* buf);
  static void OnReadCb(uv_stream_t* s, ssize_t n, const uv_buf_t* buf);
  static void OnWriteCb(uv_write_t* req, int status);
  static void OnTimerCb(uv_timer_t* t);
  static void OnCloseCb(uv_handle_t* h);
  void UpdateReading();
  void CheckBacklog();  // sets blocked_ (and stops reading) over the limit
  static void OnShutdownCb(uv_shutdown_t* req, int status);
  void Linger();
  void ArmTimer(uint64_t ms);

  uv_loop_t* loop_;
  Handler* handler_;
  uv_tcp_t tcp_;
  uv_timer_t timer_;
  uv_shutdown_t shutdown_req_;
  uv_connect_t connect_req_;  // in flight only while connecting
  std::function<void(int)> on_connect_;  // in flight only while lingering_
  uint64_t deadline_ = 0;   // uv_now() at which the idle timeout expires; 0: none
  uint64_t armed_for_ = 0;  // uv_now() at which timer_ fires; 0: not armed
  std::string out_;
  size_t in_flight_ = 0;
  int pending_closes_ = 0;
  bool closing_ = false;
  bool close_after_write_ = false;
  bool reading_ = false;       // uv_read_start is in effect
  bool want_reading_ = false;  // the handler's wish
  bool blocked_ = false;       // backlog went over the limit; cleared at zero
  bool lingering_ = false;  // FIN sent (or sending); input is discarded
  bool dispatching_ = false;
  std::string peer_;
};

}  // namespace mailnest
