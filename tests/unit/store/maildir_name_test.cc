#include "store/maildir_name.h"

#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <string>

namespace mailnest {
namespace {

TEST_CASE("MakeUniqueBase has the <sec>.M<usec>P<pid>Q<seq> shape", "[store][name]") {
  // Checked by hand: std::regex trips GCC 12 warnings under sanitizers.
  std::string base = MakeUniqueBase();
  const char* p = base.c_str();
  auto digits = [&p] {
    const char* start = p;
    while (*p >= '0' && *p <= '9') ++p;
    return p > start;
  };
  auto lit = [&p](char c) { return *p == c ? (++p, true) : false; };
  CHECK((digits() && lit('.') && lit('M') && digits() && lit('P') && digits() && lit('Q') && digits() &&
         *p == '\0'));
}

TEST_CASE("10k unique bases made within one second are all distinct", "[store][name]") {
  std::set<std::string> seen;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 10000; ++i) seen.insert(MakeUniqueBase());
  auto took = std::chrono::steady_clock::now() - start;
  CHECK(seen.size() == 10000);
  // They really were made within (about) one second, so <sec> and mostly
  // <usec> repeat: only Q<seq> keeps them apart.
  CHECK(took < std::chrono::seconds(1));
}

TEST_CASE("SanitizeMaildirHost escapes '/', ':' and ','", "[store][name]") {
  CHECK(SanitizeMaildirHost("mx.example.org") == "mx.example.org");
  CHECK(SanitizeMaildirHost("a/b:c,d") == "a\\057b\\072c\\054d");
  CHECK(SanitizeMaildirHost("") == "");
}

TEST_CASE("MakeMaildirFileName and ParseMaildirName round trip", "[store][name]") {
  std::string base = MakeUniqueBase();
  std::string name = MakeMaildirFileName(base, SanitizeMaildirHost("h:1"), 12345, 12600);
  CHECK(name == base + ".h\\0721,S=12345,W=12600");

  MaildirNameParts p;
  SECTION("as found in new/") {
    REQUIRE(ParseMaildirName(name, &p));
    CHECK(p.unique == name);
    REQUIRE(p.size.has_value());
    CHECK(*p.size == 12345);
    REQUIRE(p.wire.has_value());
    CHECK(*p.wire == 12600);
    CHECK(p.info.empty());
  }
  SECTION("moved to cur/ with flags: unique (the UIDL) unchanged") {
    REQUIRE(ParseMaildirName(name + ":2,RS", &p));
    CHECK(p.unique == name);
    CHECK(*p.size == 12345);
    CHECK(*p.wire == 12600);
    CHECK(p.info == "RS");
  }
  SECTION("a name Dovecot wrote, and one from an older mailnest") {
    REQUIRE(ParseMaildirName("1733590000.M480563P4242.lab,S=115,W=123:2,S", &p));
    CHECK(p.unique == "1733590000.M480563P4242.lab,S=115,W=123");
    CHECK(*p.size == 115);
    CHECK(*p.wire == 123);
    CHECK(p.info == "S");
    REQUIRE(ParseMaildirName("1.M2P3Q4.host,S=77:2,", &p));
    CHECK(*p.size == 77);
    CHECK_FALSE(p.wire.has_value());
  }
  SECTION("fields in another order, or unknown ones between") {
    REQUIRE(ParseMaildirName("1.x,W=90,S=80,X=1", &p));
    CHECK(*p.size == 80);
    CHECK(*p.wire == 90);
    REQUIRE(ParseMaildirName("1.x,W=9z,S=80", &p));
    CHECK_FALSE(p.wire.has_value());
  }
}

TEST_CASE("ParseMaildirName without or with a broken S= has no size", "[store][name]") {
  MaildirNameParts p;
  REQUIRE(ParseMaildirName("1234.5678.host", &p));
  CHECK(p.unique == "1234.5678.host");
  CHECK_FALSE(p.size.has_value());
  REQUIRE(ParseMaildirName("1.host,S=12x", &p));
  CHECK_FALSE(p.size.has_value());
  REQUIRE(ParseMaildirName("1.host,S=", &p));
  CHECK_FALSE(p.size.has_value());
  REQUIRE(ParseMaildirName("1.host,S=99999999999999999999999", &p));
  CHECK_FALSE(p.size.has_value());
}

TEST_CASE("ParseMaildirName rejects dotfiles and non-names", "[store][name]") {
  MaildirNameParts p;
  CHECK_FALSE(ParseMaildirName("", &p));
  CHECK_FALSE(ParseMaildirName(".", &p));
  CHECK_FALSE(ParseMaildirName("..", &p));
  CHECK_FALSE(ParseMaildirName(".nfs0001", &p));
  CHECK_FALSE(ParseMaildirName("a/b", &p));
  CHECK_FALSE(ParseMaildirName(std::string_view("a\0b", 3), &p));
  CHECK_FALSE(ParseMaildirName(":2,S", &p));
}

}  // namespace
}  // namespace mailnest
