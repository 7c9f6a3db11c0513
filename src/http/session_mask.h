// What of a command line the session recorder may keep: secrets masked,
// anything that is not plain ASCII text replaced, long lines cut. Pure.
//   PASS <anything>         → "PASS ****"
//   AUTH <mech> <data>      → "AUTH <mech> ****"  (the mechanism alone stays)
//   APOP <user> <digest>    → "APOP <user> ****"
//   an unknown verb         → "<N octets>" for the whole line (it could be a
//                             password typed at the wrong prompt, or message
//                             text after a refused DATA)
// The verb's spelling is the client's.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mailnest {

constexpr size_t kMaxTraceText = 512;  // octets of one transcript line

std::string MaskCommand(std::string_view line);
// Printable ASCII only ('?' for anything else), at most kMaxTraceText
// octets ("..." marks a cut).
std::string TraceSafe(std::string_view text);

}  // namespace mailnest
