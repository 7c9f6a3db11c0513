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
};

// The one instance.
Metrics& GlobalMetrics();

inline void Bump(std::atomic<uint64_t>& c) { c.fetch_add(1, std::memory_order_relaxed); }
inline void Add(std::atomic<int64_t>& g, int64_t d) { g.fetch_add(d, std::memory_order_relaxed); }

}  // namespace mailnest
