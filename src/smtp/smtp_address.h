// Parsing of the arguments of MAIL and RCPT: the path of RFC 5321 §4.1.2
// and the ESMTP parameters that follow it.
//
//   Reverse-path = Path / "<>"          Forward-path = Path
//   Path         = "<" [ A-d-l ":" ] Mailbox ">"     (source route ignored)
//   Mailbox      = Local-part "@" ( Domain / address-literal )
//   Local-part   = Dot-string / Quoted-string
//
// Deliberate deviations, each towards accepting mail real clients send:
//  - "FROM:" / "TO:" may be followed by spaces before the "<" (RFC 5321
//    forbids it, but Outlook and others send it; Postfix accepts it too).
//  - With SmtpEnvelopeSyntax::kLenient (the default configuration, as
//    Postfix's strict_rfc821_envelopes = no) the brackets may be left out:
//    "MAIL FROM: a@b" as people type it. The address is then the word up to
//    the next space (quotes respected) and must still be a valid Mailbox;
//    the null sender still needs "<>".
//  - An unquoted local part may have leading, trailing or doubled dots
//    ("john..doe"): such addresses exist in the wild. It is still made of
//    atext only, and it never reaches the file system: recipients are
//    looked up in the configured users and aliases (Config::ResolveLocal).
// Everything else is strict: control characters, non-ASCII octets (no
// SMTPUTF8), a missing "@", a bad domain or literal are all rejected.
//
// Limits (RFC 5321 §4.5.3.1): local part ≤ 64 octets, domain ≤ 255 octets,
// whole path including "<" and ">" ≤ 256 octets.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mailnest {

struct SmtpMailbox {
  std::string local;   // decoded: quotes and quoted-pair backslashes removed
  std::string domain;  // as sent; "" only for RCPT TO:<Postmaster>
  std::string text;    // "local@domain" exactly as sent, without source route
};

enum class SmtpBodyType { kUnspecified, k7Bit, k8BitMime };

struct SmtpMailArgs {
  bool null_sender = false;      // MAIL FROM:<>
  SmtpMailbox sender;            // empty when null_sender
  std::optional<uint64_t> size;  // SIZE=n (saturated at UINT64_MAX)
  SmtpBodyType body = SmtpBodyType::kUnspecified;
};

struct SmtpRcptArgs {
  SmtpMailbox recipient;
  bool postmaster = false;  // the domain-less <Postmaster> of RFC 5321 §4.1.1.3
};

// What went wrong; the session maps each to one reply (see smtp_reply.h).
enum class SmtpArgError {
  kOk,
  kSyntax,            // no "FROM:"/"TO:", no "<", junk after ">"  → 501 5.5.4 usage
  kBadAddress,        // the path itself is malformed              → 501 5.5.4
  kPathTooLong,       // beyond one of the RFC 5321 length limits  → 501 5.5.4
  kBadParameter,      // malformed/duplicate parameter, bad value  → 501 5.5.4
  kUnknownParameter,  // a parameter we do not support             → 555 5.5.4
};

// kStrict: "<" Path ">" only (smtp.strict_envelope_syntax: true).
// kLenient: also a bare Mailbox without the brackets.
enum class SmtpEnvelopeSyntax { kStrict, kLenient };

// arg is everything after "MAIL " (resp. "RCPT "). esmtp: the session began
// with EHLO; after HELO no parameters are accepted (RFC 5321 §4.1.1.2).
SmtpArgError ParseMailArgs(std::string_view arg, bool esmtp, SmtpEnvelopeSyntax syntax, SmtpMailArgs* out);
SmtpArgError ParseRcptArgs(std::string_view arg, bool esmtp, SmtpEnvelopeSyntax syntax, SmtpRcptArgs* out);

// A Domain (RFC 5321 §4.1.2: LDH labels of 1..63 octets) or an
// address-literal ("[192.0.2.1]", "[IPv6:2001:db8::1]", "[tag:content]").
bool IsValidSmtpDomain(std::string_view s);

// The HELO/EHLO argument: 1..255 printable ASCII octets, no spaces. Kept
// lenient on purpose (RFC 5321 §4.1.4: a server must not refuse a session
// over the EHLO name); it must only be safe to copy into a Received header.
bool IsValidHeloName(std::string_view s);

}  // namespace mailnest
