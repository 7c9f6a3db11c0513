// DELETE /api/v1/messages/{id} and DELETE /api/v1/messages?mailbox=M: the
// request side (checks, answers); http/message_deleter.h does the removal
// off the loop with POP3's lock and journal barrier.
#include <fmt/format.h>

#include "base/config.h"
#include "http/api.h"
#include "http/deferred_request.h"
#include "http/http_reply.h"
#include "http/message_deleter.h"
#include "http/message_index.h"

namespace mailnest {

namespace {

void Answer(h2o_req_t* req, const DeleteResult& r, bool closing) {
  switch (r.code) {
    case DeleteResult::kOk:
      return SendJson(req, 200, {{"deleted", r.deleted}}, closing);
    case DeleteResult::kBusy:
      return SendError(req, 409, "mailbox in use", closing);
    case DeleteResult::kGone:
      return SendError(req, 404, "no such message", closing);
    case DeleteResult::kError:
      return SendError(req, 500, "messages could not be deleted", closing);
  }
}

}  // namespace

void Api::DeleteMessage(h2o_req_t* req, std::string_view id, const Params& q) {
  if (!q.empty()) return SendError(req, 400, fmt::format("{}: unknown parameter", q.begin()->first), closing());
  const IndexedMessage* m = MessageIndex::LooksLikeId(id) ? index_->Find(id) : nullptr;
  if (!m) return SendError(req, 404, "no such message", closing());
  if (!deleter_) return SendError(req, 500, "deleting is not available", closing());
  auto deferred = DeferredRequest::Make(req);
  deleter_->DeleteOne(*m, [this, deferred](const DeleteResult& r) {
    if (h2o_req_t* q = deferred->Take()) Answer(q, r, closing());
  });
}

void Api::DeleteMessages(h2o_req_t* req, std::string_view, const Params& q) {
  for (const auto& [k, v] : q) {
    if (k != "mailbox") return SendError(req, 400, fmt::format("{}: unknown parameter (mailbox)", k), closing());
  }
  if (!q.count("mailbox")) return SendError(req, 400, "mailbox: required", closing());
  std::string mailbox;
  if (!TakeMailbox(req, q, &mailbox)) return;
  if (!deleter_) return SendError(req, 500, "deleting is not available", closing());
  auto deferred = DeferredRequest::Make(req);
  deleter_->DeleteMailbox(mailbox, [this, deferred](const DeleteResult& r) {
    if (h2o_req_t* q = deferred->Take()) Answer(q, r, closing());
  });
}

}  // namespace mailnest
