// Creating the mail root at start-up (before the loop runs, so plain
// blocking calls are fine here).
#pragma once

#include <string>

#include "base/status.h"

namespace mailnest {

// Makes sure mail_root exists as a directory, creating it and any missing
// parents as `mkdir -p` does: parents with mode 0755 (less the umask), the
// mail root itself `mode` (store.dir_mode, 0700 by default) because it holds
// every user's mail. An existing mail root is left as it is (mode included);
// *created (if given) says whether this call made it. On failure the message names
// the path that could not be created or used and the errno text, e.g.
// "cannot create /srv/mail (for mail_root /srv/mail/x): Permission denied".
Status EnsureMailRoot(const std::string& mail_root, unsigned mode = 0700, bool* created = nullptr);

}  // namespace mailnest
