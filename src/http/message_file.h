// Opening the file of an index entry on a thread-pool thread. The path is
// built from the entry (a mailbox name the index validated and a file name
// it listed), never from a request. If the file moved between new/ and
// cur/ since the index saw it, the other directory is searched for the
// same unique part (a reader's move or a flag change).
#pragma once

#include <string>

#include "http/message_index.h"

namespace mailnest {

// A copy of what locates an entry: safe to hand to a pool thread while the
// loop changes the index.
struct MessageLocation {
  std::string id;
  std::string mailbox;
  std::string unique;
  std::string file_name;
  bool in_new = true;
};

MessageLocation LocationOf(const IndexedMessage& m);

// Pool thread. A read-only descriptor of the regular file (O_NOFOLLOW), or
// -1 with *gone set when no such file exists any more.
int OpenMessageFile(const std::string& mail_root, const MessageLocation& loc, bool* gone);

}  // namespace mailnest
