// Deterministic fault injection on the receiving side: the live rule list
// with its counters (rules: smtp/fault_rules.h; user's view: docs/RELAY.md).
//
// The SMTP session asks Check() once per stage it reaches: at connect, for
// every HELO/EHLO, MAIL, RCPT and DATA command that passed its own checks
// (a command refused on its merits is no attempt), and at the final dot of
// a message that would be stored. Each such question is one "attempt" of
// every rule of that stage whose patterns match it: such a rule counts it
// ("matched"), then decides by its application (first N: matches 1..N;
// every N: matches N, 2N, …; always). The first rule in list order that
// fires wins and stops the walk (later rules do not see that attempt).
//
// Replace() (config at start, PUT/DELETE /api/v1/faults at run time)
// swaps the whole list and starts its counters at zero; injected_total()
// counts for the process's life. A session keeps its own copy of a fired
// action, so a replaced list never leaves it holding a dangling rule.
// Loop-thread only: sessions and the HTTP API share one loop.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "smtp/fault_rules.h"

namespace mailnest {

class Logger;

// What a session knows at the stage it asks about.
struct FaultSubject {
  std::optional<std::string_view> sender;  // reverse-path text, "" for <>; none before MAIL
  std::span<const std::string> recipients;  // rcpt: the one being added; data/dot: all accepted
};

class FaultInjector {
 public:
  struct Hit {
    size_t rule = 0;  // index in the list at the time
    FaultAction action;
  };

  explicit FaultInjector(std::vector<FaultRule> rules = {}, Logger* log = nullptr);

  // One attempt at stage (see above); the firing rule's action, if any.
  std::optional<Hit> Check(FaultStage stage, const FaultSubject& subject);
  // A new list (counters from zero); logged with how many rules it has.
  void Replace(std::vector<FaultRule> rules, std::string_view why);

  bool empty() const { return rules_.empty(); }
  uint64_t injected_total() const { return injected_total_; }
  // GET /api/v1/faults: {"faults": [rules as configured], "counters":
  // [{"rule", "matched", "injected"}], "injected_total"}.
  nlohmann::json Json() const;
  // The "faults" member of GET /api/v1/stats.
  nlohmann::json StatsJson() const;
  // mailnest_fault_rules and mailnest_faults_injected_total{rule,stage,action}.
  std::string MetricsText() const;

 private:
  struct Counted {
    FaultRule rule;
    uint64_t matched = 0;
    uint64_t injected = 0;
  };
  static bool Matches(const FaultRule& r, const FaultSubject& s);
  static bool Fires(const Counted& c);

  std::vector<Counted> rules_;
  Logger* log_;
  uint64_t injected_total_ = 0;
};

}  // namespace mailnest
