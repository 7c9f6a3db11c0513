// relay.* config keys: defaults, overrides, and errors that name the key.
#include <catch2/catch.hpp>

#include "base/config.h"

using mailnest::Config;
using mailnest::ParseConfig;

namespace {
std::string RelayError(const std::string& json) {
  Config c;
  auto s = ParseConfig(json, &c);
  REQUIRE_FALSE(s.ok());
  return s.message();
}
}  // namespace

TEST_CASE("relay defaults: off, loopback networks, Postfix's schedule", "[config][relay]") {
  Config c;
  REQUIRE(ParseConfig("{}", &c).ok());
  CHECK_FALSE(c.relay.enabled);
  CHECK(c.relay.networks.size() == 2);
  CHECK(c.relay.queue_dir.empty());
  CHECK(c.relay.minimal_backoff_s == 300);
  CHECK(c.relay.maximal_backoff_s == 4000);
  CHECK(c.relay.max_queue_lifetime_s == 432000);
  CHECK(c.relay.connect_timeout_s == 30);
  CHECK(c.relay.greeting_timeout_s == 300);
  CHECK(c.relay.data_init_timeout_s == 120);
  CHECK(c.relay.data_block_timeout_s == 180);
  CHECK(c.relay.data_term_timeout_s == 600);
  CHECK(c.relay.dns);
  CHECK(c.relay.dns_servers.empty());
  CHECK(c.relay.mx_port == 25);
}

TEST_CASE("relay overrides", "[config][relay]") {
  Config c;
  REQUIRE(ParseConfig(R"({"relay": {"enabled": true, "networks": ["10.0.0.0/8"], "smarthost": "[::1]:2526",
                          "transport": {"B.Test": "127.0.0.1:2600"}, "minimal_backoff_s": 1,
                          "maximal_backoff_s": 1, "dns_servers": ["127.0.0.1:5353", "[::1]:53"]}})",
                      &c)
              .ok());
  CHECK(c.relay.enabled);
  CHECK(c.relay.networks.size() == 1);
  CHECK(c.relay.transport.at("b.test") == "127.0.0.1:2600");
  CHECK(c.relay.smarthost == "[::1]:2526");
  CHECK(c.relay.minimal_backoff_s == 1);
  CHECK(c.relay.dns_servers.size() == 2);
}

TEST_CASE("relay errors name the key", "[config][relay]") {
  CHECK_THAT(RelayError(R"({"relay": {"enabld": true}})"), Catch::Contains("relay.enabld: unknown key"));
  CHECK_THAT(RelayError(R"({"relay": {"networks": "127.0.0.1"}})"), Catch::Contains("relay.networks"));
  CHECK_THAT(RelayError(R"({"relay": {"networks": ["300.0.0.1/8"]}})"), Catch::Contains("relay.networks"));
  CHECK_THAT(RelayError(R"({"relay": {"smarthost": "nohostport"}})"), Catch::Contains("relay.smarthost"));
  CHECK_THAT(RelayError(R"({"relay": {"smarthost": "h:99999"}})"), Catch::Contains("relay.smarthost"));
  CHECK_THAT(RelayError(R"({"relay": {"transport": {"b.test": "b"}}})"), Catch::Contains("relay.transport.b.test"));
  CHECK_THAT(RelayError(R"({"relay": {"minimal_backoff_s": 0}})"), Catch::Contains("relay.minimal_backoff_s"));
  CHECK_THAT(RelayError(R"({"relay": {"minimal_backoff_s": 500, "maximal_backoff_s": 400}})"),
             Catch::Contains("relay.maximal_backoff_s"));
  CHECK_THAT(RelayError(R"({"relay": {"max_per_destination": 0}})"), Catch::Contains("relay.max_per_destination"));
  CHECK_THAT(RelayError(R"({"relay": {"dns_servers": ["dns.test:53"]}})"), Catch::Contains("relay.dns_servers"));
  CHECK_THAT(RelayError(R"({"relay": {"dns_servers": ["127.0.0.1"]}})"), Catch::Contains("relay.dns_servers"));
  CHECK_THAT(RelayError(R"({"relay": {"mx_port": 0}})"), Catch::Contains("relay.mx_port"));
  CHECK_THAT(RelayError(R"({"relay": {"dns": "yes"}})"), Catch::Contains("relay.dns"));
}
