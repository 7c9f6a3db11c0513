// The JSON an index entry becomes: one item of GET /api/v1/messages, the
// message of /api/v1/wait and the data of the message.new event, so that
// all three always carry the same fields.
#pragma once

#include <nlohmann/json.hpp>

namespace mailnest {

struct IndexedMessage;

nlohmann::json MessageListItem(const IndexedMessage& m);

}  // namespace mailnest
