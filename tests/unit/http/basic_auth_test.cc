// The pure parts of the HTTP access step: Basic credentials, CORS origins,
// and the http.users / read_only / cors_origins config keys.
#include <catch2/catch.hpp>

#include "base/config.h"
#include "http/basic_auth.h"

using mailnest::Config;
using mailnest::DecodeBase64;
using mailnest::IsValidOrigin;
using mailnest::OriginAllowed;
using mailnest::ParseBasicAuth;
using mailnest::ParseConfig;

TEST_CASE("base64 decodes RFC 4648 test vectors and refuses the rest", "[http][auth]") {
  std::string out;
  for (auto [in, want] : std::vector<std::pair<std::string, std::string>>{
           {"", ""}, {"Zg==", "f"}, {"Zm8=", "fo"}, {"Zm9v", "foo"}, {"Zm9vYg==", "foob"},
           {"Zm9vYmE=", "fooba"}, {"Zm9vYmFy", "foobar"}, {"Zm9vYg", "foob"}}) {
    INFO(in);
    REQUIRE(DecodeBase64(in, &out));
    CHECK(out == want);
  }
  for (const char* bad : {"Zg=", "Z", "Zm9v!", "Zm 9v", "Zh==", "Zm9=", "====", "Zg==Zg=="}) {
    INFO(bad);
    CHECK_FALSE(DecodeBase64(bad, &out));
  }
}

TEST_CASE("Basic credentials: user, password with colons, bad forms", "[http][auth]") {
  std::string u, p;
  REQUIRE(ParseBasicAuth("Basic YWxpY2U6c2VjcmV0", &u, &p));  // alice:secret
  CHECK((u == "alice" && p == "secret"));
  REQUIRE(ParseBasicAuth("basic   YTpiOmM=", &u, &p));  // a:b:c, scheme case-insensitive
  CHECK((u == "a" && p == "b:c"));
  REQUIRE(ParseBasicAuth("Basic YTo=", &u, &p));  // "a:" empty password
  CHECK((u == "a" && p.empty()));
  CHECK_FALSE(ParseBasicAuth("Bearer YWxpY2U6c2VjcmV0", &u, &p));
  CHECK_FALSE(ParseBasicAuth("Basic", &u, &p));
  CHECK_FALSE(ParseBasicAuth("Basic YWxpY2U=", &u, &p));      // "alice": no colon
  CHECK_FALSE(ParseBasicAuth("Basic OnNlY3JldA==", &u, &p));  // ":secret": no user
  CHECK_FALSE(ParseBasicAuth("Basic YQBiOmM=", &u, &p));      // "a\0b:c": NUL in the user
  CHECK_FALSE(ParseBasicAuth("Basic YTpiAGM=", &u, &p));      // "a:b\0c": NUL in the password
  CHECK_FALSE(ParseBasicAuth("Basic !!!!", &u, &p));
}

TEST_CASE("CORS origins: exact match only; config validates their shape", "[http][cors]") {
  std::vector<std::string> allowed{"https://console.example:8443", "http://localhost:3000"};
  CHECK(OriginAllowed(allowed, "http://localhost:3000"));
  CHECK_FALSE(OriginAllowed(allowed, "http://localhost:3001"));
  CHECK_FALSE(OriginAllowed(allowed, "https://console.example"));
  CHECK_FALSE(OriginAllowed(allowed, "null"));
  CHECK_FALSE(OriginAllowed({}, "http://localhost:3000"));
  for (const char* ok : {"http://localhost", "https://a.b-c.example:65535", "http://[::1]:8080", "http://127.0.0.1"}) {
    INFO(ok);
    CHECK(IsValidOrigin(ok));
  }
  for (const char* bad : {"", "*", "null", "localhost:3000", "ftp://x", "http://", "http://x/", "http://x/path",
                          "http://X.example", "http://x:", "http://x:0", "http://x:65536", "http://[::1",
                          "http://x:80:80", "http://a b"}) {
    INFO(bad);
    CHECK_FALSE(IsValidOrigin(bad));
  }
}

namespace {
std::string ErrorOf(const std::string& json) {
  Config c;
  mailnest::Status s = ParseConfig(json, &c);
  return s.ok() ? "" : s.message();
}
}  // namespace

TEST_CASE("http.users, http.read_only, http.cors_origins: defaults and errors", "[config][http]") {
  Config c;
  REQUIRE(ParseConfig("{}", &c).ok());
  CHECK(c.http.users.empty());
  CHECK_FALSE(c.http.read_only);
  CHECK(c.http.cors_origins.empty());
  REQUIRE(ParseConfig(R"({"http": {"users": {"ops": "$y$j9T$abc$def"}, "read_only": true,
                                    "cors_origins": ["http://localhost:3000"]}})", &c).ok());
  CHECK(c.http.users.at("ops") == "$y$j9T$abc$def");
  CHECK(c.http.read_only);
  CHECK(c.http.cors_origins == std::vector<std::string>{"http://localhost:3000"});
  CHECK_THAT(ErrorOf(R"({"http": {"users": []}})"), Catch::Contains("http.users: must be an object"));
  CHECK_THAT(ErrorOf(R"({"http": {"users": {"ops": "plain"}}})"), Catch::Contains("http.users.ops: must be a crypt"));
  CHECK_THAT(ErrorOf(R"({"http": {"users": {"ops": 1}}})"), Catch::Contains("http.users.ops"));
  CHECK_THAT(ErrorOf(R"({"http": {"users": {"a:b": "$y$x"}}})"), Catch::Contains("http.users.a:b"));
  CHECK_THAT(ErrorOf(R"({"http": {"read_only": "yes"}})"), Catch::Contains("http.read_only"));
  CHECK_THAT(ErrorOf(R"({"http": {"cors_origins": "*"}})"), Catch::Contains("http.cors_origins"));
  CHECK_THAT(ErrorOf(R"({"http": {"cors_origins": ["*"]}})"), Catch::Contains("http.cors_origins"));
}
