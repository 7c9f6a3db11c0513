// GET /api/v1/stats (and the "stats" event): the process's counters
// (base/metrics.h), per-mailbox counts from the index, the top senders and
// recipients (a bounded TopN each, fed by SMTP's commits), and the HTTP
// side's own numbers. Also the /metrics families of the same counters that
// the first /metrics did not have. Loop-thread only.
#pragma once

#include <string>

#include <nlohmann/json.hpp>

#include "base/live_hooks.h"
#include "base/metrics.h"
#include "http/top_n.h"

namespace mailnest {

class EventHub;
class MessageIndex;
class SessionRecorder;

class LiveStats {
 public:
  static constexpr size_t kTracked = 1000;  // keys each TopN counts
  static constexpr size_t kMaxTop = 100;    // largest top= accepted

  LiveStats(const MessageIndex* index, const EventHub* hub, const SessionRecorder* sessions);

  void OnDelivered(const DeliveredMessage& m);
  nlohmann::json Json(size_t top) const;
  // FormatLiveMetrics with the HTTP side's gauges filled in.
  std::string MetricsText() const;

 private:
  const MessageIndex* index_;
  const EventHub* hub_;
  const SessionRecorder* sessions_;
  TopN senders_{kTracked};
  TopN recipients_{kTracked};
};

// mailnest_smtp_replies_total{code}, mailnest_smtp_messages_total{code},
// mailnest_smtp_accepted_octets_total, mailnest_pop3_login_failures_total,
// mailnest_pop3_commands_total{command}, the
// mailnest_smtp_commit_latency_seconds histogram, and the event stream's
// gauges. Appended to FormatMetrics' text.
std::string FormatLiveMetrics(const Metrics& m, uint64_t subscribers, uint64_t dropped, uint64_t sessions_live);

}  // namespace mailnest
