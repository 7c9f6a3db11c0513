#include "uv/loop_waker.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstring>

#include "uv/loop.h"

namespace mailnest {

Status LoopWaker::Open(uv_loop_t* loop, std::function<void()> on_wake, LoopWaker** out) {
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) return Status::IoError(std::string("eventfd: ") + std::strerror(errno));
  auto* w = new LoopWaker(fd, std::move(on_wake));
  int r = uv_poll_init(loop, &w->poll_, fd);
  if (r != 0) {
    delete w;  // no handle yet: nothing for the loop to close
    return Status::IoError("watching the loop's wake-up eventfd: " + UvError(r));
  }
  r = uv_poll_start(&w->poll_, UV_READABLE, &LoopWaker::OnReadable);
  if (r != 0) {
    w->Close(nullptr);  // the handle exists: freed from its close callback
    return Status::IoError("watching the loop's wake-up eventfd: " + UvError(r));
  }
  *out = w;
  return Status::Ok();
}

LoopWaker::LoopWaker(int fd, std::function<void()> on_wake) : fd_(fd), on_wake_(std::move(on_wake)) {
  poll_.data = this;
}

LoopWaker::~LoopWaker() { ::close(fd_); }

void LoopWaker::Wake() {
  // One write per round: the loop clears the flag before it runs on_wake,
  // so whatever a caller queued before this call is seen by that run or
  // by the one this write causes.
  if (armed_.exchange(true, std::memory_order_acq_rel)) return;
  const uint64_t one = 1;
  ssize_t n;
  do {
    n = ::write(fd_, &one, sizeof one);
  } while (n < 0 && errno == EINTR);
  // EAGAIN means the counter is full, i.e. a wake-up is pending anyway.
}

void LoopWaker::OnReadable(uv_poll_t* handle, int status, int) {
  auto* w = static_cast<LoopWaker*>(handle->data);
  uint64_t count;
  ssize_t n;
  do {
    n = ::read(w->fd_, &count, sizeof count);
  } while (n < 0 && errno == EINTR);
  // Cleared before on_wake drains the caller's queue (see Wake).
  w->armed_.store(false, std::memory_order_seq_cst);
  (void)status;  // an error on an eventfd cannot happen; draining is harmless anyway
  if (w->on_wake_) w->on_wake_();
}

void LoopWaker::Close(std::function<void()> closed) {
  on_closed_ = std::move(closed);
  uv_close(reinterpret_cast<uv_handle_t*>(&poll_), [](uv_handle_t* h) {
    auto* w = static_cast<LoopWaker*>(h->data);
    auto cb = std::move(w->on_closed_);
    delete w;
    if (cb) cb();
  });
}

}  // namespace mailnest
