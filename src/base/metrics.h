// Process-wide counters for GET /metrics (http/metrics_text.h formats
// them). The servers bump them where the event happens; relaxed atomics,
// so a bump costs next to nothing on the loop thread and any thread may read.
#pragma once

#include <atomic>
#include <cstdint>

namespace mailnest {

struct Metrics {
  std::atomic<uint64_t> smtp_connections{0};   // accepted SMTP connections (not those turned away)
  std::atomic<uint64_t> smtp_messages{0};      // messages answered 250 after DATA
  std::atomic<uint64_t> pop3_connections{0};   // accepted POP3 connections
  std::atomic<uint64_t> pop3_logins{0};        // sessions that reached TRANSACTION
  std::atomic<int64_t> smtp_sessions_open{0};  // gauge
  std::atomic<int64_t> pop3_sessions_open{0};  // gauge

  // GET /api/v1/stats and the per-code / latency families of /metrics.
  static constexpr int kMaxCode = 600;
  std::atomic<uint64_t> smtp_replies[kMaxCode] = {};       // every SMTP reply, by code
  std::atomic<uint64_t> smtp_data_outcomes[kMaxCode] = {}; // the one reply ending each DATA, by code
  std::atomic<uint64_t> smtp_octets_accepted{0};           // message octets answered 250
  std::atomic<uint64_t> pop3_login_failures{0};
  std::atomic<uint64_t> pop3_retr{0};  // RETR commands accepted
  std::atomic<uint64_t> pop3_dele{0};  // DELE commands accepted
  // Final dot → 250 (or 451): the store's commit, in seconds.
  static constexpr double kCommitBuckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                              0.05,   0.1,   0.25,   0.5,   1,    2.5};
  static constexpr int kCommitBucketCount = sizeof(kCommitBuckets) / sizeof(kCommitBuckets[0]);
  std::atomic<uint64_t> commit_latency_buckets[kCommitBucketCount + 1] = {};  // last: +Inf only
  std::atomic<uint64_t> commit_latency_ns_sum{0};
  std::atomic<uint64_t> commit_latency_count{0};
};

// The one instance.
Metrics& GlobalMetrics();

inline void Bump(std::atomic<uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }
inline void Add(std::atomic<int64_t>& g, int64_t d) { g.fetch_add(d, std::memory_order_relaxed); }
inline void BumpCode(std::atomic<uint64_t> (&by_code)[Metrics::kMaxCode], int code) {
  if (code >= 0 && code < Metrics::kMaxCode) Bump(by_code[code]);
}
// One final-dot → reply duration (non-cumulative bucket counts; the
// formatter sums them as Prometheus wants).
void ObserveCommitLatency(Metrics& m, uint64_t ns);

}  // namespace mailnest
