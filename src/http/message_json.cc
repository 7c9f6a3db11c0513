#include "http/message_json.h"

#include "http/message_index.h"

namespace mailnest {

nlohmann::json MessageListItem(const IndexedMessage& m) {
  return {{"id", m.id()},         {"mailbox", m.mailbox()}, {"size", m.size}, {"time", m.time},
          {"flags", m.flags()},   {"unseen", m.in_new},     {"seq", m.seq}};
}

}  // namespace mailnest
