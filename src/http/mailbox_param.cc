#include "http/mailbox_param.h"

#include <fmt/format.h>

#include "http/http_reply.h"
#include "http/message_index.h"
#include "base/config.h"

namespace mailnest {

bool TakeMailboxParam(h2o_req_t* req, const std::map<std::string, std::string>& q, const MessageIndex& index,
                      bool closing, std::string* out, const std::function<bool(const std::string&)>& also_known) {
  out->clear();
  auto it = q.find("mailbox");
  if (it == q.end()) return true;
  if (!IsValidMailboxName(it->second)) {
    SendError(req, 400, "mailbox: not a valid mailbox name", closing);
    return false;
  }
  if (!index.HasMailbox(it->second) && !(also_known && also_known(it->second))) {
    SendError(req, 404, fmt::format("mailbox: no mailbox '{}'", it->second), closing);
    return false;
  }
  *out = it->second;
  return true;
}

}  // namespace mailnest
