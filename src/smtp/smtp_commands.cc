#include "smtp/smtp_commands.h"

#include <algorithm>

#include "smtp/smtp_session.h"

namespace mailnest {

namespace {

using S = SmtpState;
constexpr SmtpStateMask kAnyCommandState = kCommandStates;
constexpr SmtpStateMask kInTransaction = StateBit(S::kMail) | StateBit(S::kRcpt);

char Upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

// <0, 0, >0 like strcmp; verb compared upper-cased.
int CompareVerb(std::string_view name, std::string_view verb) {
  size_t n = std::min(name.size(), verb.size());
  for (size_t i = 0; i < n; ++i) {
    char a = name[i], b = Upper(verb[i]);
    if (a != b) return a < b ? -1 : 1;
  }
  if (name.size() == verb.size()) return 0;
  return name.size() < verb.size() ? -1 : 1;
}

}  // namespace

std::string_view SmtpStateName(SmtpState s) {
  switch (s) {
    case S::kNew: return "NEW";
    case S::kConnected: return "CONNECTED";
    case S::kGreeted: return "GREETED";
    case S::kMail: return "MAIL";
    case S::kRcpt: return "RCPT";
    case S::kData: return "DATA";
    case S::kDelivering: return "DELIVERING";
    case S::kClosing: return "CLOSING";
  }
  return "?";
}

// States per RFC 5321: HELO/EHLO may come at any time and reset the
// transaction (§4.1.4); MAIL needs a greeting and no open transaction
// (§3.3); RCPT needs MAIL; DATA needs an accepted recipient (§3.3: "503 if
// no valid recipients"); RSET, NOOP, QUIT, HELP, VRFY, EXPN are allowed
// anywhere (§4.1.4).
std::span<const SmtpCommand> SmtpCommandTable() {
  static constexpr SmtpCommand kTable[] = {
      {"DATA", StateBit(S::kRcpt), 0, 0, "DATA", &SmtpSession::CheckNothing, &SmtpSession::ProceedData},
      {"EHLO", kAnyCommandState, 1, 1, "EHLO hostname", &SmtpSession::CheckHelo, &SmtpSession::ProceedEhlo},
      {"EXPN", kAnyCommandState, 1, kAnyArgs, "EXPN mailing-list", &SmtpSession::CheckNothing,
       &SmtpSession::ProceedExpn},
      {"HELO", kAnyCommandState, 1, 1, "HELO hostname", &SmtpSession::CheckHelo, &SmtpSession::ProceedHelo},
      {"HELP", kAnyCommandState, 0, kAnyArgs, "HELP", &SmtpSession::CheckNothing, &SmtpSession::ProceedHelp},
      {"MAIL", StateBit(S::kGreeted), 1, kAnyArgs, "MAIL FROM:<address>", &SmtpSession::CheckMail,
       &SmtpSession::ProceedMail},
      {"NOOP", kAnyCommandState, 0, kAnyArgs, "NOOP", &SmtpSession::CheckNothing, &SmtpSession::ProceedNoop},
      {"QUIT", kAnyCommandState, 0, 0, "QUIT", &SmtpSession::CheckNothing, &SmtpSession::ProceedQuit},
      {"RCPT", kInTransaction, 1, kAnyArgs, "RCPT TO:<address>", &SmtpSession::CheckRcpt,
       &SmtpSession::ProceedRcpt},
      {"RSET", kAnyCommandState, 0, 0, "RSET", &SmtpSession::CheckNothing, &SmtpSession::ProceedRset},
      {"VRFY", kAnyCommandState, 1, kAnyArgs, "VRFY address", &SmtpSession::CheckNothing,
       &SmtpSession::ProceedVrfy},
  };
  return kTable;
}

const SmtpCommand* FindSmtpCommand(std::string_view verb) {
  std::span<const SmtpCommand> table = SmtpCommandTable();
  size_t lo = 0, hi = table.size();
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = CompareVerb(table[mid].name, verb);
    if (c == 0) return &table[mid];
    if (c < 0) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return nullptr;
}

}  // namespace mailnest
