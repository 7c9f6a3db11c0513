// GET /metrics: the Prometheus text exposition format (version 0.0.4):
// "# HELP", "# TYPE", then "name{labels} value" lines; counters end in
// _total. Checked by `promtool check metrics` in the e2e tests.
#pragma once

#include <cstdint>
#include <string>

#include "base/metrics.h"

namespace mailnest {

struct HttpGauges {
  uint64_t index_messages = 0;
  uint64_t index_mailboxes = 0;
  uint64_t waiters = 0;
};

std::string FormatMetrics(const Metrics& m, const HttpGauges& g);

}  // namespace mailnest
