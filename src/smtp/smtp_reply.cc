#include "smtp/smtp_reply.h"

namespace mailnest {

namespace {

using R = SmtpReplyId;

// Texts follow Postfix's wording where one exists, so operators reading a
// transcript recognise them. Rows must stay in SmtpReplyId order (a unit
// test checks it).
constexpr SmtpReplySpec kReplies[] = {
    {R::kGreeting, 220, "", "{} ESMTP mailnest"},
    {R::kHelp, 214, "2.0.0", "Commands: DATA EHLO EXPN HELO HELP MAIL NOOP QUIT RCPT RSET VRFY"},
    {R::kBye, 221, "2.0.0", "Bye"},
    {R::kOk, 250, "2.0.0", "Ok"},
    {R::kHelo, 250, "", "{}"},
    {R::kSenderOk, 250, "2.1.0", "Ok"},
    {R::kRecipientOk, 250, "2.1.5", "Ok"},
    {R::kQueued, 250, "2.0.0", "Ok: queued as {}"},
    {R::kCannotVrfy, 252, "2.0.0", "Cannot VRFY user, but will accept message and attempt delivery"},
    {R::kStartData, 354, "", "End data with <CR><LF>.<CR><LF>"},
    {R::kTooManyConnections, 421, "4.3.2", "{} Error: too many connections, try again later"},
    {R::kShuttingDown, 421, "4.3.2", "{} Service shutting down, closing transmission channel"},
    {R::kTimeout, 421, "4.4.2", "{} Error: timeout exceeded"},
    {R::kTooManyErrors, 421, "4.7.0", "{} Error: too many errors"},
    {R::kStoreFailed, 451, "4.3.0", "Error: queue file write error"},
    {R::kTooManyRecipients, 452, "4.5.3", "Error: too many recipients"},
    {R::kLineTooLong, 500, "5.5.2", "Error: line too long"},
    {R::kEmptyCommand, 500, "5.5.2", "Error: bad syntax"},
    {R::kUnknownCommand, 500, "5.5.2", "Error: command not recognized"},
    {R::kSyntax, 501, "5.5.4", "Syntax: {}"},
    {R::kBadHelo, 501, "5.5.4", "Error: bad HELO/EHLO hostname"},
    {R::kBadAddress, 501, "5.5.4", "Error: bad address syntax"},
    {R::kPathTooLong, 501, "5.5.4", "Error: path too long"},
    {R::kBadParameter, 501, "5.5.4", "Error: bad parameter syntax or value"},
    {R::kNotImplemented, 502, "5.5.1", "Error: command not implemented"},
    {R::kNeedHelo, 503, "5.5.1", "Error: send HELO/EHLO first"},
    {R::kNestedMail, 503, "5.5.1", "Error: nested MAIL command"},
    {R::kNeedMail, 503, "5.5.1", "Error: need MAIL command"},
    {R::kNeedRcpt, 503, "5.5.1", "Error: need RCPT command"},
    {R::kBadSequence, 503, "5.5.1", "Error: bad sequence of commands"},
    {R::kUnknownUser, 550, "5.1.1", "Error: user unknown in local recipient table"},
    {R::kRelayDenied, 550, "5.7.1", "Error: relaying denied"},
    {R::kBareNewline, 550, "5.5.2", "Error: bare LF/CR not allowed"},
    {R::kMessageTooBig, 552, "5.3.4", "Error: message size exceeds fixed limit"},
    {R::kTextLineTooLong, 552, "5.6.0", "Error: message text line too long"},
    {R::kEarlyTalker, 554, "5.5.0", "Error: SMTP protocol synchronization: input before greeting"},
    {R::kUnknownParameter, 555, "5.5.4", "Error: unsupported MAIL/RCPT parameter"},
};
static_assert(std::size(kReplies) == static_cast<size_t>(SmtpReplyId::kCount_),
              "every SmtpReplyId needs exactly one row");

}  // namespace

std::span<const SmtpReplySpec> SmtpReplyTable() { return kReplies; }

const SmtpReplySpec& SmtpReplyOf(SmtpReplyId id) { return kReplies[static_cast<size_t>(id)]; }

std::string FormatSmtpReply(SmtpReplyId id, std::string_view detail) {
  const SmtpReplySpec& r = SmtpReplyOf(id);
  std::string out;
  out.reserve(8 + r.enhanced.size() + r.text.size() + detail.size());
  out += std::to_string(r.code);
  out += ' ';
  if (!r.enhanced.empty()) {
    out += r.enhanced;
    out += ' ';
  }
  size_t hole = r.text.find("{}");
  if (hole == std::string_view::npos) {
    out += r.text;
  } else {
    out += r.text.substr(0, hole);
    out += detail;
    out += r.text.substr(hole + 2);
  }
  out += "\r\n";
  return out;
}

}  // namespace mailnest
