#include "store/mailbox_path.h"

#include <catch2/catch.hpp>

#include <string>

namespace mailnest {
namespace {

TEST_CASE("MailboxDir joins a valid name under mail_root", "[store][path]") {
  std::string dir;
  REQUIRE(MailboxDir("/var/mail", "alice", &dir).ok());
  CHECK(dir == "/var/mail/alice");
  REQUIRE(MailboxDir("var/mail/", "bob.smith_2-x", &dir).ok());
  CHECK(dir == "var/mail/bob.smith_2-x");
}

TEST_CASE("MailboxDir rejects traversal and malformed names", "[store][path][security]") {
  std::string bad = GENERATE(as<std::string>{}, "", "..", ".", "../x", "a/b", "/etc", "%2e%2e",
                             ".hidden", "Alice", "a b", std::string("a\0b", 3),
                             std::string(65, 'a'));
  std::string dir = "unchanged";
  Status s = MailboxDir("/var/mail", bad, &dir);
  CHECK(s.code() == Status::Code::kInvalid);
  CHECK(dir == "unchanged");
}

TEST_CASE("MailboxDir answers the same from its cache, per mail_root", "[store][path][security]") {
  std::string dir;
  for (int round = 0; round < 3; ++round) {
    REQUIRE(MailboxDir("/var/mail", "alice", &dir).ok());
    CHECK(dir == "/var/mail/alice");
    REQUIRE(MailboxDir("/srv/other/", "alice", &dir).ok());  // another root: not the cached path
    CHECK(dir == "/srv/other/alice");
    dir = "unchanged";
    CHECK(MailboxDir("/var/mail", "../alice", &dir).code() == Status::Code::kInvalid);
    CHECK(dir == "unchanged");
  }
  for (int i = 0; i < 5000; ++i) {  // more names than the cache holds: it starts over, still right
    REQUIRE(MailboxDir("/var/mail", "u" + std::to_string(i), &dir).ok());
    CHECK(dir == "/var/mail/u" + std::to_string(i));
  }
}

TEST_CASE("MailboxDir needs a mail_root", "[store][path]") {
  std::string dir;
  CHECK(MailboxDir("", "alice", &dir).code() == Status::Code::kInvalid);
}

}  // namespace
}  // namespace mailnest
