// Address prefixes ("127.0.0.0/8", "::1/128", "10.1.2.3") for the relay
// policy (relay.networks). Parsed once from the config; matched against the
// textual peer address a session already holds.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mailnest {

struct Cidr {
  bool v6 = false;
  std::array<uint8_t, 16> addr{};  // network bits; v4 uses the first 4
  uint8_t prefix = 0;              // 0..32 (v4) or 0..128 (v6)
};

// "a.b.c.d/n", "x:y::z/n", or an address alone (a /32 or /128). False on
// anything else (host bits set beyond the prefix are allowed and ignored).
bool ParseCidr(std::string_view text, Cidr* out);

// True when ip (textual, v4 or v6, an IPv4-mapped v6 "::ffff:a.b.c.d"
// counts as v4) lies inside one of the prefixes.
bool AddressInNetworks(std::string_view ip, const std::vector<Cidr>& networks);

}  // namespace mailnest
