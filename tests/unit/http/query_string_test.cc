// Query strings of API requests: decoded, bounded, errors named.
#include <catch2/catch.hpp>

#include "http/query_string.h"

using mailnest::ParseBoundedUint;
using mailnest::ParseQueryString;

TEST_CASE("query strings decode %-escapes and '+'", "[http]") {
  std::map<std::string, std::string> q;
  std::string err;
  REQUIRE(ParseQueryString("mailbox=alice&x=a%20b+c&empty=&flag", &q, &err));
  CHECK(q["mailbox"] == "alice");
  CHECK(q["x"] == "a b c");
  CHECK(q["empty"] == "");
  CHECK(q.count("flag"));
  REQUIRE(ParseQueryString("", &q, &err));
  CHECK(q.empty());
}

TEST_CASE("bad query strings are refused naming the parameter", "[http]") {
  std::map<std::string, std::string> q;
  std::string err;
  CHECK_FALSE(ParseQueryString("a=1&a=2", &q, &err));
  CHECK(err == "a: given more than once");
  CHECK_FALSE(ParseQueryString("a=%zz", &q, &err));
  CHECK(err == "a: bad %-escape");
  CHECK_FALSE(ParseQueryString("a=%4", &q, &err));
  CHECK_FALSE(ParseQueryString("a=%00", &q, &err));
  std::string many;
  for (int i = 0; i < 40; ++i) many += "p" + std::to_string(i) + "=1&";
  CHECK_FALSE(ParseQueryString(many, &q, &err));
  CHECK_THAT(err, Catch::Contains("more than 32"));
}

TEST_CASE("bounded numbers", "[http]") {
  uint64_t n = 0;
  CHECK(ParseBoundedUint("42", 1, 100, &n));
  CHECK(n == 42);
  CHECK_FALSE(ParseBoundedUint("0", 1, 100, &n));
  CHECK_FALSE(ParseBoundedUint("101", 1, 100, &n));
  CHECK_FALSE(ParseBoundedUint("-1", 0, 100, &n));
  CHECK_FALSE(ParseBoundedUint(" 1", 0, 100, &n));
  CHECK_FALSE(ParseBoundedUint("", 0, 100, &n));
  CHECK_FALSE(ParseBoundedUint("99999999999999999999999", 0, UINT64_MAX, &n));
}
