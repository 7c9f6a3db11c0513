// Delivery status notifications (bounces): RFC 3464 inside an RFC 6522
// multipart/report, composed (never parsed) from what the queue knows.
//
//   multipart/report; report-type=delivery-status
//     1. text/plain            what happened, for people
//     2. message/delivery-status
//          Reporting-MTA, X-Mailnest-Queue-ID, Arrival-Date
//          per recipient: Final-Recipient, Action: failed, Status,
//          Remote-MTA, Diagnostic-Code, Last-Attempt-Date
//     3. text/rfc822-headers   the original message's header section
//
// The result is in the stored form (LF line ends) like every message in
// the store and the queue. Pure: no I/O, any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mailnest {

struct DsnRecipient {
  std::string address;
  std::string remote_mta;  // "" = no remote server answered
  std::string last_reply;  // as stored in the envelope (relay/queue_record.h)
  int64_t last_attempt = 0;
};

struct DsnInput {
  std::string reporting_mta;  // our hostname
  std::string queue_id;
  std::string sender;  // the original envelope sender: the bounce's To
  int64_t arrival = 0;
  int64_t now = 0;
  std::vector<DsnRecipient> recipients;
  std::string_view original;  // the queued message (stored form)
  size_t max_header_bytes = 65536;
  // A delay warning (relay.delay_warning_s), not a bounce: "Action:
  // delayed", the reply's 4.x.x status, Will-Retry-Until, other wording.
  bool delayed = false;
  int64_t retry_until = 0;  // unix seconds: the end of the message's lifetime
};

std::string ComposeDsn(const DsnInput& in);

// The RFC 3463 status of a stored reply: "550 5.1.1 ..." → "5.1.1";
// "550 no such user" → "5.0.0"; a local "4.4.1 connect to ..." → "4.4.1".
std::string StatusOfReply(std::string_view last_reply);
// True when last_reply is a server's reply ("<3 digits> ..."), so the DSN
// says "Diagnostic-Code: smtp; ..."; otherwise "X-Mailnest; ...".
bool IsSmtpReply(std::string_view last_reply);

// RFC 5322 date-time in UTC, e.g. "Mon, 7 Dec 2026 21:03:00 +0000".
std::string Rfc5322DateUtc(int64_t unix_seconds);

}  // namespace mailnest
