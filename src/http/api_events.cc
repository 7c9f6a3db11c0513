// GET /api/v1/events[?types=a,b][&last_event_id=N]: Server-Sent Events
// (http/event_hub.h). Last-Event-ID (the header EventSource sends when it
// reconnects, or the query parameter for a first connection) resumes after
// that event from the ring.
#include <fmt/format.h>

#include <optional>
#include <set>
#include <string>

#include "http/api.h"
#include "http/event_hub.h"
#include "http/event_ring.h"
#include "http/http_reply.h"
#include "http/query_string.h"

namespace mailnest {

void Api::Events(h2o_req_t* req, std::string_view, const Params& q) {
  for (const auto& [k, v] : q) {
    if (k != "types" && k != "last_event_id") {
      return SendError(req, 400, fmt::format("{}: unknown parameter (types, last_event_id)", k), closing());
    }
  }
  if (!events_) return SendError(req, 404, "no such endpoint", closing());
  if (std::string_view(req->method.base, req->method.len) == "HEAD") {
    return Send(req, 200, "text/event-stream; charset=utf-8", "", closing());
  }
  std::set<std::string, std::less<>> types;
  if (auto it = q.find("types"); it != q.end()) {
    std::string err;
    if (!ParseEventTypes(it->second, &types, &err)) return SendError(req, 400, err, closing());
  }
  std::optional<uint64_t> last_id;
  uint64_t n = 0;
  ssize_t h = h2o_find_header_by_str(&req->headers, H2O_STRLIT("last-event-id"), -1);
  if (h >= 0) {
    std::string_view v(req->headers.entries[h].value.base, req->headers.entries[h].value.len);
    if (!ParseBoundedUint(v, 0, UINT64_MAX, &n)) {
      return SendError(req, 400, "Last-Event-ID: must be an event id", closing());
    }
    last_id = n;
  } else if (auto it = q.find("last_event_id"); it != q.end()) {
    if (!ParseBoundedUint(it->second, 0, UINT64_MAX, &n)) {
      return SendError(req, 400, "last_event_id: must be an event id", closing());
    }
    last_id = n;
  }
  events_->Subscribe(req, std::move(types), last_id, closing());
}

}  // namespace mailnest
