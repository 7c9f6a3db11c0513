#include "http/live_stats.h"

#include <fmt/format.h>

#include <chrono>

#include "http/event_hub.h"
#include "http/message_index.h"
#include "http/session_mask.h"
#include "http/session_recorder.h"

namespace mailnest {

namespace {

// When the process started, for the console's uptime: a namespace-scope
// constant is set during static initialisation, before main() runs.
// Uptime is measured on the steady clock (a clock step does not change it).
const std::chrono::system_clock::time_point kProcessStart = std::chrono::system_clock::now();
const std::chrono::steady_clock::time_point kProcessStartSteady = std::chrono::steady_clock::now();

uint64_t V(const std::atomic<uint64_t>& a) { return a.load(std::memory_order_relaxed); }

nlohmann::json ByCode(const std::atomic<uint64_t> (&by_code)[Metrics::kMaxCode]) {
  nlohmann::json out = nlohmann::json::object();
  for (int c = 0; c < Metrics::kMaxCode; ++c) {
    if (uint64_t n = V(by_code[c])) out[std::to_string(c)] = n;
  }
  return out;
}

nlohmann::json TopJson(const TopN& t, size_t n) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& e : t.Top(n)) out.push_back({{"address", e.key}, {"messages", e.count}, {"error", e.error}});
  return out;
}

void Family(std::string* out, const char* name, const char* type, const char* help) {
  *out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

}  // namespace

LiveStats::LiveStats(const MessageIndex* index, const EventHub* hub, const SessionRecorder* sessions)
    : index_(index), hub_(hub), sessions_(sessions) {}

void LiveStats::OnDelivered(const DeliveredMessage& m) {
  senders_.Add(m.sender.empty() ? std::string("<>") : TraceSafe(m.sender));
  for (const std::string& r : m.recipients) recipients_.Add(TraceSafe(r));
}

nlohmann::json LiveStats::Json(size_t top) const {
  const Metrics& m = GlobalMetrics();
  nlohmann::json mailboxes = nlohmann::json::array();
  if (index_) {
    for (const auto& b : index_->Mailboxes()) {
      mailboxes.push_back({{"name", b.name}, {"messages", b.messages}, {"octets", b.octets}, {"unseen", b.unseen}});
    }
  }
  uint64_t count = V(m.commit_latency_count);
  nlohmann::json latency = {{"count", count}, {"sum_seconds", static_cast<double>(V(m.commit_latency_ns_sum)) / 1e9}};
  return {
      {"smtp",
       {{"connections", V(m.smtp_connections)},
        {"sessions_open", m.smtp_sessions_open.load(std::memory_order_relaxed)},
        {"messages_accepted", V(m.smtp_messages)},
        {"octets_accepted", V(m.smtp_octets_accepted)},
        {"messages_by_reply", ByCode(m.smtp_data_outcomes)},
        {"replies", ByCode(m.smtp_replies)},
        {"commit_latency", latency}}},
      {"pop3",
       {{"connections", V(m.pop3_connections)},
        {"sessions_open", m.pop3_sessions_open.load(std::memory_order_relaxed)},
        {"logins", V(m.pop3_logins)},
        {"login_failures", V(m.pop3_login_failures)},
        {"retr", V(m.pop3_retr)},
        {"dele", V(m.pop3_dele)}}},
      {"mailboxes", mailboxes},
      {"index_messages", index_ ? index_->size() : 0},
      {"started_ms", std::chrono::duration_cast<std::chrono::milliseconds>(kProcessStart.time_since_epoch()).count()},
      {"uptime_s", std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - kProcessStartSteady).count()},
      {"top_senders", TopJson(senders_, top)},
      {"top_recipients", TopJson(recipients_, top)},
      {"http",
       {{"subscribers", hub_ ? hub_->subscribers() : 0},
        {"dropped_subscribers", hub_ ? hub_->dropped() : 0},
        {"last_event_id", hub_ ? hub_->last_id() : 0},
        {"sessions_live", sessions_ ? sessions_->live() : 0}}},
  };
}

std::string LiveStats::MetricsText() const {
  return FormatLiveMetrics(GlobalMetrics(), hub_ ? hub_->subscribers() : 0, hub_ ? hub_->dropped() : 0,
                           sessions_ ? sessions_->live() : 0);
}

std::string FormatLiveMetrics(const Metrics& m, uint64_t subscribers, uint64_t dropped, uint64_t sessions_live) {
  std::string out;
  Family(&out, "mailnest_smtp_replies_total", "counter", "SMTP replies sent, by reply code.");
  for (int c = 0; c < Metrics::kMaxCode; ++c) {
    if (uint64_t n = V(m.smtp_replies[c])) out += fmt::format("mailnest_smtp_replies_total{{code=\"{}\"}} {}\n", c, n);
  }
  Family(&out, "mailnest_smtp_messages_total", "counter", "Messages whose DATA ended, by the reply that ended it.");
  for (int c = 0; c < Metrics::kMaxCode; ++c) {
    if (uint64_t n = V(m.smtp_data_outcomes[c])) {
      out += fmt::format("mailnest_smtp_messages_total{{code=\"{}\"}} {}\n", c, n);
    }
  }
  Family(&out, "mailnest_smtp_accepted_octets_total", "counter", "Octets of messages answered 250.");
  out += fmt::format("mailnest_smtp_accepted_octets_total {}\n", V(m.smtp_octets_accepted));
  Family(&out, "mailnest_smtp_commit_latency_seconds", "histogram", "From a message's final dot to its reply.");
  uint64_t cumulative = 0;
  for (int i = 0; i < Metrics::kCommitBucketCount; ++i) {
    cumulative += V(m.commit_latency_buckets[i]);
    out += fmt::format("mailnest_smtp_commit_latency_seconds_bucket{{le=\"{}\"}} {}\n", Metrics::kCommitBuckets[i],
                       cumulative);
  }
  cumulative += V(m.commit_latency_buckets[Metrics::kCommitBucketCount]);
  out += fmt::format("mailnest_smtp_commit_latency_seconds_bucket{{le=\"+Inf\"}} {}\n", cumulative);
  out += fmt::format("mailnest_smtp_commit_latency_seconds_sum {}\n",
                     static_cast<double>(V(m.commit_latency_ns_sum)) / 1e9);
  out += fmt::format("mailnest_smtp_commit_latency_seconds_count {}\n", V(m.commit_latency_count));
  Family(&out, "mailnest_pop3_login_failures_total", "counter", "POP3 logins refused (wrong user or password).");
  out += fmt::format("mailnest_pop3_login_failures_total {}\n", V(m.pop3_login_failures));
  Family(&out, "mailnest_pop3_commands_total", "counter", "POP3 RETR and DELE commands accepted.");
  out += fmt::format("mailnest_pop3_commands_total{{command=\"RETR\"}} {}\n", V(m.pop3_retr));
  out += fmt::format("mailnest_pop3_commands_total{{command=\"DELE\"}} {}\n", V(m.pop3_dele));
  Family(&out, "mailnest_http_event_subscribers", "gauge", "GET /api/v1/events streams open now.");
  out += fmt::format("mailnest_http_event_subscribers {}\n", subscribers);
  Family(&out, "mailnest_http_event_subscribers_dropped_total", "counter", "Event subscribers dropped for not reading.");
  out += fmt::format("mailnest_http_event_subscribers_dropped_total {}\n", dropped);
  Family(&out, "mailnest_sessions_recorded_live", "gauge", "Sessions the session recorder follows now.");
  out += fmt::format("mailnest_sessions_recorded_live {}\n", sessions_live);
  return out;
}

}  // namespace mailnest
