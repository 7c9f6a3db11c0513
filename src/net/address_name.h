// Socket addresses as text, one spelling for the whole process: the logs,
// the session records and the per-address limits (POP3's LoginGuard, the
// HTTP gate's failed-login table) all key on what these return.
#pragma once

#include <sys/socket.h>

#include <string>
#include <string_view>

namespace mailnest {

// "127.0.0.1:4321", "[::1]:4321" ("?" for a family that is neither).
std::string AddressName(const sockaddr_storage& ss);
// The address alone: "127.0.0.1", "::1" ("" for another family).
std::string AddressHost(const sockaddr* sa);

// "127.0.0.1:4321" → "127.0.0.1", "[::1]:4321" → "::1"; text without a
// port is returned as it is.
std::string PeerAddress(std::string_view peer);

}  // namespace mailnest
