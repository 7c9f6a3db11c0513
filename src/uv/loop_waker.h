// A wake-up that any thread can send to the loop thread: an eventfd watched
// by a uv_poll_t, plus a flag so that only the first Wake() of a round
// costs a write(2).
//
// Why not uv_async_t: in libuv 1.44 (Debian 12) uv_async_send marks the
// handle busy, writes the loop's eventfd and only then marks it done, and
// the woken loop spins (about a thousand `pause` instructions, then
// sched_yield) until that second mark. On two vCPUs the loop often wakes
// before the sender's write(2) has returned, or the sender is preempted
// by the very thread it woke: perf showed that spin as ~8% of the loop
// thread's CPU during SMTP intake. Newer libuv dropped the spin; this
// class does not need it at all.
//
// Contract: Wake() is safe from any thread until Close(); on_wake runs on
// the loop thread at least once after every Wake(), possibly once for
// several, and possibly with nothing new to do (the caller drains its own
// queue). Close() is a loop-thread call after which no thread may Wake();
// the object deletes itself from the handle's close callback, then calls
// `closed`.
#pragma once

#include <uv.h>

#include <atomic>
#include <functional>

#include "base/status.h"

namespace mailnest {

class LoopWaker {
 public:
  // Creates the eventfd and starts watching it; *out is owned by the loop
  // until Close().
  static Status Open(uv_loop_t* loop, std::function<void()> on_wake, LoopWaker** out);
  LoopWaker(const LoopWaker&) = delete;
  LoopWaker& operator=(const LoopWaker&) = delete;

  void Wake();
  void Close(std::function<void()> closed);

 private:
  LoopWaker(int fd, std::function<void()> on_wake);
  ~LoopWaker();
  static void OnReadable(uv_poll_t* handle, int status, int events);

  uv_poll_t poll_;
  int fd_;
  // True from the Wake() that wrote the eventfd until the loop has read
  // it: later Wake()s in between need no write.
  std::atomic<bool> armed_{false};
  std::function<void()> on_wake_;
  std::function<void()> on_closed_;
};

}  // namespace mailnest
