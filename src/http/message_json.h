// The JSON an index entry becomes, in one place: the data of the
// message.new event (index fields: known at once, from the file name), and
// one item of GET /api/v1/messages or the message of /api/v1/wait (those
// plus the header summary).
#pragma once

#include <nlohmann/json.hpp>

namespace mailnest {

struct IndexedMessage;

// What the index knows from the file name: id, mailbox, size, time, flags,
// unseen, seq.
nlohmann::json MessageIndexFields(const IndexedMessage& m);
// Those plus the header summary (http/message_summary.h): from, to, cc,
// subject, date, message_id, return_path, snippet, attachments, each null
// until the summary has been parsed.
nlohmann::json MessageListItem(const IndexedMessage& m);

}  // namespace mailnest
