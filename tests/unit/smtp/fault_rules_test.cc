// The fault rules' parser (every bad key named), the glob, and the
// injector's counting: first N, every N, always, first firing rule wins.
#include "smtp/fault_rules.h"

#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "base/config.h"
#include "smtp/fault_injector.h"

namespace mailnest {
namespace {

std::string ParseError(const std::string& text) {
  std::vector<FaultRule> rules;
  Status s = ParseFaultRules(nlohmann::json::parse(text), "faults", &rules);
  return s.ok() ? "ok" : s.message();
}

std::vector<FaultRule> Rules(const std::string& text) {
  std::vector<FaultRule> rules;
  Status s = ParseFaultRules(nlohmann::json::parse(text), "faults", &rules);
  INFO(s.message());
  REQUIRE(s.ok());
  return rules;
}

TEST_CASE("fault rules: a full rule parses and renders back", "[faults]") {
  auto rules = Rules(R"([{"stage": "rcpt", "recipient": "*@B.lab", "sender": "<>",
                          "reply": {"code": 451, "enhanced": "4.7.1", "text": "later"}, "first": 2},
                         {"stage": "dot", "delay_ms": 1500, "every": 3},
                         {"stage": "connect", "disconnect": true}])");
  REQUIRE(rules.size() == 3);
  CHECK(rules[0].stage == FaultStage::kRcpt);
  CHECK(rules[0].action.kind == FaultAction::Kind::kReply);
  CHECK(rules[0].action.code == 451);
  CHECK(rules[0].apply == FaultRule::Apply::kFirst);
  CHECK(rules[0].n == 2);
  CHECK(rules[1].action.delay_ms == 1500);
  CHECK(rules[1].apply == FaultRule::Apply::kEvery);
  CHECK(rules[2].apply == FaultRule::Apply::kAlways);
  CHECK(FaultRuleJson(rules[0]).dump() ==
        R"({"first":2,"recipient":"*@B.lab","reply":{"code":451,"enhanced":"4.7.1","text":"later"},"sender":"<>","stage":"rcpt"})");
  // Defaults: enhanced code of the code's class, a fixed text.
  auto d = Rules(R"([{"stage": "mail", "reply": {"code": 554}}])");
  CHECK(d[0].action.enhanced == "5.0.0");
  CHECK(d[0].action.text == "Fault injected");
}

TEST_CASE("fault rules: each bad key or value is named", "[faults]") {
  CHECK(ParseError(R"({})") == "faults: must be a list of rules");
  CHECK(ParseError(R"([1])") == "faults[0]: must be an object");
  CHECK(ParseError(R"([{"disconnect": true}])") ==
        "faults[0].stage: required (connect, helo, mail, rcpt, data or dot)");
  CHECK(ParseError(R"([{"stage": "quit", "disconnect": true}])") ==
        "faults[0].stage: must be connect, helo, mail, rcpt, data or dot");
  CHECK(ParseError(R"([{"stage": "rcpt"}])") ==
        "faults[0]: exactly one action: reply, delay_ms or disconnect (0 given)");
  CHECK(ParseError(R"([{"stage": "rcpt", "disconnect": true, "delay_ms": 5}])") ==
        "faults[0]: exactly one action: reply, delay_ms or disconnect (2 given)");
  CHECK(ParseError(R"([{"stage": "rcpt", "disconnect": false}])") ==
        "faults[0].disconnect: must be true (or left out)");
  CHECK(ParseError(R"([{"stage": "rcpt", "reply": {"code": 250}}])") ==
        "faults[0].reply.code: 250 is out of range 400..599");
  CHECK(ParseError(R"([{"stage": "rcpt", "reply": {}}])") == "faults[0].reply.code: required (400..599)");
  CHECK(ParseError(R"([{"stage": "rcpt", "reply": {"code": 451, "enhanced": "5.1.1"}}])") ==
        "faults[0].reply.enhanced: must be an enhanced status code like \"4.7.1\" (class 4 as the code)");
  CHECK(ParseError(R"([{"stage": "rcpt", "reply": {"code": 451, "text": "a\r\nb"}}])") ==
        "faults[0].reply.text: must be 1..200 printable ASCII characters");
  CHECK(ParseError(R"([{"stage": "rcpt", "reply": {"code": 451, "colour": 1}}])") ==
        "faults[0].reply.colour: unknown key");
  CHECK(ParseError(R"([{"stage": "rcpt", "delay_ms": 0}])") == "faults[0].delay_ms: 0 is out of range 1..600000");
  CHECK(ParseError(R"([{"stage": "rcpt", "delay_ms": "5"}])") == "faults[0].delay_ms: must be a whole number 1..600000");
  CHECK(ParseError(R"([{"stage": "rcpt", "disconnect": true, "first": 1, "every": 2}])") ==
        "faults[0]: first and every exclude each other");
  CHECK(ParseError(R"([{"stage": "rcpt", "disconnect": true, "first": 0}])") ==
        "faults[0].first: 0 is out of range 1..1000000");
  CHECK(ParseError(R"([{"stage": "helo", "sender": "a*", "disconnect": true}])") ==
        "faults[0].sender: not known at stage helo (mail or later)");
  CHECK(ParseError(R"([{"stage": "mail", "recipient": "a*", "disconnect": true}])") ==
        "faults[0].recipient: not known at stage mail (rcpt or later)");
  CHECK(ParseError(R"([{"stage": "rcpt", "recipient": "", "disconnect": true}])") ==
        "faults[0].recipient: must be 1..256 printable ASCII characters");
  CHECK(ParseError(R"([{"stage": "rcpt", "disconnect": true, "when": 1}])") == "faults[0].when: unknown key");
  std::string many = "[";
  for (int i = 0; i < 101; ++i) many += std::string(i ? "," : "") + R"({"stage":"dot","disconnect":true})";
  CHECK(ParseError(many + "]") == "faults: 101 rules, at most 100");
}

TEST_CASE("fault rules: the config file's faults key", "[faults][config]") {
  Config c;
  CHECK(ParseConfig(R"({"faults": [{"stage": "dot", "reply": {"code": 452}}]})", &c).ok());
  CHECK(c.faults.size() == 1);
  Config d;
  Status s = ParseConfig(R"({"faults": [{"stage": "dot", "reply": {"code": 200}}]})", &d);
  CHECK(s.message() == "faults[0].reply.code: 200 is out of range 400..599");
  Config e;
  CHECK(ParseConfig("{}", &e).ok());
  CHECK(e.faults.empty());
}

TEST_CASE("fault patterns: case-insensitive glob with *", "[faults]") {
  CHECK(FaultPatternMatches("*", ""));
  CHECK(FaultPatternMatches("*", "bob@b.lab"));
  CHECK(FaultPatternMatches("*@B.LAB", "bob@b.lab"));
  CHECK(FaultPatternMatches("bob@*", "BOB@x"));
  CHECK(FaultPatternMatches("b*b@*.lab", "bob@b.lab"));
  CHECK(FaultPatternMatches("*a*a*a*", "banana"));
  CHECK_FALSE(FaultPatternMatches("*a*a*a*a*", "banana"));
  CHECK_FALSE(FaultPatternMatches("bob@b.lab", "bob@b.labx"));
  CHECK_FALSE(FaultPatternMatches("bob", ""));
  CHECK(FaultPatternMatches("<>", ""));
  CHECK_FALSE(FaultPatternMatches("<>", "a@b"));
}

TEST_CASE("fault injector: first N, every N, always; the first firing rule wins", "[faults]") {
  std::vector<std::string> bob{"bob@b.lab"}, carol{"carol@b.lab"};
  FaultSubject to_bob{std::string_view("a@x"), bob}, to_carol{std::string_view("a@x"), carol};

  SECTION("first 2") {
    FaultInjector f(Rules(R"([{"stage": "rcpt", "recipient": "bob@*", "reply": {"code": 451}, "first": 2}])"));
    CHECK(f.Check(FaultStage::kRcpt, to_carol) == std::nullopt);  // no match: not counted
    CHECK(f.Check(FaultStage::kMail, to_bob) == std::nullopt);     // other stage
    CHECK(f.Check(FaultStage::kRcpt, to_bob).has_value());
    CHECK(f.Check(FaultStage::kRcpt, to_bob).has_value());
    CHECK(f.Check(FaultStage::kRcpt, to_bob) == std::nullopt);
    CHECK(f.Check(FaultStage::kRcpt, to_bob) == std::nullopt);
    auto j = f.Json();
    CHECK(j["counters"][0]["matched"] == 4);
    CHECK(j["counters"][0]["injected"] == 2);
    CHECK(f.injected_total() == 2);
  }
  SECTION("every 3") {
    FaultInjector f(Rules(R"([{"stage": "dot", "disconnect": true, "every": 3}])"));
    std::vector<bool> fired;
    for (int i = 0; i < 7; ++i) fired.push_back(f.Check(FaultStage::kDot, to_bob).has_value());
    CHECK(fired == std::vector<bool>{false, false, true, false, false, true, false});
  }
  SECTION("always, and order") {
    FaultInjector f(Rules(R"([{"stage": "rcpt", "recipient": "bob@*", "reply": {"code": 550}, "first": 1},
                              {"stage": "rcpt", "delay_ms": 10}])"));
    auto a = f.Check(FaultStage::kRcpt, to_bob);
    REQUIRE(a);
    CHECK(a->rule == 0);
    auto b = f.Check(FaultStage::kRcpt, to_bob);  // rule 0 is spent: rule 1 sees it
    REQUIRE(b);
    CHECK(b->rule == 1);
    CHECK(b->action.kind == FaultAction::Kind::kDelay);
    auto j = f.Json();
    CHECK(j["counters"][1]["matched"] == 1);  // did not see the first attempt
    f.Replace({}, "test");
    CHECK(f.Check(FaultStage::kRcpt, to_bob) == std::nullopt);
    CHECK(f.injected_total() == 2);  // for the process's life
  }
  SECTION("sender patterns need a sender") {
    FaultInjector f(Rules(R"([{"stage": "rcpt", "sender": "<>", "reply": {"code": 451}}])"));
    CHECK(f.Check(FaultStage::kRcpt, to_bob) == std::nullopt);
    CHECK(f.Check(FaultStage::kRcpt, {std::string_view(), bob}).has_value());
  }
}

TEST_CASE("fault injector: metrics text", "[faults]") {
  FaultInjector f(Rules(R"([{"stage": "helo", "reply": {"code": 421}}])"));
  f.Check(FaultStage::kHelo, {});
  std::string m = f.MetricsText();
  CHECK(m.find("mailnest_fault_rules 1\n") != std::string::npos);
  CHECK(m.find("mailnest_faults_injected_total{rule=\"0\",stage=\"helo\",action=\"reply\"} 1\n") != std::string::npos);
}

}  // namespace
}  // namespace mailnest
