// A uv_timer_t owned RAII-style by one object (e.g. the POP3 failed-login
// delay). The handle lives in a heap block that is freed only from its close
// callback, never from ~OneShotTimer: the destructor detaches the block and
// closes it, so the callback can no longer reach the (gone) owner and a
// closed timer never fires.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>

namespace mailnest {

class OneShotTimer {
 public:
  explicit OneShotTimer(uv_loop_t* loop);
  ~OneShotTimer();
  OneShotTimer(const OneShotTimer&) = delete;
  OneShotTimer& operator=(const OneShotTimer&) = delete;

  // (Re)starts the timer; fired runs once on the loop thread after ms.
  void Start(uint64_t ms, std::function<void()> fired);
  void Stop();
  bool active() const;

 private:
  struct Block;
  Block* block_;
};

}  // namespace mailnest
