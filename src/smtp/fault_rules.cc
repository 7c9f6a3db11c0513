#include "smtp/fault_rules.h"

#include <fmt/format.h>

#include <array>
#include <nlohmann/json.hpp>
#include <set>

namespace mailnest {

using nlohmann::json;

namespace {

#define MN_TRY(expr)         \
  do {                       \
    Status _s = (expr);      \
    if (!_s.ok()) return _s; \
  } while (0)

constexpr std::array<std::string_view, kFaultStageCount> kStageNames = {"connect", "helo", "mail",
                                                                         "rcpt",    "data", "dot"};

char LowerAscii(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool IsPrintable(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c > 0x7e) return false;
  }
  return true;
}

// "C.S.D": class 2/4/5, subject and detail 1-3 digits (RFC 3463 §2).
bool IsEnhancedCode(std::string_view s, char cls) {
  if (s.size() < 5 || s[0] != cls || s[1] != '.') return false;
  size_t i = 2;
  for (int part = 0; part < 2; ++part) {
    size_t start = i;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') ++i;
    if (i - start < 1 || i - start > 3) return false;
    if (part == 0) {
      if (i >= s.size() || s[i] != '.') return false;
      ++i;
    }
  }
  return i == s.size();
}

// One JSON object's keys, each taken once; leftovers are unknown keys.
class Keys {
 public:
  Keys(const json& j, std::string path) : j_(j), path_(std::move(path)) {}
  const json* Take(const char* key) {
    seen_.insert(key);
    auto it = j_.find(key);
    return it == j_.end() ? nullptr : &*it;
  }
  std::string Name(std::string_view key) const { return fmt::format("{}.{}", path_, key); }
  Status Unknown() const {
    for (auto it = j_.begin(); it != j_.end(); ++it) {
      if (!seen_.count(it.key())) return Status::Invalid(fmt::format("{}: unknown key", Name(it.key())));
    }
    return Status::Ok();
  }
  // A whole number min..max, the message worded as config.cc words it.
  Status Uint(const char* key, uint32_t* out, uint64_t min, uint64_t max, bool* present = nullptr) {
    const json* v = Take(key);
    if (present) *present = v != nullptr;
    if (!v) return Status::Ok();
    if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<int64_t>() >= 0)) {
      return Status::Invalid(fmt::format("{}: must be a whole number {}..{}", Name(key), min, max));
    }
    uint64_t n = v->get<uint64_t>();
    if (n < min || n > max) return Status::Invalid(fmt::format("{}: {} is out of range {}..{}", Name(key), n, min, max));
    *out = static_cast<uint32_t>(n);
    return Status::Ok();
  }
  Status Text(const char* key, std::string* out, size_t max) {
    const json* v = Take(key);
    if (!v) return Status::Ok();
    if (!v->is_string() || v->get<std::string>().empty() || v->get<std::string>().size() > max ||
        !IsPrintable(v->get<std::string>())) {
      return Status::Invalid(fmt::format("{}: must be 1..{} printable ASCII characters", Name(key), max));
    }
    *out = v->get<std::string>();
    return Status::Ok();
  }

 private:
  const json& j_;
  std::string path_;
  std::set<std::string> seen_;
};

Status ParseReply(const json& j, const std::string& path, FaultAction* a) {
  if (!j.is_object()) return Status::Invalid(fmt::format("{}: must be an object {{code, enhanced, text}}", path));
  Keys k(j, path);
  a->kind = FaultAction::Kind::kReply;
  uint32_t code = 0;
  bool has_code = false;
  MN_TRY(k.Uint("code", &code, 400, 599, &has_code));
  if (!has_code) return Status::Invalid(fmt::format("{}: required (400..599)", k.Name("code")));
  a->code = static_cast<uint16_t>(code);
  const char cls = static_cast<char>('0' + code / 100);
  a->enhanced = fmt::format("{}.0.0", cls);
  if (const json* e = k.Take("enhanced")) {
    if (!e->is_string() || !IsEnhancedCode(e->get<std::string>(), cls)) {
      return Status::Invalid(fmt::format("{}: must be an enhanced status code like \"{}.7.1\" (class {} as the code)",
                                         k.Name("enhanced"), cls, cls));
    }
    a->enhanced = e->get<std::string>();
  }
  a->text = "Fault injected";
  MN_TRY(k.Text("text", &a->text, kMaxFaultText));
  return k.Unknown();
}

Status ParseRule(const json& j, const std::string& path, FaultRule* r) {
  if (!j.is_object()) return Status::Invalid(fmt::format("{}: must be an object", path));
  Keys k(j, path);
  const json* stage = k.Take("stage");
  if (!stage) return Status::Invalid(fmt::format("{}: required (connect, helo, mail, rcpt, data or dot)", k.Name("stage")));
  bool known = false;
  for (int i = 0; i < kFaultStageCount; ++i) {
    if (stage->is_string() && stage->get<std::string>() == kStageNames[i]) {
      r->stage = static_cast<FaultStage>(i);
      known = true;
    }
  }
  if (!known) return Status::Invalid(fmt::format("{}: must be connect, helo, mail, rcpt, data or dot", k.Name("stage")));

  MN_TRY(k.Text("sender", &r->sender, kMaxFaultPattern));
  MN_TRY(k.Text("recipient", &r->recipient, kMaxFaultPattern));
  // Only what the conversation has told us by that stage can be matched.
  const bool sender_known = r->stage >= FaultStage::kMail;
  const bool recipient_known = r->stage >= FaultStage::kRcpt;
  if (!r->sender.empty() && !sender_known) {
    return Status::Invalid(fmt::format("{}: not known at stage {} (mail or later)", k.Name("sender"),
                                       FaultStageName(r->stage)));
  }
  if (!r->recipient.empty() && !recipient_known) {
    return Status::Invalid(fmt::format("{}: not known at stage {} (rcpt or later)", k.Name("recipient"),
                                       FaultStageName(r->stage)));
  }

  int actions = 0;
  if (const json* reply = k.Take("reply")) {
    ++actions;
    MN_TRY(ParseReply(*reply, k.Name("reply"), &r->action));
  }
  bool has_delay = false;
  MN_TRY(k.Uint("delay_ms", &r->action.delay_ms, 1, kMaxFaultDelayMs, &has_delay));
  if (has_delay) {
    ++actions;
    r->action.kind = FaultAction::Kind::kDelay;
  }
  if (const json* d = k.Take("disconnect")) {
    if (!d->is_boolean() || !d->get<bool>()) {
      return Status::Invalid(fmt::format("{}: must be true (or left out)", k.Name("disconnect")));
    }
    ++actions;
    r->action.kind = FaultAction::Kind::kDisconnect;
  }
  if (actions != 1) {
    return Status::Invalid(fmt::format("{}: exactly one action: reply, delay_ms or disconnect ({} given)", path, actions));
  }

  bool has_first = false, has_every = false;
  uint32_t first = 0, every = 0;
  MN_TRY(k.Uint("first", &first, 1, kMaxFaultCount, &has_first));
  MN_TRY(k.Uint("every", &every, 1, kMaxFaultCount, &has_every));
  if (has_first && has_every) return Status::Invalid(fmt::format("{}: first and every exclude each other", path));
  if (has_first) {
    r->apply = FaultRule::Apply::kFirst;
    r->n = first;
  } else if (has_every) {
    r->apply = FaultRule::Apply::kEvery;
    r->n = every;
  }
  MN_TRY(k.Text("comment", &r->comment, kMaxFaultText));  // free text for the reader
  return k.Unknown();
}

}  // namespace

std::string_view FaultStageName(FaultStage s) { return kStageNames[static_cast<size_t>(s)]; }

std::optional<FaultStage> FaultStageOfVerb(std::string_view verb) {
  if (verb == "HELO" || verb == "EHLO") return FaultStage::kHelo;
  if (verb == "MAIL") return FaultStage::kMail;
  if (verb == "RCPT") return FaultStage::kRcpt;
  if (verb == "DATA") return FaultStage::kData;
  return std::nullopt;
}

Status ParseFaultRules(const json& j, const std::string& path, std::vector<FaultRule>* out) {
  if (!j.is_array()) return Status::Invalid(fmt::format("{}: must be a list of rules", path));
  if (j.size() > kMaxFaultRules) {
    return Status::Invalid(fmt::format("{}: {} rules, at most {}", path, j.size(), kMaxFaultRules));
  }
  std::vector<FaultRule> rules;
  for (size_t i = 0; i < j.size(); ++i) {
    FaultRule r;
    MN_TRY(ParseRule(j[i], fmt::format("{}[{}]", path, i), &r));
    rules.push_back(std::move(r));
  }
  *out = std::move(rules);
  return Status::Ok();
}

json FaultRuleJson(const FaultRule& r) {
  json j = {{"stage", FaultStageName(r.stage)}};
  if (!r.sender.empty()) j["sender"] = r.sender;
  if (!r.recipient.empty()) j["recipient"] = r.recipient;
  switch (r.action.kind) {
    case FaultAction::Kind::kReply:
      j["reply"] = {{"code", r.action.code}, {"enhanced", r.action.enhanced}, {"text", r.action.text}};
      break;
    case FaultAction::Kind::kDelay:
      j["delay_ms"] = r.action.delay_ms;
      break;
    case FaultAction::Kind::kDisconnect:
      j["disconnect"] = true;
      break;
  }
  if (r.apply == FaultRule::Apply::kFirst) j["first"] = r.n;
  if (r.apply == FaultRule::Apply::kEvery) j["every"] = r.n;
  if (!r.comment.empty()) j["comment"] = r.comment;
  return j;
}

bool FaultPatternMatches(std::string_view pattern, std::string_view text) {
  if (pattern == "<>") return text.empty();
  // Iterative glob with one backtrack point (the last '*'): linear in
  // practice, O(pattern × text) at worst, both bounded.
  size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
  while (t < text.size()) {
    if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      mark = t;
    } else if (p < pattern.size() && LowerAscii(pattern[p]) == LowerAscii(text[t])) {
      ++p;
      ++t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++mark;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

std::string DescribeFaultAction(const FaultAction& a) {
  switch (a.kind) {
    case FaultAction::Kind::kReply:
      return fmt::format("reply {} {}", a.code, a.enhanced);
    case FaultAction::Kind::kDelay:
      return fmt::format("delay {} ms", a.delay_ms);
    case FaultAction::Kind::kDisconnect:
      return "disconnect";
  }
  return "?";
}

}  // namespace mailnest
