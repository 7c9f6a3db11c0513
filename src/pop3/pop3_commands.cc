#include "pop3/pop3_commands.h"

#include <algorithm>
#include <array>
#include <limits>

#include "pop3/pop3_session.h"

namespace mailnest {

namespace {

constexpr uint8_t kAuth = kPop3Authorization;
constexpr uint8_t kTrans = kPop3Transaction;
using K = Pop3ArgKind;
using S = Pop3Session;

// Sorted by verb. APOP and AUTH are not offered (CAPA does not list SASL),
// so they fall through to "unknown command" like any other verb.
constexpr std::array<Pop3Command, 12> kCommands{{
    {"CAPA", kAuth | kTrans, 0, 0, K::kWords, &S::DoCapa},
    {"DELE", kTrans, 1, 1, K::kMessage, &S::DoDele},
    {"LIST", kTrans, 0, 1, K::kMessage, &S::DoList},
    {"NOOP", kTrans, 0, 0, K::kWords, &S::DoNoop},
    {"PASS", kAuth, 1, 1, K::kRest, &S::DoPass},
    {"QUIT", kAuth | kTrans, 0, 0, K::kWords, &S::DoQuit},
    {"RETR", kTrans, 1, 1, K::kMessage, &S::DoRetr},
    {"RSET", kTrans, 0, 0, K::kWords, &S::DoRset},
    {"STAT", kTrans, 0, 0, K::kWords, &S::DoStat},
    {"TOP", kTrans, 2, 2, K::kMessageLines, &S::DoTop},
    {"UIDL", kTrans, 0, 1, K::kMessage, &S::DoUidl},
    {"USER", kAuth, 1, 1, K::kWords, &S::DoUser},
}};

static_assert(std::is_sorted(kCommands.begin(), kCommands.end(),
                             [](const Pop3Command& a, const Pop3Command& b) { return a.verb < b.verb; }),
              "kCommands must be sorted by verb for FindPop3Command's binary search");

}  // namespace

const char* Pop3StateName(Pop3State state) {
  switch (state) {
    case kPop3Authorization: return "AUTHORIZATION";
    case kPop3Transaction: return "TRANSACTION";
    case kPop3Update: return "UPDATE";
  }
  return "?";
}

std::span<const Pop3Command> Pop3Commands() { return kCommands; }

const Pop3Command* FindPop3Command(std::string_view verb) {
  // Every verb is 3-4 letters (RFC 2449 §3), so longer input is unknown.
  char upper[4];
  if (verb.empty() || verb.size() > sizeof upper) return nullptr;
  for (size_t i = 0; i < verb.size(); ++i) {
    char c = verb[i];
    upper[i] = (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
  }
  std::string_view key(upper, verb.size());
  auto it = std::lower_bound(kCommands.begin(), kCommands.end(), key,
                             [](const Pop3Command& row, std::string_view k) { return row.verb < k; });
  if (it == kCommands.end() || it->verb != key) return nullptr;
  return &*it;
}

Pop3Line SplitPop3Line(std::string_view line) {
  Pop3Line out;
  size_t sp = line.find(' ');
  out.verb = line.substr(0, sp);
  if (sp == std::string_view::npos) return out;
  out.rest = line.substr(sp + 1);
  size_t pos = sp;
  while (pos < line.size()) {
    while (pos < line.size() && line[pos] == ' ') ++pos;
    if (pos == line.size()) break;
    size_t end = line.find(' ', pos);
    if (end == std::string_view::npos) end = line.size();
    if (out.count == kMaxArgs) {
      out.too_many = true;
      break;
    }
    out.words[out.count++] = line.substr(pos, end - pos);
    pos = end;
  }
  return out;
}

bool ParsePop3Number(std::string_view s, uint64_t* out) {
  if (s.empty()) return false;
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    v = (v > (kMax - d) / 10) ? kMax : v * 10 + d;
  }
  *out = v;
  return true;
}

}  // namespace mailnest
