// One spelling of socket addresses for logs and per-address limits.
#include "net/address_name.h"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace mailnest {
namespace {

sockaddr_storage V4(const char* ip, int port) {
  sockaddr_storage ss{};
  auto* a = reinterpret_cast<sockaddr_in*>(&ss);
  a->sin_family = AF_INET;
  a->sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, ip, &a->sin_addr);
  return ss;
}

sockaddr_storage V6(const char* ip, int port) {
  sockaddr_storage ss{};
  auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
  a->sin6_family = AF_INET6;
  a->sin6_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET6, ip, &a->sin6_addr);
  return ss;
}

TEST_CASE("address names: host:port, [v6]:port, the host alone, and back", "[net][address]") {
  sockaddr_storage v4 = V4("127.0.0.1", 4321), v6 = V6("::1", 25);
  CHECK(AddressName(v4) == "127.0.0.1:4321");
  CHECK(AddressName(v6) == "[::1]:25");
  CHECK(AddressHost(reinterpret_cast<sockaddr*>(&v4)) == "127.0.0.1");
  CHECK(AddressHost(reinterpret_cast<sockaddr*>(&v6)) == "::1");
  // The per-address key POP3 and the HTTP gate use is the host alone.
  CHECK(PeerAddress(AddressName(v4)) == AddressHost(reinterpret_cast<sockaddr*>(&v4)));
  CHECK(PeerAddress(AddressName(v6)) == AddressHost(reinterpret_cast<sockaddr*>(&v6)));
  sockaddr_storage unix_family{};
  unix_family.ss_family = AF_UNIX;
  CHECK(AddressName(unix_family) == "?");
  CHECK(AddressHost(reinterpret_cast<sockaddr*>(&unix_family)).empty());
}

}  // namespace
}  // namespace mailnest
