// GET /api/v1/sessions[?limit=N]: live and recent SMTP/POP3 sessions,
// newest first; GET /api/v1/sessions/{id}: one session's transcript
// (http/session_recorder.h).
#include <fmt/format.h>

#include <algorithm>

#include "http/api.h"
#include "http/http_reply.h"
#include "http/query_string.h"
#include "http/session_recorder.h"

namespace mailnest {

void Api::Sessions(h2o_req_t* req, std::string_view, const Params& q) {
  for (const auto& [k, v] : q) {
    if (k != "limit") return SendError(req, 400, fmt::format("{}: unknown parameter (limit)", k), closing());
  }
  if (!sessions_) return SendError(req, 404, "no such endpoint", closing());
  uint64_t limit = std::min<uint64_t>(100, config_.http.max_list_limit);
  if (auto it = q.find("limit"); it != q.end() && !ParseBoundedUint(it->second, 1, config_.http.max_list_limit, &limit)) {
    return SendError(req, 400, fmt::format("limit: must be 1..{}", config_.http.max_list_limit), closing());
  }
  SendJson(req, 200, {{"sessions", sessions_->List(limit)}, {"live", sessions_->live()}}, closing());
}

void Api::Session(h2o_req_t* req, std::string_view rest, const Params& q) {
  if (!q.empty()) return SendError(req, 400, fmt::format("{}: unknown parameter", q.begin()->first), closing());
  if (!sessions_) return SendError(req, 404, "no such endpoint", closing());
  uint64_t id = 0;
  if (!ParseBoundedUint(rest, 1, UINT64_MAX, &id)) return SendError(req, 404, "no such session", closing());
  const SessionRecord* r = sessions_->Find(id);
  if (!r) return SendError(req, 404, "no such session", closing());
  SendJson(req, 200, SessionRecorder::Transcript(*r), closing());
}

}  // namespace mailnest
