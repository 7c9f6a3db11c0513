#include "base/cidr.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstring>

namespace mailnest {

namespace {

bool ParseIp(const std::string& text, bool* v6, std::array<uint8_t, 16>* out) {
  out->fill(0);
  in_addr a4;
  if (inet_pton(AF_INET, text.c_str(), &a4) == 1) {
    *v6 = false;
    std::memcpy(out->data(), &a4, 4);
    return true;
  }
  in6_addr a6;
  if (inet_pton(AF_INET6, text.c_str(), &a6) == 1) {
    *v6 = true;
    std::memcpy(out->data(), &a6, 16);
    return true;
  }
  return false;
}

bool PrefixMatches(const std::array<uint8_t, 16>& a, const std::array<uint8_t, 16>& net, unsigned prefix) {
  unsigned full = prefix / 8, rest = prefix % 8;
  if (std::memcmp(a.data(), net.data(), full) != 0) return false;
  if (rest == 0) return true;
  uint8_t mask = static_cast<uint8_t>(0xff << (8 - rest));
  return (a[full] & mask) == (net[full] & mask);
}

}  // namespace

bool ParseCidr(std::string_view text, Cidr* out) {
  size_t slash = text.find('/');
  std::string ip(text.substr(0, slash));
  Cidr c;
  if (ip.empty() || !ParseIp(ip, &c.v6, &c.addr)) return false;
  unsigned max = c.v6 ? 128 : 32;
  unsigned prefix = max;
  if (slash != std::string_view::npos) {
    std::string_view p = text.substr(slash + 1);
    if (p.empty() || p.size() > 3) return false;
    auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), prefix);
    if (ec != std::errc() || end != p.data() + p.size() || prefix > max) return false;
  }
  c.prefix = static_cast<uint8_t>(prefix);
  *out = c;
  return true;
}

bool AddressInNetworks(std::string_view ip_text, const std::vector<Cidr>& networks) {
  bool v6 = false;
  std::array<uint8_t, 16> a;
  if (!ParseIp(std::string(ip_text), &v6, &a)) return false;
  static constexpr uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (v6 && std::memcmp(a.data(), kMapped, 12) == 0) {  // ::ffff:a.b.c.d is an IPv4 client
    std::memmove(a.data(), a.data() + 12, 4);
    std::memset(a.data() + 4, 0, 12);
    v6 = false;
  }
  for (const Cidr& n : networks) {
    if (n.v6 == v6 && PrefixMatches(a, n.addr, n.prefix)) return true;
  }
  return false;
}

}  // namespace mailnest
