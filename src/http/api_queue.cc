// The relay queue over HTTP (docs/HTTP_API.md "Relay queue"):
//   GET    /api/v1/queue?limit=&cursor=   a page, in id (arrival) order
//   GET    /api/v1/queue/{id}             one message and its recipients
//   POST   /api/v1/queue/{id}/retry       its deferred recipients due now
//   POST   /api/v1/queue/flush            every deferred recipient due now
//   DELETE /api/v1/queue/{id}             leaves the queue undelivered
// Everything goes through the running scheduler (base/queue_hooks.h): it
// alone touches the queue's files while it runs, so a delete cannot race a
// delivery. An id is only ever looked up in memory, never made a path.
// Writes are refused by the access gate under http.read_only.
#include <fmt/format.h>

#include "base/queue_hooks.h"
#include "http/api.h"
#include "http/deferred_request.h"
#include "http/http_reply.h"
#include "http/query_string.h"
#include "http/queue_feed.h"

namespace mailnest {

namespace {

constexpr size_t kMaxIdLength = 64;  // a queue id is ~30 octets

bool SaneId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength) return false;
  for (char c : id) {
    bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

std::string QueueMetricsText() {
  QueuePort* port = GlobalQueueHooks().port;
  return fmt::format(
      "# HELP mailnest_relay_queue_messages Messages in the relay queue.\n"
      "# TYPE mailnest_relay_queue_messages gauge\n"
      "mailnest_relay_queue_messages {}\n",
      port ? port->QueueSize() : 0);
}

void Api::Queue(h2o_req_t* req, std::string_view, const Params& q) {
  for (const auto& [k, v] : q) {
    if (k != "limit" && k != "cursor") {
      return SendError(req, 400, fmt::format("{}: unknown parameter (limit, cursor)", k), closing());
    }
  }
  uint64_t limit = std::min<uint64_t>(50, config_.http.max_list_limit);
  if (auto it = q.find("limit"); it != q.end() && !ParseBoundedUint(it->second, 1, config_.http.max_list_limit, &limit)) {
    return SendError(req, 400, fmt::format("limit: must be 1..{}", config_.http.max_list_limit), closing());
  }
  std::string cursor;
  if (auto it = q.find("cursor"); it != q.end()) {
    if (!SaneId(it->second)) return SendError(req, 400, "cursor: not a queue id", closing());
    cursor = it->second;
  }
  QueuePort* port = GlobalQueueHooks().port;
  nlohmann::json list = nlohmann::json::array();
  bool more = false;
  std::vector<QueueMessageView> page;
  if (port) port->ListQueue(cursor, limit, &page, &more);
  for (const QueueMessageView& m : page) list.push_back(QueueMessageJson(m));
  nlohmann::json out = {{"relay", port != nullptr},
                        {"loaded", port && port->QueueLoaded()},
                        {"total", port ? port->QueueSize() : 0},
                        {"messages", list},
                        {"next_cursor", more && !page.empty() ? nlohmann::json(page.back().id) : nlohmann::json()}};
  SendJson(req, 200, out, closing());
}

void Api::QueueItem(h2o_req_t* req, std::string_view id, const Params& q) {
  if (!q.empty()) return SendError(req, 400, fmt::format("{}: unknown parameter", q.begin()->first), closing());
  QueuePort* port = GlobalQueueHooks().port;
  QueueMessageView m;
  if (!SaneId(id) || !port || !port->FindQueued(id, &m)) return SendError(req, 404, "no such queued message", closing());
  SendJson(req, 200, QueueMessageJson(m), closing());
}

void Api::QueuePost(h2o_req_t* req, std::string_view rest, const Params& q) {
  if (!q.empty()) return SendError(req, 400, fmt::format("{}: unknown parameter", q.begin()->first), closing());
  QueuePort* port = GlobalQueueHooks().port;
  if (rest == "flush") {
    if (!port) return SendError(req, 409, "the relay is not enabled", closing());
    return SendJson(req, 200, {{"flushed", port->FlushQueue()}}, closing());
  }
  constexpr std::string_view kRetry = "/retry";
  if (rest.size() <= kRetry.size() || rest.substr(rest.size() - kRetry.size()) != kRetry) {
    return SendError(req, 404, "no such endpoint", closing());
  }
  std::string id(rest.substr(0, rest.size() - kRetry.size()));
  if (!SaneId(id) || !port || !port->RetryQueued(id)) return SendError(req, 404, "no such queued message", closing());
  SendJson(req, 200, {{"retry", id}}, closing());
}

void Api::QueueDelete(h2o_req_t* req, std::string_view id, const Params& q) {
  if (!q.empty()) return SendError(req, 400, fmt::format("{}: unknown parameter", q.begin()->first), closing());
  QueuePort* port = GlobalQueueHooks().port;
  if (!SaneId(id) || !port) return SendError(req, 404, "no such queued message", closing());
  auto deferred = DeferredRequest::Make(req);
  std::string key(id);
  bool found = port->DeleteQueued(key, [this, deferred, key] {
    if (h2o_req_t* r = deferred->Take()) SendJson(r, 200, {{"deleted", key}}, closing());
  });
  if (!found) {
    if (h2o_req_t* r = deferred->Take()) SendError(r, 404, "no such queued message", closing());
  }
}

}  // namespace mailnest
