// Keeps an h2o request reachable across an asynchronous step (a thread-pool
// read, a wait). h2o frees a request with its memory pool; a slot placed in
// that pool clears req() when that happens, so a late answer is dropped
// instead of written into freed memory. Loop-thread only.
#pragma once

#include <h2o.h>

#include <memory>

namespace mailnest {

class DeferredRequest {
 public:
  static std::shared_ptr<DeferredRequest> Make(h2o_req_t* req);
  // The request while it still waits for its answer; nullptr once h2o
  // freed it or Take() was called.
  h2o_req_t* req() const { return req_; }
  // The request, once: the caller answers it now.
  h2o_req_t* Take() {
    h2o_req_t* r = req_;
    req_ = nullptr;
    return r;
  }

 private:
  static void OnPoolDispose(void* slot);
  h2o_req_t* req_ = nullptr;
};

}  // namespace mailnest
