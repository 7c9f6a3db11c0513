// Mail loop detection (RFC 5321 §6.3): every MTA adds a Received header, so
// a message with more than relay.max_received_headers of them is going
// round in circles and is bounced (554 5.4.6) instead of forwarded again.
#pragma once

#include <cstddef>
#include <string_view>

namespace mailnest {

// Received fields in the header section (up to the first empty line) of a
// message in the stored form (LF line ends); the name is case-insensitive.
inline size_t CountReceivedHeaders(std::string_view msg) {
  static constexpr std::string_view kName = "received:";
  size_t count = 0;
  size_t pos = 0;
  while (pos < msg.size() && msg[pos] != '\n') {
    size_t end = msg.find('\n', pos);
    if (end == std::string_view::npos) end = msg.size();
    std::string_view line = msg.substr(pos, end - pos);
    if (line.size() >= kName.size()) {
      bool match = true;
      for (size_t i = 0; i < kName.size() && match; ++i) {
        char c = line[i];
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
        match = c == kName[i];
      }
      if (match) ++count;
    }
    pos = end + 1;
  }
  return count;
}

}  // namespace mailnest
