// relay.pipelining, relay.max_messages_per_connection,
// relay.connection_reuse_idle_ms and relay.fresh_cache_bytes: defaults,
// overrides, errors naming the key.
#include <catch2/catch.hpp>

#include "base/config.h"

namespace mailnest {
namespace {

std::string ReuseError(const std::string& json) {
  Config c;
  auto s = ParseConfig(json, &c);
  REQUIRE_FALSE(s.ok());
  return s.message();
}

TEST_CASE("relay client keys: defaults and overrides", "[config][relay][reuse]") {
  Config d;
  REQUIRE(ParseConfig("{}", &d).ok());
  CHECK(d.relay.pipelining);
  CHECK(d.relay.max_messages_per_connection == 100);
  CHECK(d.relay.connection_reuse_idle_ms == 2000);
  CHECK(d.relay.fresh_cache_bytes == 16u << 20);
  Config c;
  REQUIRE(ParseConfig(R"({"relay": {"pipelining": false, "max_messages_per_connection": 1,
                          "connection_reuse_idle_ms": 50, "fresh_cache_bytes": 0}})",
                      &c)
              .ok());
  CHECK_FALSE(c.relay.pipelining);
  CHECK(c.relay.max_messages_per_connection == 1);
  CHECK(c.relay.connection_reuse_idle_ms == 50);
  CHECK(c.relay.fresh_cache_bytes == 0);
}

TEST_CASE("relay client keys: bad values name the key", "[config][relay][reuse]") {
  CHECK_THAT(ReuseError(R"({"relay": {"pipelining": 1}})"), Catch::Contains("relay.pipelining"));
  CHECK_THAT(ReuseError(R"({"relay": {"max_messages_per_connection": 0}})"),
             Catch::Contains("relay.max_messages_per_connection"));
  CHECK_THAT(ReuseError(R"({"relay": {"connection_reuse_idle_ms": 0}})"),
             Catch::Contains("relay.connection_reuse_idle_ms"));
  CHECK_THAT(ReuseError(R"({"relay": {"connection_reuse_idle_ms": 600001}})"),
             Catch::Contains("relay.connection_reuse_idle_ms"));
  CHECK_THAT(ReuseError(R"({"relay": {"fresh_cache_bytes": 1073741825}})"),
             Catch::Contains("relay.fresh_cache_bytes"));
}

}  // namespace
}  // namespace mailnest
