// The SMTP session states and the command table.
//
// After OpenSMTPD's smtp_session.c commands[] and MPD's AllCommands.cxx:
// one sorted constexpr row per verb with the states in which it is allowed,
// its argument count bounds, a check (validates arguments, replies and
// returns false on error, changes nothing) and a proceed (does the work,
// changes state). The dispatch prelude in SmtpSession handles everything
// common — limits, framing errors, lookup, unknown verbs, state and arity —
// so each check/proceed deals only with its own command.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "smtp/smtp_address.h"

namespace mailnest {

// CONNECTED → GREETED → MAIL → RCPT → DATA → (DELIVERING) → GREETED.
enum class SmtpState : uint8_t {
  kNew,         // accepted, greeting not sent yet (early-talker window)
  kConnected,   // greeting sent, waiting for HELO/EHLO
  kGreeted,     // HELO/EHLO done, no transaction
  kMail,        // MAIL accepted, no recipient yet
  kRcpt,        // at least one recipient accepted
  kData,        // 354 sent, reading the message body
  kDelivering,  // body complete, waiting for the store's Commit
  kClosing,     // final reply written (or peer gone); nothing is read
};

using SmtpStateMask = uint16_t;
constexpr SmtpStateMask StateBit(SmtpState s) { return static_cast<SmtpStateMask>(1u << static_cast<unsigned>(s)); }
// The states in which command lines are read and dispatched.
constexpr SmtpStateMask kCommandStates = StateBit(SmtpState::kConnected) | StateBit(SmtpState::kGreeted) |
                                         StateBit(SmtpState::kMail) | StateBit(SmtpState::kRcpt);
constexpr bool IsCommandState(SmtpState s) { return (kCommandStates & StateBit(s)) != 0; }

std::string_view SmtpStateName(SmtpState s);

class SmtpSession;

// One command line, split by the dispatch prelude. Views point into the
// framer's buffer: valid only during check and proceed.
struct SmtpCommandArgs {
  std::string_view verb;              // as sent
  std::string_view arg;               // everything after the verb and its SP
  std::vector<std::string_view> words;  // arg split on SP (for arity)
  std::string_view usage;             // the row's usage, for 501 replies
  // Filled by the MAIL / RCPT checks for their proceeds.
  SmtpMailArgs mail;
  SmtpRcptArgs rcpt;
  std::vector<std::string> mailboxes;  // RCPT: the resolved local mailboxes
  bool relay = false;                  // RCPT: a non-local recipient the client may relay to
};

struct SmtpCommand {
  std::string_view name;  // upper case; the table is sorted by it
  SmtpStateMask states;   // where the verb is allowed; elsewhere 503 5.5.1
  uint8_t min_args;
  uint8_t max_args;        // kAnyArgs = unbounded
  std::string_view usage;  // for "501 5.5.4 Syntax: <usage>"
  // On failure: has replied (a 4xx/5xx) and returns false.
  bool (SmtpSession::*check)(SmtpCommandArgs& args);
  void (SmtpSession::*proceed)(SmtpCommandArgs& args);
};
constexpr uint8_t kAnyArgs = 0xff;

// The whole table, sorted by name.
std::span<const SmtpCommand> SmtpCommandTable();
// Case-insensitive binary search; nullptr when the verb is unknown.
const SmtpCommand* FindSmtpCommand(std::string_view verb);

}  // namespace mailnest
