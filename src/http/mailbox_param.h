// The mailbox= parameter shared by the listing, wait and DELETE endpoints:
// one check, so they answer a bad or unknown name alike.
#pragma once

#include <h2o.h>

#include <functional>
#include <map>
#include <string>

namespace mailnest {

class MessageIndex;

// Absent: true with *out "" (every mailbox). A name that is not a mailbox
// name: 400. A name the index does not know and also_known (if given)
// does not accept (e.g. a configured user a wait may name before the first
// message): 404. false: the request is answered already.
bool TakeMailboxParam(h2o_req_t* req, const std::map<std::string, std::string>& q, const MessageIndex& index,
                      bool closing, std::string* out,
                      const std::function<bool(const std::string&)>& also_known = nullptr);

}  // namespace mailnest
