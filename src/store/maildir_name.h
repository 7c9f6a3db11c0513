// Maildir file names (https://cr.yp.to/proto/maildir.html):
//   new/<unique>   unique = "<sec>.M<usec>P<pid>Q<seq>.<host>,S=<size>,W=<wire>"
//   cur/<unique>:2,<flags>
// S= is the file's size in octets (its lines end in LF), W= its size with
// every line end as CR LF: what POP3 sends and counts (RFC 1939), and
// Dovecot's "virtual size". Dovecot writes the same two fields, so its
// quota, its IMAP RFC822.SIZE and its POP3 sizes agree with ours. Files
// mailnest wrote before this format have only S= and CR LF line ends.
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

// The name a delivered file gets in new/: "<base>.<host>,S=<size>,W=<wire>".
// size must be the exact file size in octets and wire the octets POP3 sends
// for it (store/wire_size.h): readers trust both.
std::string MakeMaildirFileName(const std::string& base, std::string_view sanitized_host,
                                uint64_t size, uint64_t wire);

struct MaildirNameParts {
  std::string unique;            // everything before ":2," (or the whole name)
  std::optional<uint64_t> size;  // from ",S=<digits>" in the unique part
  std::optional<uint64_t> wire;  // from ",W=<digits>" in the unique part
  std::string info;              // everything after ":2," (flags), may be ""
};

// Splits a file name found in new/ or cur/. Returns false (and leaves *out
// unspecified) for names that are not messages: empty, starting with '.',
// or containing '/' or NUL. A malformed ",S=" or ",W=" just leaves that
// field empty.
bool ParseMaildirName(std::string_view file_name, MaildirNameParts* out);

}  // namespace mailnest
