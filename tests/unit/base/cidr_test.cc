#include "base/cidr.h"

#include <catch2/catch.hpp>

namespace mailnest {
namespace {

std::vector<Cidr> Nets(std::initializer_list<const char*> texts) {
  std::vector<Cidr> out;
  for (const char* t : texts) {
    Cidr c;
    REQUIRE(ParseCidr(t, &c));
    out.push_back(c);
  }
  return out;
}

TEST_CASE("CIDR prefixes parse and reject nonsense", "[base][cidr]") {
  Cidr c;
  CHECK(ParseCidr("127.0.0.0/8", &c));
  CHECK(c.prefix == 8);
  CHECK(ParseCidr("::1/128", &c));
  CHECK(c.v6);
  CHECK(ParseCidr("10.1.2.3", &c));
  CHECK(c.prefix == 32);
  CHECK_FALSE(ParseCidr("127.0.0.0/33", &c));
  CHECK_FALSE(ParseCidr("::1/129", &c));
  CHECK_FALSE(ParseCidr("localhost", &c));
  CHECK_FALSE(ParseCidr("1.2.3.4/", &c));
  CHECK_FALSE(ParseCidr("1.2.3.4/8x", &c));
  CHECK_FALSE(ParseCidr("", &c));
}

TEST_CASE("addresses match their networks only", "[base][cidr]") {
  auto nets = Nets({"127.0.0.0/8", "::1/128", "192.168.10.0/23"});
  CHECK(AddressInNetworks("127.0.0.1", nets));
  CHECK(AddressInNetworks("127.255.1.2", nets));
  CHECK(AddressInNetworks("::1", nets));
  CHECK(AddressInNetworks("::ffff:127.0.0.1", nets));  // a v4 client on a v6 socket
  CHECK(AddressInNetworks("192.168.11.200", nets));
  CHECK_FALSE(AddressInNetworks("192.168.12.1", nets));
  CHECK_FALSE(AddressInNetworks("10.0.0.1", nets));
  CHECK_FALSE(AddressInNetworks("::2", nets));
  CHECK_FALSE(AddressInNetworks("garbage", nets));
  CHECK_FALSE(AddressInNetworks("127.0.0.1", {}));
  CHECK(AddressInNetworks("8.8.8.8", Nets({"0.0.0.0/0"})));
}

}  // namespace
}  // namespace mailnest
