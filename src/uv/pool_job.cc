#include "uv/pool_job.h"

#include <cstdio>
#include <cstdlib>

namespace mailnest {

namespace {
struct PoolJob {
  uv_work_t req;
  std::function<void()> work;
  std::function<void()> after;
};
}  // namespace

void QueuePoolJob(uv_loop_t* loop, std::function<void()> work, std::function<void()> after) {
  auto* job = new PoolJob{{}, std::move(work), std::move(after)};
  job->req.data = job;
  int r = uv_queue_work(
      loop, &job->req, [](uv_work_t* req) { static_cast<PoolJob*>(req->data)->work(); },
      [](uv_work_t* req, int) {
        // Never cancelled (see header), so status is always 0.
        auto* j = static_cast<PoolJob*>(req->data);
        auto after_cb = std::move(j->after);
        delete j;
        if (after_cb) after_cb();
      });
  if (r != 0) {
    // uv_queue_work only fails on a null callback: a programming error.
    std::fprintf(stderr, "mailnest: uv_queue_work failed (%d)\n", r);
    std::abort();
  }
}

}  // namespace mailnest
