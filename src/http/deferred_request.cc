#include "http/deferred_request.h"

#include <new>

namespace mailnest {

using Slot = std::shared_ptr<DeferredRequest>;

std::shared_ptr<DeferredRequest> DeferredRequest::Make(h2o_req_t* req) {
  auto d = std::make_shared<DeferredRequest>();
  d->req_ = req;
  void* slot = h2o_mem_alloc_shared(&req->pool, sizeof(Slot), &DeferredRequest::OnPoolDispose);
  new (slot) Slot(d);
  return d;
}

void DeferredRequest::OnPoolDispose(void* slot) {
  auto* s = static_cast<Slot*>(slot);
  (*s)->req_ = nullptr;
  s->~Slot();
}

}  // namespace mailnest
