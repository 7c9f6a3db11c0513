// What the session recorder keeps of a command line: no secrets.
#include <catch2/catch.hpp>

#include "http/session_mask.h"

using mailnest::MaskCommand;

TEST_CASE("secrets in commands are masked", "[http][sessions]") {
  CHECK(MaskCommand("PASS hunter2") == "PASS ****");
  CHECK(MaskCommand("pass  two words") == "pass ****");
  CHECK(MaskCommand("PASS") == "PASS");
  CHECK(MaskCommand("AUTH PLAIN AGFsaWNlAHNlY3JldA==") == "AUTH PLAIN ****");
  CHECK(MaskCommand("AUTH LOGIN") == "AUTH LOGIN");
  CHECK(MaskCommand("APOP alice c4c9334bac560ecc979e58001b3e22fb") == "APOP alice ****");
  CHECK(MaskCommand("APOP alice") == "APOP alice ****");
}

TEST_CASE("known commands are kept, unknown ones only by verb and size", "[http][sessions]") {
  CHECK(MaskCommand("MAIL FROM:<a@b.test>") == "MAIL FROM:<a@b.test>");
  CHECK(MaskCommand("USER alice") == "USER alice");
  CHECK(MaskCommand("RETR 1") == "RETR 1");
  CHECK(MaskCommand("hunter2") == "<7 octets>");  // a password typed at the wrong prompt
  CHECK(MaskCommand("Subject: private matters") == "<24 octets>");
  CHECK(MaskCommand("noop") == "noop");
}

TEST_CASE("transcript text is printable ASCII and bounded", "[http][sessions]") {
  CHECK(mailnest::TraceSafe("a\x01\xff" "b") == "a??b");
  std::string longer(2000, 'x');
  std::string kept = mailnest::TraceSafe(longer);
  CHECK(kept.size() == mailnest::kMaxTraceText);
  CHECK(kept.substr(kept.size() - 3) == "...");
  CHECK(MaskCommand("NOOP " + longer).size() == mailnest::kMaxTraceText);
}
