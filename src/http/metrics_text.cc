#include "http/metrics_text.h"

#include <fmt/format.h>

namespace mailnest {

namespace {

void Family(std::string* out, const char* name, const char* type, const char* help) {
  *out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

}  // namespace

std::string FormatMetrics(const Metrics& m, const HttpGauges& g) {
  auto v = [](const auto& a) { return a.load(std::memory_order_relaxed); };
  std::string out;
  Family(&out, "mailnest_connections_total", "counter", "Connections accepted, by protocol.");
  out += fmt::format("mailnest_connections_total{{protocol=\"smtp\"}} {}\n", v(m.smtp_connections));
  out += fmt::format("mailnest_connections_total{{protocol=\"pop3\"}} {}\n", v(m.pop3_connections));
  Family(&out, "mailnest_sessions_open", "gauge", "Sessions open now, by protocol.");
  out += fmt::format("mailnest_sessions_open{{protocol=\"smtp\"}} {}\n", v(m.smtp_sessions_open));
  out += fmt::format("mailnest_sessions_open{{protocol=\"pop3\"}} {}\n", v(m.pop3_sessions_open));
  Family(&out, "mailnest_smtp_messages_accepted_total", "counter", "Messages answered 250 after DATA.");
  out += fmt::format("mailnest_smtp_messages_accepted_total {}\n", v(m.smtp_messages));
  Family(&out, "mailnest_pop3_logins_total", "counter", "POP3 sessions that opened their maildrop.");
  out += fmt::format("mailnest_pop3_logins_total {}\n", v(m.pop3_logins));
  Family(&out, "mailnest_index_messages", "gauge", "Messages in the HTTP API's index.");
  out += fmt::format("mailnest_index_messages {}\n", g.index_messages);
  Family(&out, "mailnest_index_mailboxes", "gauge", "Mailboxes in the HTTP API's index.");
  out += fmt::format("mailnest_index_mailboxes {}\n", g.index_mailboxes);
  Family(&out, "mailnest_http_waiters", "gauge", "GET /api/v1/wait requests waiting now.");
  out += fmt::format("mailnest_http_waiters {}\n", g.waiters);
  return out;
}

}  // namespace mailnest
