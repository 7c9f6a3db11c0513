// The SMTP reply table: every reply the server sends, with its basic code
// (RFC 5321 §4.2) and its enhanced status code (RFC 3463, RFC 2034), lives
// in one place so that a reader can audit them at a glance and a unit test
// can check that the two agree (2xx ↔ 2.x.x, 4xx ↔ 4.x.x, 5xx ↔ 5.x.x).
//
// Replies without an enhanced code are the ones RFC 2034 §3 exempts: the
// 220 greeting (sent before EHLO could negotiate anything), the 250 reply to
// HELO/EHLO and the 354 intermediate reply.
//
// A reply's text may contain one "{}", filled with a detail the session
// supplies (our hostname, a queue id, a usage string). Client-supplied text
// never goes into a reply.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

namespace mailnest {

enum class SmtpReplyId : uint8_t {
  kGreeting,            // 220      {hostname} ESMTP mailnest
  kHelp,                // 214 2.0.0
  kBye,                 // 221 2.0.0
  kOk,                  // 250 2.0.0 (NOOP, RSET)
  kHelo,                // 250      {hostname}
  kSenderOk,            // 250 2.1.0
  kRecipientOk,         // 250 2.1.5
  kQueued,              // 250 2.0.0 Ok: queued as {id}
  kCannotVrfy,          // 252 2.0.0
  kStartData,           // 354
  kTooManyConnections,  // 421 4.3.2
  kShuttingDown,        // 421 4.3.2
  kTimeout,             // 421 4.4.2
  kTooManyErrors,       // 421 4.7.0
  kStoreFailed,         // 451 4.3.0
  kTooManyRecipients,   // 452 4.5.3
  kLineTooLong,         // 500 5.5.2
  kEmptyCommand,        // 500 5.5.2
  kUnknownCommand,      // 500 5.5.2
  kSyntax,              // 501 5.5.4 Syntax: {usage}
  kBadHelo,             // 501 5.5.4
  kBadAddress,          // 501 5.5.4
  kPathTooLong,         // 501 5.5.4
  kBadParameter,        // 501 5.5.4
  kNotImplemented,      // 502 5.5.1
  kNeedHelo,            // 503 5.5.1
  kNestedMail,          // 503 5.5.1
  kNeedMail,            // 503 5.5.1
  kNeedRcpt,            // 503 5.5.1
  kBadSequence,         // 503 5.5.1
  kUnknownUser,         // 550 5.1.1
  kRelayDenied,         // 550 5.7.1
  kBareNewline,         // 550 5.5.2 (command line or DATA)
  kMessageTooBig,       // 552 5.3.4 (SIZE= or DATA beyond max_message_size)
  kTextLineTooLong,     // 552 5.6.0 (DATA line beyond max_text_line_length)
  kEarlyTalker,         // 554 5.5.0
  kUnknownParameter,    // 555 5.5.4
  kCount_               // not a reply: the table size
};

struct SmtpReplySpec {
  SmtpReplyId id;
  uint16_t code;
  std::string_view enhanced;  // "" where RFC 2034 exempts the reply
  std::string_view text;      // at most one "{}"
};

// The whole table, indexed by SmtpReplyId (tests walk it).
std::span<const SmtpReplySpec> SmtpReplyTable();
const SmtpReplySpec& SmtpReplyOf(SmtpReplyId id);

// "<code> <enhanced> <text>\r\n" with "{}" replaced by detail (if any).
std::string FormatSmtpReply(SmtpReplyId id, std::string_view detail = {});

}  // namespace mailnest
