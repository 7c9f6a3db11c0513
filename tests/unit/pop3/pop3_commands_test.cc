// The POP3 command table and the line tokeniser the dispatch prelude uses.
#include <catch2/catch.hpp>

#include <algorithm>
#include <set>
#include <string>

#include "pop3/pop3_commands.h"

using namespace mailnest;

TEST_CASE("pop3 command table is sorted and unique", "[pop3]") {
  auto rows = Pop3Commands();
  REQUIRE(rows.size() == 12);
  CHECK(std::is_sorted(rows.begin(), rows.end(),
                       [](const Pop3Command& a, const Pop3Command& b) { return a.verb < b.verb; }));
  std::set<std::string_view> verbs;
  for (const Pop3Command& c : rows) {
    CHECK(verbs.insert(c.verb).second);
    CHECK(c.handler != nullptr);
    CHECK(c.min_args <= c.max_args);
    CHECK(c.max_args <= kMaxArgs);
    CHECK((c.verb.size() == 3 || c.verb.size() == 4));  // RFC 2449 §3
    CHECK((c.states & kPop3Update) == 0);                // UPDATE accepts nothing
    CHECK(c.states != 0);
  }
}

TEST_CASE("pop3 command lookup", "[pop3]") {
  SECTION("every row is found by its own verb") {
    for (const Pop3Command& c : Pop3Commands()) CHECK(FindPop3Command(c.verb) == &c);
  }
  SECTION("case-insensitive (RFC 1939 keywords)") {
    REQUIRE(FindPop3Command("retr") != nullptr);
    CHECK(FindPop3Command("retr")->verb == "RETR");
    CHECK(FindPop3Command("Top")->verb == "TOP");
    CHECK(FindPop3Command("uIdL")->verb == "UIDL");
  }
  SECTION("unknown, empty, prefix and overlong verbs") {
    CHECK(FindPop3Command("") == nullptr);
    CHECK(FindPop3Command("APOP") == nullptr);  // not offered
    CHECK(FindPop3Command("AUTH") == nullptr);  // no SASL
    CHECK(FindPop3Command("RET") == nullptr);
    CHECK(FindPop3Command("RETRX") == nullptr);
    CHECK(FindPop3Command("USERS") == nullptr);
    CHECK(FindPop3Command("R\xC3\x89TR") == nullptr);
  }
}

TEST_CASE("pop3 command state masks follow RFC 1939", "[pop3]") {
  auto states = [](std::string_view v) { return FindPop3Command(v)->states; };
  CHECK(states("USER") == kPop3Authorization);
  CHECK(states("PASS") == kPop3Authorization);
  CHECK(states("QUIT") == (kPop3Authorization | kPop3Transaction));
  CHECK(states("CAPA") == (kPop3Authorization | kPop3Transaction));  // RFC 2449 §5
  for (std::string_view v : {"STAT", "LIST", "RETR", "DELE", "NOOP", "RSET", "UIDL", "TOP"}) {
    INFO(v);
    CHECK(states(v) == kPop3Transaction);
  }
}

TEST_CASE("pop3 command argument counts and kinds", "[pop3]") {
  struct Want {
    std::string_view verb;
    int min, max;
    Pop3ArgKind kind;
  };
  for (const Want& w : {Want{"USER", 1, 1, Pop3ArgKind::kWords}, Want{"PASS", 1, 1, Pop3ArgKind::kRest},
                        Want{"STAT", 0, 0, Pop3ArgKind::kWords}, Want{"LIST", 0, 1, Pop3ArgKind::kMessage},
                        Want{"RETR", 1, 1, Pop3ArgKind::kMessage}, Want{"DELE", 1, 1, Pop3ArgKind::kMessage},
                        Want{"NOOP", 0, 0, Pop3ArgKind::kWords}, Want{"RSET", 0, 0, Pop3ArgKind::kWords},
                        Want{"QUIT", 0, 0, Pop3ArgKind::kWords}, Want{"UIDL", 0, 1, Pop3ArgKind::kMessage},
                        Want{"TOP", 2, 2, Pop3ArgKind::kMessageLines},
                        Want{"CAPA", 0, 0, Pop3ArgKind::kWords}}) {
    INFO(w.verb);
    const Pop3Command* c = FindPop3Command(w.verb);
    REQUIRE(c != nullptr);
    CHECK(c->min_args == w.min);
    CHECK(c->max_args == w.max);
    CHECK(c->kind == w.kind);
  }
}

TEST_CASE("pop3 line splitting", "[pop3]") {
  SECTION("verb only") {
    Pop3Line l = SplitPop3Line("STAT");
    CHECK(l.verb == "STAT");
    CHECK(l.count == 0);
    CHECK(l.rest.empty());
  }
  SECTION("two words") {
    Pop3Line l = SplitPop3Line("TOP 1 10");
    CHECK(l.verb == "TOP");
    REQUIRE(l.count == 2);
    CHECK(l.words[0] == "1");
    CHECK(l.words[1] == "10");
    CHECK_FALSE(l.too_many);
  }
  SECTION("runs of spaces count as one, trailing space ignored") {
    Pop3Line l = SplitPop3Line("LIST   3 ");
    REQUIRE(l.count == 1);
    CHECK(l.words[0] == "3");
  }
  SECTION("more words than any command takes") {
    Pop3Line l = SplitPop3Line("TOP 1 2 3");
    CHECK(l.count == 2);
    CHECK(l.too_many);
  }
  SECTION("rest keeps a password's spaces") {
    Pop3Line l = SplitPop3Line("PASS  my secret pass ");
    CHECK(l.rest == " my secret pass ");
  }
  SECTION("empty line") {
    Pop3Line l = SplitPop3Line("");
    CHECK(l.verb.empty());
    CHECK(FindPop3Command(l.verb) == nullptr);
  }
}

TEST_CASE("pop3 numbers", "[pop3]") {
  uint64_t n = 99;
  CHECK(ParsePop3Number("1", &n));
  CHECK(n == 1);
  CHECK(ParsePop3Number("007", &n));
  CHECK(n == 7);
  CHECK(ParsePop3Number("0", &n));
  CHECK(n == 0);
  CHECK(ParsePop3Number("99999999999999999999999999", &n));  // saturates: out of range later
  CHECK(n == UINT64_MAX);
  CHECK_FALSE(ParsePop3Number("", &n));
  CHECK_FALSE(ParsePop3Number("-1", &n));
  CHECK_FALSE(ParsePop3Number("+1", &n));
  CHECK_FALSE(ParsePop3Number("1a", &n));
  CHECK_FALSE(ParsePop3Number(" 1", &n));
  CHECK_FALSE(ParsePop3Number("0x10", &n));
}

TEST_CASE("pop3 state names", "[pop3]") {
  CHECK(std::string(Pop3StateName(kPop3Authorization)) == "AUTHORIZATION");
  CHECK(std::string(Pop3StateName(kPop3Transaction)) == "TRANSACTION");
  CHECK(std::string(Pop3StateName(kPop3Update)) == "UPDATE");
}
