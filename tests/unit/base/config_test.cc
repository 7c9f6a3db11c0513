// Config parsing: defaults, overrides, and errors that name the bad key.
#include <catch2/catch.hpp>

#include "base/config.h"
#include "base/password.h"

using mailnest::Config;
using mailnest::ParseConfig;

namespace {
std::string ErrorFor(const std::string& json) {
  Config c;
  auto s = ParseConfig(json, &c);
  REQUIRE_FALSE(s.ok());
  return s.message();
}
}  // namespace

TEST_CASE("an empty object gives the embedded defaults", "[config]") {
  Config c;
  REQUIRE(ParseConfig("{}", &c).ok());
  CHECK(c.smtp.listen.port == 2525);
  CHECK(c.pop3.listen.port == 2110);
  CHECK(c.smtp.max_line_length == 512);
  CHECK(c.smtp.max_message_size == 10485760);
  CHECK(c.smtp.max_recipients == 100);
  CHECK(c.smtp.max_errors == 20);
  CHECK(c.smtp.command_timeout_s == 300);
  CHECK(c.smtp.data_timeout_s == 180);
  CHECK(c.smtp.max_connections == 10000);
  CHECK(c.pop3.max_line_length == 255);
  CHECK(c.pop3.autologout_timeout_s == 600);
  CHECK(c.pop3.auth_failure_delay_ms == 2000);
  CHECK(c.store.fsync);
  CHECK(c.store.journal);
  CHECK(c.store.journal_checkpoint_ms == 1000);
  CHECK(c.store.journal_checkpoint_mib == 64);
  CHECK(c.store.recovery_retry_ms == 5000);
}

TEST_CASE("values override defaults", "[config]") {
  Config c;
  REQUIRE(ParseConfig(R"({"smtp": {"port": 0, "max_recipients": 3}, "pop3": {"enabled": false}})", &c).ok());
  CHECK(c.smtp.listen.port == 0);
  CHECK(c.smtp.max_recipients == 3);
  CHECK_FALSE(c.pop3.listen.enabled);
}

TEST_CASE("errors name the offending key", "[config]") {
  SECTION("unknown top-level key") { CHECK_THAT(ErrorFor(R"({"mail_rot": "x"})"), Catch::Contains("mail_rot: unknown key")); }
  SECTION("unknown nested key") { CHECK_THAT(ErrorFor(R"({"smtp": {"prot": 1}})"), Catch::Contains("smtp.prot: unknown key")); }
  SECTION("wrong type") { CHECK_THAT(ErrorFor(R"({"smtp": {"port": "25"}})"), Catch::Contains("smtp.port")); }
  SECTION("out of range") { CHECK_THAT(ErrorFor(R"({"smtp": {"max_recipients": 0}})"), Catch::Contains("smtp.max_recipients")); }
  SECTION("line limit below the RFC minimum") {
    CHECK_THAT(ErrorFor(R"({"smtp": {"max_line_length": 100}})"), Catch::Contains("smtp.max_line_length"));
  }
  SECTION("bad user name") { CHECK_THAT(ErrorFor(R"({"users": {"../x": {}}})"), Catch::Contains("users.../x")); }
  SECTION("plain-text password") {
    CHECK_THAT(ErrorFor(R"({"users": {"a": {"password": "secret"}}})"), Catch::Contains("users.a.password"));
  }
  SECTION("alias to unknown user") {
    CHECK_THAT(ErrorFor(R"({"users": {"a": {}}, "aliases": {"x": "b"}})"), Catch::Contains("aliases.x"));
  }
  SECTION("both listeners off") {
    CHECK_THAT(ErrorFor(R"({"smtp": {"enabled": false}, "pop3": {"enabled": false}})"), Catch::Contains("listener"));
  }
  SECTION("journal checkpoint out of range") {
    CHECK_THAT(ErrorFor(R"({"store": {"journal_checkpoint_ms": 0}})"), Catch::Contains("store.journal_checkpoint_ms"));
    CHECK_THAT(ErrorFor(R"({"store": {"journal_checkpoint_mib": 0}})"), Catch::Contains("store.journal_checkpoint_mib"));
    CHECK_THAT(ErrorFor(R"({"store": {"recovery_retry_ms": 5}})"), Catch::Contains("store.recovery_retry_ms"));
    CHECK_THAT(ErrorFor(R"({"store": {"journal": 1}})"), Catch::Contains("store.journal"));
  }
  SECTION("not JSON") { CHECK_THAT(ErrorFor("{"), Catch::Contains("not valid JSON")); }
}

TEST_CASE("bare_newline, store modes and run_as", "[config]") {
  using mailnest::BareNewlinePolicy;
  Config c;
  REQUIRE(ParseConfig("{}", &c).ok());
  CHECK(c.smtp.bare_newline == BareNewlinePolicy::kNormalize);
  CHECK(c.pop3.bare_newline == BareNewlinePolicy::kNormalize);
  CHECK(c.store.file_mode == 0600);
  CHECK(c.store.dir_mode == 0700);
  CHECK(c.run_as.user.empty());
  REQUIRE(ParseConfig(R"({"smtp": {"bare_newline": "reject"}, "pop3": {"bare_newline": "reject"},
                          "store": {"file_mode": "0640", "dir_mode": "0750"},
                          "run_as": {"user": "mail", "group": "mail"}})",
                      &c)
              .ok());
  CHECK(c.smtp.bare_newline == BareNewlinePolicy::kReject);
  CHECK(c.pop3.bare_newline == BareNewlinePolicy::kReject);
  CHECK(c.store.file_mode == 0640);
  CHECK(c.store.dir_mode == 0750);
  CHECK(c.run_as.user == "mail");
  CHECK(c.run_as.group == "mail");
  CHECK(ErrorFor(R"({"smtp": {"bare_newline": "allow"}})").rfind("smtp.bare_newline: must be", 0) == 0);
  CHECK(ErrorFor(R"({"pop3": {"bare_newline": true}})").rfind("pop3.bare_newline: must be a string", 0) == 0);
  CHECK(ErrorFor(R"({"store": {"file_mode": "0644x"}})").rfind("store.file_mode: ", 0) == 0);
  CHECK(ErrorFor(R"({"store": {"file_mode": "4640"}})").rfind("store.file_mode: ", 0) == 0);  // setuid
  CHECK(ErrorFor(R"({"store": {"file_mode": "0440"}})").rfind("store.file_mode: ", 0) == 0);  // owner must write
  CHECK(ErrorFor(R"({"store": {"dir_mode": "0600"}})").rfind("store.dir_mode: ", 0) == 0);    // owner must search
  CHECK(ErrorFor(R"({"store": {"dir_mode": 448}})").rfind("store.dir_mode: must be a string", 0) == 0);
  CHECK(ErrorFor(R"({"run_as": {"group": "mail"}})").rfind("run_as.user: required", 0) == 0);
  CHECK(ErrorFor(R"({"run_as": {"user": "../x"}})").rfind("run_as.user: ", 0) == 0);
  CHECK(ErrorFor(R"({"run_as": {"user": "mail", "uid": 8}})") == "run_as.uid: unknown key");
  CHECK(ErrorFor(R"({"run_as": "mail"})") == "run_as: must be an object");
}

TEST_CASE("local parts resolve to users and aliases", "[config]") {
  Config c;
  REQUIRE(ParseConfig(R"({"users": {"alice": {}, "bob": {}}, "aliases": {"Team": ["alice", "bob"]}})", &c).ok());
  CHECK(c.ResolveLocal("alice") == std::vector<std::string>{"alice"});
  CHECK(c.ResolveLocal("ALICE") == std::vector<std::string>{"alice"});
  CHECK(c.ResolveLocal("team") == std::vector<std::string>{"alice", "bob"});
  CHECK(c.ResolveLocal("carol").empty());
}

TEST_CASE("mailbox names are an allow-list", "[config][security]") {
  using mailnest::IsValidMailboxName;
  CHECK(IsValidMailboxName("alice"));
  CHECK(IsValidMailboxName("a.b-c_d9"));
  CHECK_FALSE(IsValidMailboxName(""));
  CHECK_FALSE(IsValidMailboxName(".hidden"));
  CHECK_FALSE(IsValidMailboxName("../x"));
  CHECK_FALSE(IsValidMailboxName("a/b"));
  CHECK_FALSE(IsValidMailboxName("%2e%2e"));
  CHECK_FALSE(IsValidMailboxName(std::string("a\0b", 3)));
  CHECK_FALSE(IsValidMailboxName("Alice"));
  CHECK_FALSE(IsValidMailboxName(std::string(65, 'a')));
}

TEST_CASE("password hashes verify only the right password", "[config][auth]") {
  std::string hash;
  REQUIRE(mailnest::HashPassword("s3cret", &hash).ok());
  CHECK(hash.rfind("$", 0) == 0);
  CHECK(mailnest::VerifyPassword("s3cret", hash));
  CHECK_FALSE(mailnest::VerifyPassword("s3cre", hash));
  CHECK_FALSE(mailnest::VerifyPassword("s3cret", ""));
  CHECK_FALSE(mailnest::VerifyPassword("s3cret", "garbage"));
  CHECK_FALSE(mailnest::VerifyPassword(std::string("s3cret\0junk", 11), hash));
}

TEST_CASE("the http section: defaults, overrides and errors", "[config][http]") {
  Config c;
  REQUIRE(ParseConfig("{}", &c).ok());
  CHECK(c.http.listen.enabled);
  CHECK(c.http.listen.address == "127.0.0.1");
  CHECK(c.http.listen.port == 8080);
  CHECK(c.http.max_url_length == 2048);
  CHECK(c.http.max_header_bytes == 8192);
  CHECK(c.http.max_body_bytes == 65536);
  CHECK(c.http.idle_timeout_s == 10);
  CHECK(c.http.max_wait_s == 120);
  CHECK(c.http.max_list_limit == 1000);
  CHECK(c.http.max_waiters == 1000);
  CHECK(c.http.index_rescan_s == 60);
  REQUIRE(ParseConfig(R"({"http": {"enabled": false, "listen": "::1", "port": 0, "max_wait_s": 5}})", &c).ok());
  CHECK_FALSE(c.http.listen.enabled);
  CHECK(c.http.listen.address == "::1");
  CHECK(c.http.max_wait_s == 5);
  CHECK_THAT(ErrorFor(R"({"http": {"max_wait_s": 121}})"), Catch::Contains("http.max_wait_s"));
  CHECK_THAT(ErrorFor(R"({"http": {"max_header_bytes": 9000}})"), Catch::Contains("http.max_header_bytes"));
  CHECK_THAT(ErrorFor(R"({"http": {"max_list_limit": 0}})"), Catch::Contains("http.max_list_limit"));
  CHECK_THAT(ErrorFor(R"({"http": {"cors": true}})"), Catch::Contains("http.cors: unknown key"));
  CHECK_THAT(ErrorFor(R"({"http": []})"), Catch::Contains("http: must be an object"));
  // HTTP alone is not a mail server.
  CHECK_THAT(ErrorFor(R"({"smtp": {"enabled": false}, "pop3": {"enabled": false}})"), Catch::Contains("listener"));
}
