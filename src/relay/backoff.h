// The retry schedule, after Postfix's qmgr: a deferred message is tried
// again after its age, bounded below and above; past its lifetime it
// bounces. Pure arithmetic on unix seconds, unit-tested.
#pragma once

#include <algorithm>
#include <cstdint>

namespace mailnest {

struct BackoffPolicy {
  uint32_t minimal_s = 300;
  uint32_t maximal_s = 4000;
  uint32_t lifetime_s = 432000;
};

// When to try again after a deferral at `now` of a message that arrived
// at `arrival`: now + clamp(now - arrival, minimal, maximal).
inline int64_t NextRetry(const BackoffPolicy& p, int64_t arrival, int64_t now) {
  int64_t age = std::max<int64_t>(0, now - arrival);
  return now + std::clamp<int64_t>(age, p.minimal_s, p.maximal_s);
}

// A deferral at `now` becomes a bounce once the message is older than its
// lifetime (Postfix: maximal_queue_lifetime).
inline bool Expired(const BackoffPolicy& p, int64_t arrival, int64_t now) {
  return now - arrival >= int64_t{p.lifetime_s};
}

}  // namespace mailnest
