#include "base/metrics.h"

namespace mailnest {

Metrics& GlobalMetrics() {
  static Metrics m;
  return m;
}

}  // namespace mailnest
