// Maildir file names (https://cr.yp.to/proto/maildir.html):
//   new/<unique>            unique = "<sec>.M<usec>P<pid>Q<seq>.<host>,S=<size>"
//   cur/<unique>:2,<flags>
// The unique part is what POP3 uses as the UIDL, so it must never change
// when a message moves from new/ to cur/ or gets flags.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailnest {

// "<sec>.M<usec>P<pid>Q<seq>". seq is a process-wide atomic counter, so two
// calls never return the same base in one process, even 10k+ in one second;
// pid separates processes. Thread-safe.
std::string MakeUniqueBase();

// Hostname made safe for a Maildir name: '/' → "\057", ':' → "\072" (the
// djb/Dovecot convention) and ',' → "\054" so that ",S=" stays unambiguous.
std::string SanitizeMaildirHost(std::string_view host);

// The name a delivered file gets in new/: "<base>.<host>,S=<size>".
// size must be the exact file size in octets (readers trust it).
std::string MakeMaildirFileName(const std::string& base, std::string_view sanitized_host,
                                uint64_t size);

struct MaildirNameParts {
  std::string unique;            // everything before ":2," (or the whole name)
  std::optional<uint64_t> size;  // from ",S=<digits>" in the unique part
  std::string info;              // everything after ":2," (flags), may be ""
};

// Splits a file name found in new/ or cur/. Returns false (and leaves *out
// unspecified) for names that are not messages: empty, starting with '.',
// or containing '/' or NUL. A malformed ",S=" just leaves size empty.
bool ParseMaildirName(std::string_view file_name, MaildirNameParts* out);

}  // namespace mailnest
