#include "relay/dsn.h"

#include <fmt/format.h>

#include <ctime>

#include "relay/smtp_client.h"

namespace mailnest {

namespace {

bool IsDigit(char c) { return c >= '0' && c <= '9'; }

// The header section: everything before the first empty line (the whole
// message if it has no body), cut at a line end within max octets.
std::string_view HeaderSection(std::string_view msg, size_t max) {
  size_t end = msg.find("\n\n");
  std::string_view h = end == std::string_view::npos ? msg : msg.substr(0, end + 1);
  if (h.size() > max) {
    h = h.substr(0, max);
    size_t nl = h.rfind('\n');
    h = nl == std::string_view::npos ? std::string_view() : h.substr(0, nl + 1);
  }
  return h;
}

}  // namespace

bool IsSmtpReply(std::string_view r) {
  return r.size() >= 3 && IsDigit(r[0]) && IsDigit(r[1]) && IsDigit(r[2]) && (r.size() == 3 || r[3] == ' ' || r[3] == '-');
}

std::string StatusOfReply(std::string_view r) {
  if (IsSmtpReply(r)) {
    int code = (r[0] - '0') * 100 + (r[1] - '0') * 10 + (r[2] - '0');
    std::string e = EnhancedCodeOf(code, r);
    if (!e.empty()) return e;
    return fmt::format("{}.0.0", code / 100);
  }
  // A local reason stored as "<class>.<subject>.<detail> text".
  std::string_view first = r.substr(0, r.find(' '));
  if (first.size() >= 5 && (first[0] == '4' || first[0] == '5') && first[1] == '.') return std::string(first);
  return "4.0.0";
}

std::string Rfc5322DateUtc(int64_t t) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  time_t tt = static_cast<time_t>(t);
  struct tm tm;
  gmtime_r(&tt, &tm);
  return fmt::format("{}, {} {} {} {:02}:{:02}:{:02} +0000", kDays[tm.tm_wday], tm.tm_mday, kMonths[tm.tm_mon],
                     tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

std::string ComposeDsn(const DsnInput& in) {
  std::string_view headers = HeaderSection(in.original, in.max_header_bytes);
  // A boundary that cannot occur in what it encloses: our text is fixed,
  // the only foreign part is the header section.
  std::string boundary;
  for (int n = 0;; ++n) {
    boundary = fmt::format("{}/{}/{}", in.queue_id, in.reporting_mta, n);
    if (headers.find(boundary) == std::string_view::npos) break;
  }
  const std::string date = Rfc5322DateUtc(in.now);
  std::string out;
  out += fmt::format("From: MAILER-DAEMON@{} (Mail Delivery System)\n", in.reporting_mta);
  out += fmt::format("To: <{}>\n", in.sender);
  out += in.delayed ? "Subject: Delayed Mail (still being retried)\n" : "Subject: Undelivered Mail Returned to Sender\n";
  out += fmt::format("Date: {}\n", date);
  out += fmt::format("Message-ID: <{}.{}@{}>\n", in.queue_id, in.delayed ? "delay" : "bounce", in.reporting_mta);
  out += "Auto-Submitted: auto-replied\n";
  out += "MIME-Version: 1.0\n";
  out += fmt::format("Content-Type: multipart/report; report-type=delivery-status;\n\tboundary=\"{}\"\n", boundary);
  out += "\nThis is a MIME-encapsulated message.\n\n";

  out += fmt::format("--{}\n", boundary);
  out += "Content-Description: Notification\nContent-Type: text/plain; charset=us-ascii\n\n";
  out += fmt::format("This is the mail system at host {}.\n\n", in.reporting_mta);
  if (in.delayed) {
    out += "####################################################################\n"
           "# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #\n"
           "####################################################################\n\n"
           "Your message could not be delivered for some time to one or more\n"
           "recipients. The mail system will keep trying";
    out += in.retry_until > 0 ? fmt::format(" until {}.\n\n", Rfc5322DateUtc(in.retry_until)) : ".\n\n";
  } else {
    out += "I'm sorry to have to inform you that your message could not\n"
           "be delivered to one or more recipients. It's attached below.\n\n";
  }
  for (const DsnRecipient& r : in.recipients) {
    out += fmt::format("<{}>: {}{}\n", r.address, r.remote_mta.empty() ? "" : fmt::format("host {} said: ", r.remote_mta),
                       r.last_reply);
  }
  out += "\n";

  out += fmt::format("--{}\n", boundary);
  out += "Content-Description: Delivery report\nContent-Type: message/delivery-status\n\n";
  out += fmt::format("Reporting-MTA: dns; {}\n", in.reporting_mta);
  out += fmt::format("X-Mailnest-Queue-ID: {}\n", in.queue_id);
  out += fmt::format("Arrival-Date: {}\n", Rfc5322DateUtc(in.arrival));
  for (const DsnRecipient& r : in.recipients) {
    out += "\n";
    out += fmt::format("Final-Recipient: rfc822; {}\n", r.address);
    out += in.delayed ? "Action: delayed\n" : "Action: failed\n";
    out += fmt::format("Status: {}\n", StatusOfReply(r.last_reply));
    if (!r.remote_mta.empty()) out += fmt::format("Remote-MTA: dns; {}\n", r.remote_mta);
    out += fmt::format("Diagnostic-Code: {}; {}\n", IsSmtpReply(r.last_reply) ? "smtp" : "X-Mailnest", r.last_reply);
    if (r.last_attempt > 0) out += fmt::format("Last-Attempt-Date: {}\n", Rfc5322DateUtc(r.last_attempt));
    if (in.delayed && in.retry_until > 0) out += fmt::format("Will-Retry-Until: {}\n", Rfc5322DateUtc(in.retry_until));
  }
  out += "\n";

  out += fmt::format("--{}\n", boundary);
  out += in.delayed ? "Content-Description: Delayed Message Headers\nContent-Type: text/rfc822-headers\n\n"
                    : "Content-Description: Undelivered Message Headers\nContent-Type: text/rfc822-headers\n\n";
  out += headers;
  if (!headers.empty() && headers.back() != '\n') out += '\n';
  out += fmt::format("\n--{}--\n", boundary);
  return out;
}

}  // namespace mailnest
