// GET /api/v1/stats[?top=N]: http/live_stats.h.
#include <fmt/format.h>

#include <algorithm>

#include "http/api.h"
#include "http/http_reply.h"
#include "http/live_stats.h"
#include "http/query_string.h"
#include "smtp/fault_injector.h"

namespace mailnest {

void Api::Stats(h2o_req_t* req, std::string_view, const Params& q) {
  for (const auto& [k, v] : q) {
    if (k != "top") return SendError(req, 400, fmt::format("{}: unknown parameter (top)", k), closing());
  }
  if (!stats_) return SendError(req, 404, "no such endpoint", closing());
  uint64_t top = 10;
  if (auto it = q.find("top"); it != q.end() && !ParseBoundedUint(it->second, 1, LiveStats::kMaxTop, &top)) {
    return SendError(req, 400, fmt::format("top: must be 1..{}", LiveStats::kMaxTop), closing());
  }
  nlohmann::json out = stats_->Json(top);
  if (faults_) out["faults"] = faults_->StatsJson();
  SendJson(req, 200, out, closing());
}

}  // namespace mailnest
