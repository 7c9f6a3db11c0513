// Deterministic fault injection on the receiving side: the rules.
//
// A rule names a stage of the SMTP conversation, optionally a sender and/or
// recipient pattern, one action and how often it applies:
//
//   {"stage": "rcpt", "recipient": "*@b.lab",
//    "reply": {"code": 451, "enhanced": "4.7.1", "text": "try later"},
//    "first": 2}
//
// Stages: connect (before the greeting), helo (HELO/EHLO), mail, rcpt, data
// (the DATA command), dot (the final dot, before the message is stored).
// Actions, exactly one: "reply" (4xx/5xx instead of the normal reply),
// "delay_ms" (wait, then carry on normally), "disconnect": true (close
// without a reply). Application: "first": N (the first N matches), "every":
// N (the Nth, 2Nth, … match) or neither (always). docs/RELAY.md, "Fault
// injection", is the user's description; smtp/fault_injector.h applies them.
//
// This file only parses and validates (config "faults" and PUT
// /api/v1/faults share it, so both name a bad key the same way) and
// renders rules back to JSON.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/status.h"

namespace mailnest {

enum class FaultStage : uint8_t { kConnect, kHelo, kMail, kRcpt, kData, kDot };
constexpr int kFaultStageCount = 6;

std::string_view FaultStageName(FaultStage s);
// "HELO"/"EHLO" → helo, "MAIL" → mail, "RCPT" → rcpt, "DATA" → data (upper
// case, as the command table spells verbs); other verbs have no stage.
std::optional<FaultStage> FaultStageOfVerb(std::string_view verb);

struct FaultAction {
  enum class Kind : uint8_t { kReply, kDelay, kDisconnect } kind = Kind::kReply;
  uint16_t code = 0;      // kReply: 400..599
  std::string enhanced;   // kReply: "4.7.1"; its class is the code's first digit
  std::string text;       // kReply: printable ASCII, never empty
  uint32_t delay_ms = 0;  // kDelay
};

struct FaultRule {
  FaultStage stage = FaultStage::kConnect;
  std::string sender;     // pattern; "" = any (the null sender is "<>")
  std::string recipient;  // pattern; "" = any
  FaultAction action;
  enum class Apply : uint8_t { kAlways, kFirst, kEvery } apply = Apply::kAlways;
  uint32_t n = 0;  // kFirst / kEvery
  std::string comment;  // free text, kept for GET /api/v1/faults
};

// Bounds (docs/E1_specification.md lists them).
constexpr size_t kMaxFaultRules = 100;
constexpr size_t kMaxFaultPattern = 256;
constexpr size_t kMaxFaultText = 200;
constexpr uint32_t kMaxFaultDelayMs = 600000;
constexpr uint32_t kMaxFaultCount = 1000000;  // first / every

// Parses a JSON list of rules. path names the list in messages ("faults"):
// "faults[2].reply.code: 250 is out of range 400..599".
Status ParseFaultRules(const nlohmann::json& j, const std::string& path, std::vector<FaultRule>* out);

// One rule / the list in the form ParseFaultRules reads.
nlohmann::json FaultRuleJson(const FaultRule& r);

// Glob match, ASCII case-insensitive; '*' matches any run of characters
// (also none), every other character itself. The pattern "<>" matches only
// the empty text (the null sender).
bool FaultPatternMatches(std::string_view pattern, std::string_view text);

// For logs: "reply 451 4.7.1", "delay 2000 ms", "disconnect".
std::string DescribeFaultAction(const FaultAction& a);

}  // namespace mailnest
