// `mailnest mailboxes`: count and size every mailbox from directory entries
// and the S=<size> field of Maildir names (stat() as fallback), never
// opening a message.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace mailnest {

struct MailboxStats {
  std::string name;
  uint64_t messages = 0;
  uint64_t octets = 0;
};

// Runs synchronously: for the CLI only, never on the loop thread.
Status ListMailboxes(const std::string& mail_root, std::vector<MailboxStats>* out);

}  // namespace mailnest
