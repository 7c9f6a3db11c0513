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

TEST_CASE("MailboxDir needs a mail_root", "[store][path]") {
  std::string dir;
  CHECK(MailboxDir("", "alice", &dir).code() == Status::Code::kInvalid);
}

}  // namespace
}  // namespace mailnest
