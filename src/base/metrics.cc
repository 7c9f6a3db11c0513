#include "base/metrics.h"

namespace mailnest {

Metrics& GlobalMetrics() {
  static Metrics m;
  return m;
}

void ObserveCommitLatency(Metrics& m, uint64_t ns) {
  double seconds = static_cast<double>(ns) / 1e9;
  int i = 0;
  while (i < Metrics::kCommitBucketCount && seconds > Metrics::kCommitBuckets[i]) ++i;
  Bump(m.commit_latency_buckets[i]);
  m.commit_latency_ns_sum.fetch_add(ns, std::memory_order_relaxed);
  Bump(m.commit_latency_count);
}

}  // namespace mailnest
