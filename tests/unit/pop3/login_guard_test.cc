// Per-address POP3 login limits: concurrent logins, growing failure delay,
// bounded table.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "pop3/login_guard.h"
#include "net/address_name.h"

using namespace mailnest;

TEST_CASE("login guard: logins in progress per address are capped", "[pop3][login_guard]") {
  LoginGuard g(2, 100);
  CHECK(g.Begin("10.0.0.1"));
  CHECK(g.Begin("10.0.0.1"));
  CHECK_FALSE(g.Begin("10.0.0.1"));  // a third at once
  CHECK(g.Begin("10.0.0.2"));        // other addresses are not affected
  g.End("10.0.0.1");
  CHECK(g.Begin("10.0.0.1"));  // a slot came free
}

TEST_CASE("login guard: three failures at the base delay, then doubling up to 16x", "[pop3][login_guard]") {
  LoginGuard g(10, 100);
  std::vector<uint64_t> delays;
  for (int i = 0; i < 9; ++i) {
    REQUIRE(g.Begin("10.0.0.1"));
    delays.push_back(g.Failed("10.0.0.1"));
    g.End("10.0.0.1");
  }
  CHECK(delays == std::vector<uint64_t>{100, 100, 100, 200, 400, 800, 1600, 1600, 1600});
  SECTION("a success forgets the failures") {
    REQUIRE(g.Begin("10.0.0.1"));
    g.Succeeded("10.0.0.1");
    g.End("10.0.0.1");
    REQUIRE(g.Begin("10.0.0.1"));
    CHECK(g.Failed("10.0.0.1") == 100);
  }
  SECTION("another address starts at the base delay") {
    REQUIRE(g.Begin("10.0.0.2"));
    CHECK(g.Failed("10.0.0.2") == 100);
  }
}

TEST_CASE("login guard: the table stays bounded", "[pop3][login_guard]") {
  LoginGuard g(1, 100);
  // Addresses that failed stay remembered (they are what the table is for)...
  for (size_t i = 0; i < LoginGuard::kMaxAddresses + 50; ++i) {
    std::string a = "10.1." + std::to_string(i / 256) + "." + std::to_string(i % 256);
    REQUIRE(g.Begin(a));  // ...but a full table drops the idle one used longest ago
    g.Failed(a);
    g.End(a);
  }
  CHECK(g.size() == LoginGuard::kMaxAddresses);
  SECTION("addresses with nothing to remember leave at once") {
    REQUIRE(g.Begin("10.9.9.9"));  // makes room by dropping one
    g.Succeeded("10.9.9.9");
    g.End("10.9.9.9");
    CHECK(g.size() == LoginGuard::kMaxAddresses - 1);
  }
}

TEST_CASE("login guard: the address of a peer name", "[pop3][login_guard]") {
  CHECK(PeerAddress("127.0.0.1:4321") == "127.0.0.1");
  CHECK(PeerAddress("[::1]:4321") == "::1");
  CHECK(PeerAddress("unknown") == "unknown");
}
