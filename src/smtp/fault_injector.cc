#include "smtp/fault_injector.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>

#include "base/log.h"

namespace mailnest {

using nlohmann::json;

namespace {

std::string_view ActionName(FaultAction::Kind k) {
  switch (k) {
    case FaultAction::Kind::kReply: return "reply";
    case FaultAction::Kind::kDelay: return "delay";
    case FaultAction::Kind::kDisconnect: return "disconnect";
  }
  return "?";
}

}  // namespace

FaultInjector::FaultInjector(std::vector<FaultRule> rules, Logger* log) : log_(log) {
  Replace(std::move(rules), "config");
}

void FaultInjector::Replace(std::vector<FaultRule> rules, std::string_view why) {
  bool was_empty = rules_.empty();
  rules_.clear();
  for (FaultRule& r : rules) rules_.push_back({std::move(r)});
  if (log_ && !(was_empty && rules_.empty())) {
    log_->Info("", "fault injection: {} rule(s) from {}", rules_.size(), why);
  }
}

bool FaultInjector::Matches(const FaultRule& r, const FaultSubject& s) {
  if (!r.sender.empty() && (!s.sender || !FaultPatternMatches(r.sender, *s.sender))) return false;
  if (!r.recipient.empty()) {
    bool any = std::any_of(s.recipients.begin(), s.recipients.end(),
                           [&r](const std::string& a) { return FaultPatternMatches(r.recipient, a); });
    if (!any) return false;
  }
  return true;
}

bool FaultInjector::Fires(const Counted& c) {
  switch (c.rule.apply) {
    case FaultRule::Apply::kAlways: return true;
    case FaultRule::Apply::kFirst: return c.matched <= c.rule.n;
    case FaultRule::Apply::kEvery: return c.matched % c.rule.n == 0;
  }
  return false;
}

std::optional<FaultInjector::Hit> FaultInjector::Check(FaultStage stage, const FaultSubject& subject) {
  for (size_t i = 0; i < rules_.size(); ++i) {
    Counted& c = rules_[i];
    if (c.rule.stage != stage || !Matches(c.rule, subject)) continue;
    ++c.matched;
    if (!Fires(c)) continue;
    ++c.injected;
    ++injected_total_;
    return Hit{i, c.rule.action};
  }
  return std::nullopt;
}

json FaultInjector::Json() const {
  json rules = json::array(), counters = json::array();
  for (size_t i = 0; i < rules_.size(); ++i) {
    rules.push_back(FaultRuleJson(rules_[i].rule));
    counters.push_back({{"rule", i}, {"matched", rules_[i].matched}, {"injected", rules_[i].injected}});
  }
  return {{"faults", rules}, {"counters", counters}, {"injected_total", injected_total_}};
}

json FaultInjector::StatsJson() const {
  json injected = json::array();
  for (const Counted& c : rules_) injected.push_back(c.injected);
  return {{"rules", rules_.size()}, {"injected", injected}, {"injected_total", injected_total_}};
}

std::string FaultInjector::MetricsText() const {
  std::string out = fmt::format(
      "# HELP mailnest_fault_rules Fault injection rules in force (docs/RELAY.md).\n"
      "# TYPE mailnest_fault_rules gauge\n"
      "mailnest_fault_rules {}\n"
      "# HELP mailnest_faults_injected_total Faults the SMTP server injected, by rule of the current list "
      "(a new list starts at zero).\n"
      "# TYPE mailnest_faults_injected_total counter\n",
      rules_.size());
  for (size_t i = 0; i < rules_.size(); ++i) {
    const FaultRule& r = rules_[i].rule;
    out += fmt::format("mailnest_faults_injected_total{{rule=\"{}\",stage=\"{}\",action=\"{}\"}} {}\n", i,
                       FaultStageName(r.stage), ActionName(r.action.kind), rules_[i].injected);
  }
  return out;
}

}  // namespace mailnest
