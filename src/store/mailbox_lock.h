// The mailbox lock: an exclusive, non-blocking flock on
// <mailbox dir>/.mailnest.lock. POP3 holds it from login to UPDATE
// (pop3/maildrop.h) and the HTTP API's DELETE for the length of its
// removal (http/message_deleter.h), so the two never delete under each
// other. Kernel-held: it works across processes (the lab's POP3-only
// process) and dies with the process. Blocking I/O: pool threads only.
#pragma once

#include <string>

#include "base/status.h"

namespace mailnest {

// Takes the lock of the mailbox directory `dir` (which must exist).
// On success *fd holds it (close it to release). Busy when another holder
// has it; IoError otherwise. On failure *fd is untouched.
Status LockMailbox(const std::string& dir, int* fd);

}  // namespace mailnest
