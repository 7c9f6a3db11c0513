// Reading a Maildir that other programs share (Dovecot, mutt, getmail):
// the POP3 size of any message file, and finding a message again after
// another program renamed it (a flag change renames "<unique>:2,<flags>").
// Blocking: pool threads and the CLI only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/status.h"
#include "store/maildir_name.h"

namespace mailnest {

// The octets POP3 sends for the file dir/name (every line end as CR LF):
// its W= when the name's S= and W= are consistent (TrustedWireSize), else
// counted from the file (CountWireSize, remembered). NotFound when the file
// is gone.
Status MessageWireSize(const std::string& dir, const std::string& name, const MaildirNameParts& parts,
                       uint64_t* out);

// The name in dir of the message whose unique part is `unique` (its name up
// to ":2,"), e.g. after a flag change by another program. NotFound if none.
Status FindByUnique(const std::string& dir, std::string_view unique, std::string* name);

}  // namespace mailnest
