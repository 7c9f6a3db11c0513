// ASCII case folding for protocol tokens (domains, verbs): mail domains are
// compared case-insensitively (RFC 5321 §2.4), and only ASCII letters fold,
// whatever the C locale says.
#pragma once

#include <string>
#include <string_view>

namespace mailnest {

inline std::string AsciiLower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

}  // namespace mailnest
