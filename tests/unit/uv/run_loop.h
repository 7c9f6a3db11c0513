// Running a real uv loop in a unit test for a bounded time: a helper timer
// wakes the loop, so a test that waits for something that never happens
// fails after `ms` instead of hanging.
#pragma once

#include <uv.h>

#include <cstdint>

namespace mailnest::testing {

// Runs the loop until done() or until `ms` of loop time have passed;
// returns done().
template <typename Done>
bool RunUntil(uv_loop_t* loop, Done done, uint64_t ms) {
  uv_timer_t t;
  uv_timer_init(loop, &t);
  bool expired = false;
  t.data = &expired;
  uv_timer_start(&t, [](uv_timer_t* h) { *static_cast<bool*>(h->data) = true; }, ms, 0);
  while (!done() && !expired) uv_run(loop, UV_RUN_ONCE);
  uv_close(reinterpret_cast<uv_handle_t*>(&t), nullptr);
  uv_run(loop, UV_RUN_NOWAIT);
  return done();
}

// Runs the loop for `ms` of loop time.
inline void RunFor(uv_loop_t* loop, uint64_t ms) {
  RunUntil(loop, [] { return false; }, ms);
}

}  // namespace mailnest::testing
