// `mailnest show ID [--config FILE]`: the terminal twin of
// GET /api/v1/messages/{id}. Finds the message by the same id the index
// gives it (MessageIndex::MakeId over the Maildir names, no server needed),
// parses it with the same GMime code and prints its decoded headers, its
// text part and its attachments. Runs on the calling thread (no loop).
#pragma once

#include <string>

#include "base/config.h"

namespace mailnest {

// Exit status: 0 shown, 1 not found or unreadable, 2 not an id.
int RunShow(const Config& config, const std::string& id);

}  // namespace mailnest
