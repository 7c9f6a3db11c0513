#include "uv/loop.h"

#include <fmt/format.h>

#include <cstdlib>

namespace mailnest {

Loop::Loop() {
  int r = uv_loop_init(&loop_);
  if (r != 0) {
    fmt::print(stderr, "mailnest: uv_loop_init: {}\n", UvError(r));
    std::abort();
  }
}

Loop::~Loop() {
  // Close whatever is still open; the handles' owners are told through
  // their close callbacks and free themselves there.
  uv_walk(
      &loop_,
      [](uv_handle_t* h, void*) {
        if (!uv_is_closing(h)) uv_close(h, nullptr);
      },
      nullptr);
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_loop_close(&loop_);
}

std::string UvError(int err) { return fmt::format("{} ({})", uv_err_name(err), uv_strerror(err)); }

}  // namespace mailnest
