#include "smtp/smtp_address.h"

#include <catch2/catch.hpp>

#include <string>

namespace mailnest {
namespace {

using E = SmtpArgError;

using Syntax = SmtpEnvelopeSyntax;

E Mail(const std::string& arg, SmtpMailArgs* out = nullptr, bool esmtp = true, Syntax syntax = Syntax::kStrict) {
  SmtpMailArgs tmp;
  return ParseMailArgs(arg, esmtp, syntax, out ? out : &tmp);
}

E Rcpt(const std::string& arg, SmtpRcptArgs* out = nullptr, bool esmtp = true, Syntax syntax = Syntax::kStrict) {
  SmtpRcptArgs tmp;
  return ParseRcptArgs(arg, esmtp, syntax, out ? out : &tmp);
}

E LenientMail(const std::string& arg, SmtpMailArgs* out = nullptr) { return Mail(arg, out, true, Syntax::kLenient); }
E LenientRcpt(const std::string& arg, SmtpRcptArgs* out = nullptr) { return Rcpt(arg, out, true, Syntax::kLenient); }

TEST_CASE("MAIL FROM: valid paths", "[smtp][address]") {
  SmtpMailArgs m;
  REQUIRE(Mail("FROM:<alice@example.com>", &m) == E::kOk);
  CHECK_FALSE(m.null_sender);
  CHECK(m.sender.local == "alice");
  CHECK(m.sender.domain == "example.com");
  CHECK(m.sender.text == "alice@example.com");

  REQUIRE(Mail("from:<>", &m) == E::kOk);
  CHECK(m.null_sender);
  CHECK(m.sender.text.empty());

  SECTION("space after the colon is tolerated") { CHECK(Mail("FROM: <a@b.c>") == E::kOk); }
  SECTION("quoted local part keeps its wire form in text, decoded in local") {
    REQUIRE(Mail(R"(FROM:<"john \"j\" doe"@example.com>)", &m) == E::kOk);
    CHECK(m.sender.local == R"(john "j" doe)");
    CHECK(m.sender.text == R"("john \"j\" doe"@example.com)");
  }
  SECTION("a '>' inside a quoted local part does not end the path") {
    REQUIRE(Mail(R"(FROM:<"a>b"@x.org>)", &m) == E::kOk);
    CHECK(m.sender.local == "a>b");
  }
  SECTION("source route is accepted and dropped") {
    REQUIRE(Mail("FROM:<@relay.one,@relay.two:user@x.org>", &m) == E::kOk);
    CHECK(m.sender.text == "user@x.org");
  }
  SECTION("address literals") {
    CHECK(Mail("FROM:<a@[192.0.2.1]>") == E::kOk);
    CHECK(Mail("FROM:<a@[IPv6:2001:db8::1]>") == E::kOk);
    CHECK(Mail("FROM:<a@[x-tag:stuff]>") == E::kOk);
  }
  SECTION("atext specials and lenient dots") {
    CHECK(Mail("FROM:<a!#$%&'*+-/=?^_`{|}~@x.org>") == E::kOk);
    CHECK(Mail("FROM:<john..doe@x.org>") == E::kOk);
  }
}

TEST_CASE("MAIL FROM: syntax errors", "[smtp][address]") {
  CHECK(Mail("<a@b>") == E::kSyntax);           // no FROM:
  CHECK(Mail("FROM:a@b") == E::kSyntax);        // no brackets
  CHECK(Mail("FROM:") == E::kSyntax);
  CHECK(Mail("FROM:<a@b>junk") == E::kSyntax);  // no SP before params
  CHECK(Mail("FROM:<a@b") == E::kBadAddress);
  CHECK(Mail("FROM:<ab>") == E::kBadAddress);   // no @
  CHECK(Mail("FROM:<@b>") == E::kBadAddress);   // empty local part
  CHECK(Mail("FROM:<a@>") == E::kBadAddress);
  CHECK(Mail("FROM:<a b@c.d>") == E::kBadAddress);
  CHECK(Mail("FROM:<a@-bad.org>") == E::kBadAddress);
  CHECK(Mail("FROM:<a@bad-.org>") == E::kBadAddress);
  CHECK(Mail("FROM:<a@x..org>") == E::kBadAddress);
  CHECK(Mail("FROM:<a@x.org.>") == E::kBadAddress);
  CHECK(Mail("FROM:<a@[300.1.1.1]>") == E::kBadAddress);
  CHECK(Mail("FROM:<a@[1.2.3]>") == E::kBadAddress);
  CHECK(Mail("FROM:<a@[IPv6:zz::1]>") == E::kBadAddress);
  CHECK(Mail(R"(FROM:<"unterminated@x.org>)") == E::kBadAddress);
  CHECK(Mail("FROM:<@relay:>") == E::kBadAddress);
  SECTION("control characters and non-ASCII are refused, also in quotes") {
    CHECK(Mail(std::string("FROM:<a") + '\0' + "b@x.org>") == E::kBadAddress);
    CHECK(Mail("FROM:<a\x01@x.org>") == E::kBadAddress);
    CHECK(Mail("FROM:<\"a\x7f\"@x.org>") == E::kBadAddress);
    CHECK(Mail(std::string("FROM:<\"a") + '\0' + "\"@x.org>") == E::kBadAddress);
    CHECK(Mail("FROM:<\"a\\\x01\"@x.org>") == E::kBadAddress);  // quoted-pair of a CTL
    CHECK(Mail("FROM:<j\xc3\xb6rg@x.org>") == E::kBadAddress);
    CHECK(Mail("FROM:<a@x\tb.org>") == E::kBadAddress);
  }
}

TEST_CASE("path length limits (RFC 5321 §4.5.3.1)", "[smtp][address]") {
  std::string local64(64, 'l'), local65(65, 'l');
  CHECK(Mail("FROM:<" + local64 + "@x.org>") == E::kOk);
  CHECK(Mail("FROM:<" + local65 + "@x.org>") == E::kPathTooLong);
  // Quoted: the limit is on the wire form.
  CHECK(Mail("FROM:<\"" + std::string(62, 'q') + "\"@x.org>") == E::kOk);
  CHECK(Mail("FROM:<\"" + std::string(63, 'q') + "\"@x.org>") == E::kPathTooLong);

  auto domain_of = [](size_t len) {  // labels of 63 joined by dots, exact length
    std::string d;
    while (d.size() < len) {
      if (!d.empty()) d += '.';
      d += std::string(std::min<size_t>(63, len - d.size()), 'd');
    }
    if (d.back() == '.') d.back() = 'd';
    return d;
  };
  std::string d189 = domain_of(189);
  REQUIRE(d189.size() == 189);
  CHECK(IsValidSmtpDomain(domain_of(255)));
  CHECK_FALSE(IsValidSmtpDomain(domain_of(256)));
  CHECK_FALSE(IsValidSmtpDomain(std::string(64, 'a') + ".org"));  // label > 63

  // "<" 64 "@" 189 ">" = 256 octets: allowed; one more is not.
  std::string path256 = "<" + local64 + "@" + d189 + ">";
  REQUIRE(path256.size() == 256);
  CHECK(Mail("FROM:" + path256) == E::kOk);
  CHECK(Mail("FROM:<" + local64 + "@" + domain_of(190) + ">") == E::kPathTooLong);
  CHECK(Mail("FROM:<" + std::string(300, 'a')) == E::kPathTooLong);  // unterminated and long
}

TEST_CASE("MAIL parameters SIZE and BODY", "[smtp][address]") {
  SmtpMailArgs m;
  REQUIRE(Mail("FROM:<a@b.c> SIZE=1000 BODY=8BITMIME", &m) == E::kOk);
  REQUIRE(m.size.has_value());
  CHECK(*m.size == 1000);
  CHECK(m.body == SmtpBodyType::k8BitMime);
  REQUIRE(Mail("FROM:<> body=7bit  size=0", &m) == E::kOk);
  CHECK(m.body == SmtpBodyType::k7Bit);
  CHECK(*m.size == 0);
  REQUIRE(Mail("FROM:<a@b.c> SIZE=99999999999999999999", &m) == E::kOk);  // saturates
  CHECK(*m.size == UINT64_MAX);

  CHECK(Mail("FROM:<a@b.c> SIZE=") == E::kBadParameter);
  CHECK(Mail("FROM:<a@b.c> SIZE") == E::kBadParameter);
  CHECK(Mail("FROM:<a@b.c> SIZE=12x") == E::kBadParameter);
  CHECK(Mail("FROM:<a@b.c> SIZE=123456789012345678901") == E::kBadParameter);  // > 20 digits
  CHECK(Mail("FROM:<a@b.c> SIZE=1 SIZE=2") == E::kBadParameter);
  CHECK(Mail("FROM:<a@b.c> BODY=BINARYMIME") == E::kBadParameter);
  CHECK(Mail("FROM:<a@b.c> =x") == E::kBadParameter);
  CHECK(Mail("FROM:<a@b.c> SMTPUTF8") == E::kUnknownParameter);
  CHECK(Mail("FROM:<a@b.c> RET=HDRS") == E::kUnknownParameter);
  CHECK(Mail("FROM:<a@b.c> X-FOO=bar") == E::kUnknownParameter);
  SECTION("after HELO no parameter is accepted") {
    CHECK(Mail("FROM:<a@b.c> SIZE=10", nullptr, /*esmtp=*/false) == E::kUnknownParameter);
    CHECK(Mail("FROM:<a@b.c>", nullptr, /*esmtp=*/false) == E::kOk);
  }
}

TEST_CASE("RCPT TO: paths", "[smtp][address]") {
  SmtpRcptArgs r;
  REQUIRE(Rcpt("TO:<bob@localhost>", &r) == E::kOk);
  CHECK(r.recipient.local == "bob");
  CHECK(r.recipient.domain == "localhost");
  CHECK_FALSE(r.postmaster);
  REQUIRE(Rcpt("to:<PostMaster>", &r) == E::kOk);
  CHECK(r.postmaster);
  CHECK(r.recipient.local == "postmaster");
  CHECK(Rcpt("TO:<>") == E::kBadAddress);
  CHECK(Rcpt("TO:<bob>") == E::kBadAddress);
  CHECK(Rcpt("FROM:<bob@x.org>") == E::kSyntax);
  CHECK(Rcpt("TO:<bob@x.org> NOTIFY=NEVER") == E::kUnknownParameter);
  SECTION("names that are not mailbox names still parse; lookup refuses them") {
    REQUIRE(Rcpt("TO:<../x@localhost>", &r) == E::kOk);
    CHECK(r.recipient.local == "../x");
    REQUIRE(Rcpt("TO:<a/b@localhost>", &r) == E::kOk);
    REQUIRE(Rcpt("TO:<%2e%2e@localhost>", &r) == E::kOk);
    REQUIRE(Rcpt(R"(TO:<"../../etc"@localhost>)", &r) == E::kOk);
    CHECK(r.recipient.local == "../../etc");
  }
}

TEST_CASE("lenient envelope syntax: addresses without angle brackets", "[smtp][address]") {
  SmtpMailArgs m;
  SmtpRcptArgs r;
  SECTION("a bare mailbox, with or without a space after the colon") {
    REQUIRE(LenientMail("FROM: a@b.example", &m) == E::kOk);
    CHECK(m.sender.text == "a@b.example");
    CHECK_FALSE(m.null_sender);
    REQUIRE(LenientMail("FROM:a@b.example", &m) == E::kOk);
    CHECK(m.sender.local == "a");
    REQUIRE(LenientRcpt("TO: bob@localhost", &r) == E::kOk);
    CHECK(r.recipient.text == "bob@localhost");
    REQUIRE(LenientRcpt("TO:postmaster", &r) == E::kOk);
    CHECK(r.postmaster);
  }
  SECTION("the word after the address is a parameter") {
    REQUIRE(LenientMail("FROM: a@b.example SIZE=100", &m) == E::kOk);
    CHECK(m.size == 100u);
    CHECK(LenientMail("FROM: a@b.example FOO=1") == E::kUnknownParameter);
    CHECK(LenientRcpt("TO: bob@localhost NOTIFY=NEVER") == E::kUnknownParameter);
    REQUIRE(LenientMail(R"(FROM:"a b"@x.org SIZE=5)", &m) == E::kOk);  // a quoted space is not the end
    CHECK(m.sender.local == "a b");
  }
  SECTION("bracketed paths parse exactly as in strict mode") {
    REQUIRE(LenientMail("FROM:<>", &m) == E::kOk);
    CHECK(m.null_sender);
    CHECK(LenientMail("FROM:<a@b") == E::kBadAddress);
    CHECK(LenientMail("FROM:<a@b>junk") == E::kSyntax);
  }
  SECTION("the mailbox grammar and every smuggling defence still apply") {
    CHECK(LenientMail("FROM:") == E::kSyntax);
    CHECK(LenientMail("FROM:   ") == E::kSyntax);
    CHECK(LenientMail("FROM: bad") == E::kBadAddress);  // no "@"
    CHECK(LenientMail("FROM: a@b>") == E::kBadAddress);
    CHECK(LenientMail("FROM: a@-x.org") == E::kBadAddress);
    CHECK(LenientMail(std::string("FROM: a") + '\0' + "b@x.org") == E::kBadAddress);
    CHECK(LenientMail("FROM: a\r@x.org") == E::kBadAddress);
    CHECK(LenientMail("FROM: a\x01@x.org") == E::kBadAddress);
    CHECK(LenientMail("FROM: j\xc3\xb6rg@x.org") == E::kBadAddress);
    CHECK(LenientRcpt("TO: a@x\tb.org") == E::kBadAddress);
    CHECK(LenientMail("FROM: " + std::string(65, 'l') + "@x.org") == E::kPathTooLong);
    CHECK(LenientMail("FROM: " + std::string(300, 'a')) == E::kPathTooLong);
  }
  SECTION("strict mode refuses the bare form (today's 501)") {
    CHECK(Mail("FROM: a@b.example") == E::kSyntax);
    CHECK(Rcpt("TO: bob@localhost") == E::kSyntax);
  }
}

TEST_CASE("HELO names", "[smtp][address]") {
  CHECK(IsValidHeloName("client.example.org"));
  CHECK(IsValidHeloName("[192.0.2.1]"));
  CHECK(IsValidHeloName("my_host"));  // lenient on purpose
  CHECK_FALSE(IsValidHeloName(""));
  CHECK_FALSE(IsValidHeloName("a b"));
  CHECK_FALSE(IsValidHeloName("a\x01"));
  CHECK_FALSE(IsValidHeloName("h\xc3\xa9"));
  CHECK_FALSE(IsValidHeloName(std::string(256, 'h')));
}

}  // namespace
}  // namespace mailnest
