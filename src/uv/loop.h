// Helpers for owning the one uv_loop_t and shutting it down cleanly.
#pragma once

#include <uv.h>

#include <functional>
#include <string>

namespace mailnest {

// A uv_loop_t on the heap with the drain-then-close shutdown of uvw/CMake:
// the destructor closes every handle still open, runs the loop until their
// close callbacks have run, and only then calls uv_loop_close.
class Loop {
 public:
  Loop();
  ~Loop();
  Loop(const Loop&) = delete;
  Loop& operator=(const Loop&) = delete;
  uv_loop_t* get() { return &loop_; }
  int Run() { return uv_run(&loop_, UV_RUN_DEFAULT); }

 private:
  uv_loop_t loop_;
};

std::string UvError(int err);  // "ECONNRESET (connection reset by peer)"

}  // namespace mailnest
