// `mailnest mailboxes`: count and size every mailbox from directory entries
// and the W=<size> field of Maildir names: the sizes POP3 reports (every
// line end counted as CR LF). A file without a trustworthy W= (an older
// mailnest, another MDA) is read to count it, as POP3 does.
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
