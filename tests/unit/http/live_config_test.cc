// The http.* keys of the live side (events, sessions): defaults, bounds,
// errors naming the key.
#include <catch2/catch.hpp>

#include <string>

#include "base/config.h"

using mailnest::Config;
using mailnest::ParseConfig;

namespace {
std::string LiveErrorFor(const std::string& json) {
  Config c;
  auto s = ParseConfig(json, &c);
  REQUIRE_FALSE(s.ok());
  return s.message();
}
}  // namespace

TEST_CASE("the event and session keys: defaults, overrides and errors", "[config][http][events]") {
  Config c;
  REQUIRE(ParseConfig("{}", &c).ok());
  CHECK(c.http.event_ring == 10000);
  CHECK(c.http.max_event_backlog_bytes == 1048576);
  CHECK(c.http.max_subscribers == 64);
  CHECK(c.http.event_heartbeat_s == 5);
  CHECK(c.http.stats_interval_s == 5);
  CHECK(c.http.session_ring == 200);
  CHECK(c.http.session_max_lines == 1000);
  REQUIRE(ParseConfig(R"({"http": {"event_ring": 5, "max_subscribers": 2, "session_ring": 0}})", &c).ok());
  CHECK(c.http.event_ring == 5);
  CHECK(c.http.max_subscribers == 2);
  CHECK(c.http.session_ring == 0);
  CHECK_THAT(LiveErrorFor(R"({"http": {"event_ring": 0}})"), Catch::Contains("http.event_ring"));
  CHECK_THAT(LiveErrorFor(R"({"http": {"max_event_backlog_bytes": 100}})"),
             Catch::Contains("http.max_event_backlog_bytes"));
  CHECK_THAT(LiveErrorFor(R"({"http": {"max_subscribers": 0}})"), Catch::Contains("http.max_subscribers"));
  CHECK_THAT(LiveErrorFor(R"({"http": {"event_heartbeat_s": 0}})"), Catch::Contains("http.event_heartbeat_s"));
  CHECK_THAT(LiveErrorFor(R"({"http": {"stats_interval_s": "5"}})"), Catch::Contains("http.stats_interval_s"));
  CHECK_THAT(LiveErrorFor(R"({"http": {"session_max_lines": 9}})"), Catch::Contains("http.session_max_lines"));
}
