#include "pop3/one_shot_timer.h"

namespace mailnest {

struct OneShotTimer::Block {
  uv_timer_t timer;
  std::function<void()> fired;
};

OneShotTimer::OneShotTimer(uv_loop_t* loop) : block_(new Block) {
  uv_timer_init(loop, &block_->timer);
  block_->timer.data = block_;
}

OneShotTimer::~OneShotTimer() {
  block_->fired = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(&block_->timer),
           [](uv_handle_t* h) { delete static_cast<Block*>(h->data); });
}

void OneShotTimer::Start(uint64_t ms, std::function<void()> fired) {
  block_->fired = std::move(fired);
  uv_timer_start(
      &block_->timer,
      [](uv_timer_t* t) {
        auto* b = static_cast<Block*>(t->data);
        // Move out first: the callback may restart or destroy the timer.
        auto cb = std::move(b->fired);
        b->fired = nullptr;
        if (cb) cb();
      },
      ms, 0);
}

void OneShotTimer::Stop() {
  uv_timer_stop(&block_->timer);
  block_->fired = nullptr;
}

bool OneShotTimer::active() const {
  return uv_is_active(reinterpret_cast<const uv_handle_t*>(&block_->timer)) != 0;
}

}  // namespace mailnest
