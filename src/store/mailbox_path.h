// The one place a mailbox name becomes a directory path.
#pragma once

#include <string>

#include "base/status.h"

namespace mailnest {

// *out = "<mail_root>/<name>". Status::Invalid, before any I/O, unless name
// passes IsValidMailboxName (so no '/', NUL, leading '.', "..", "%2e%2e" is
// just an invalid character) and the joined path, lexically normalised,
// is a direct child of the normalised mail_root. mail_root must be non-empty.
Status MailboxDir(const std::string& mail_root, const std::string& name, std::string* out);

}  // namespace mailnest
