#include "http/api.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <utility>
#include <vector>
#include <nlohmann/json.hpp>

#include "base/metrics.h"
#include "http/access_gate.h"
#include "smtp/fault_injector.h"
#include "http/api_message.h"
#include "http/deferred_request.h"
#include "http/h2o_server.h"
#include "http/http_reply.h"
#include "http/live_stats.h"
#include "http/mailbox_param.h"
#include "http/message_index.h"
#include "http/message_json.h"
#include "http/message_search.h"
#include "http/metrics_text.h"
#include "http/query_string.h"
#include "http/raw_reader.h"

namespace mailnest {

namespace {

std::string_view View(h2o_iovec_t v) { return {v.base, v.len}; }

}  // namespace

Api::Api(uv_loop_t* loop, const Config& config, const Readiness* readiness, const MessageIndex* index)
    : loop_(loop), config_(config), readiness_(readiness), index_(index) {
  search_ = std::make_unique<MessageSearch>(loop_, config_, index_, [this] { return closing(); });
  views_ = std::make_unique<MessageViewApi>(loop_, config_, index_, [this] { return closing(); });
}

Api::~Api() = default;

bool Api::closing() const { return server_ && server_->shutting_down(); }

void Api::Handle(h2o_req_t* req) { Serve(req, false); }

void Api::Serve(h2o_req_t* req, bool admitted) {
  // One row per method and path. HEAD is served by the GET row. A row whose
  // path ends in '/' is a prefix; its handler gets the rest of the path.
  static constexpr std::array<Route, 23> kRoutes{{
      {"GET", "/livez", &Api::Livez, false},
      {"GET", "/readyz", &Api::Readyz, false},
      {"GET", "/metrics", &Api::MetricsText, false},
      {"GET", "/api/v1/mailboxes", &Api::Mailboxes, false},
      {"GET", "/api/v1/messages", &Api::Messages, false},
      {"GET", "/api/v1/messages/", &Api::Message, true},
      {"GET", "/api/v1/wait", &Api::Wait, false},
      {"GET", "/api/v1/events", &Api::Events, false},
      {"GET", "/api/v1/sessions", &Api::Sessions, false},
      {"GET", "/api/v1/sessions/", &Api::Session, true},
      {"GET", "/api/v1/stats", &Api::Stats, false},
      {"GET", "/api/v1/openapi.json", &Api::OpenApi, false},
      {"DELETE", "/api/v1/messages", &Api::DeleteMessages, false},
      {"DELETE", "/api/v1/messages/", &Api::DeleteMessage, true},
      {"GET", "/api/v1/faults", &Api::Faults, false},
      {"PUT", "/api/v1/faults", &Api::PutFaults, false},
      {"DELETE", "/api/v1/faults", &Api::DeleteFaults, false},
      {"GET", "/api/v1/queue", &Api::Queue, false},
      {"GET", "/api/v1/queue/", &Api::QueueItem, true},
      {"POST", "/api/v1/queue/", &Api::QueuePost, true},
      {"DELETE", "/api/v1/queue/", &Api::QueueDelete, true},
      {"GET", "/", &Api::ConsoleIndex, false},
      {"GET", "/console/", &Api::ConsoleFile, true},
  }};
  // The prelude, in this order: URL size, header size, access (CORS, Basic
  // auth, read-only: http/access_gate.h, which may answer later and then
  // comes back here admitted), method and route, query.
  std::string_view target = View(req->path);
  if (target.size() > config_.http.max_url_length) {
    return SendError(req, 414, fmt::format("URL longer than {} octets", config_.http.max_url_length), closing());
  }
  size_t header_bytes = 0;
  for (size_t i = 0; i < req->headers.size; ++i) {
    header_bytes += req->headers.entries[i].name->len + req->headers.entries[i].value.len;
  }
  if (header_bytes > config_.http.max_header_bytes) {
    return SendError(req, 431, fmt::format("request headers larger than {} octets", config_.http.max_header_bytes),
                     true);
  }
  if (gate_ && !admitted) return gate_->Admit(req, [this](h2o_req_t* r) { Serve(r, true); });
  std::string_view method = View(req->method);
  std::string_view path = target, query;
  if (req->query_at != SIZE_MAX) {
    path = target.substr(0, req->query_at);
    query = target.substr(req->query_at + 1);
  }
  auto match = [path](const Route& r) { return r.prefix ? path.substr(0, r.path.size()) == r.path : path == r.path; };
  std::string_view row_method = method == "HEAD" ? std::string_view("GET") : method;
  const Route* route = nullptr;
  std::string allow;  // the methods this path has, for a 405
  for (const Route& r : kRoutes) {
    if (!match(r)) continue;
    if (r.method == row_method && !route) route = &r;
    if (allow.find(r.method) == std::string::npos) {
      if (!allow.empty()) allow += ", ";
      allow += r.method == "GET" ? "GET, HEAD" : std::string(r.method);
    }
  }
  if (!route) {
    if (allow.empty()) return SendError(req, 404, "no such endpoint", closing());
    return Send(req, 405, "application/json", fmt::format("{{\"error\":\"method not allowed (allowed: {})\"}}\n", allow),
                closing(), {{"allow", allow}});
  }
  Params q;
  std::string err;
  if (!ParseQueryString(query, &q, &err)) return SendError(req, 400, err, closing());
  (this->*route->handle)(req, path.substr(route->path.size()), q);
}

void Api::Livez(h2o_req_t* req, std::string_view, const Params&) {
  Send(req, 200, "text/plain; charset=utf-8", "ok\n", closing());
}

void Api::Readyz(h2o_req_t* req, std::string_view, const Params&) {
  std::string reason = closing() ? "shutting down" : readiness_->Reason();
  if (!reason.empty()) return SendError(req, 503, reason, closing());
  Send(req, 200, "text/plain; charset=utf-8", "ready\n", closing());
}

void Api::MetricsText(h2o_req_t* req, std::string_view, const Params&) {
  HttpGauges g;
  g.index_messages = index_->size();
  g.index_mailboxes = index_->Mailboxes().size();
  g.waiters = search_->waiters();
  std::string text = FormatMetrics(GlobalMetrics(), g);
  if (stats_) text += stats_->MetricsText();
  if (faults_) text += faults_->MetricsText();
  text += QueueMetricsText();
  Send(req, 200, "text/plain; version=0.0.4; charset=utf-8", text, closing());
}

void Api::Mailboxes(h2o_req_t* req, std::string_view, const Params&) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& b : index_->Mailboxes()) {
    out.push_back({{"name", b.name}, {"messages", b.messages}, {"octets", b.octets}, {"unseen", b.unseen}});
  }
  SendJson(req, 200, {{"mailboxes", out}}, closing());
}

bool Api::TakeMailbox(h2o_req_t* req, const Params& q, std::string* out) {
  return TakeMailboxParam(req, q, *index_, closing(), out);
}

void Api::Messages(h2o_req_t* req, std::string_view, const Params& q) { search_->List(req, q); }

void Api::Message(h2o_req_t* req, std::string_view rest, const Params& q) {
  size_t slash = rest.find('/');
  std::string_view id = rest.substr(0, slash);
  std::string_view what = slash == std::string_view::npos ? "" : rest.substr(slash);
  if (what != "/raw" && views_->Handle(req, id, what, q)) return;
  if (what != "/raw") return SendError(req, 404, "no such endpoint", closing());
  const IndexedMessage* m = MessageIndex::LooksLikeId(id) ? index_->Find(id) : nullptr;
  if (!m) return SendError(req, 404, "no such message", closing());
  auto deferred = DeferredRequest::Make(req);
  ReadRawMessage(loop_, config_.mail_root, *m, [this, deferred](RawResult& r) {
    h2o_req_t* q = deferred->Take();
    if (!q) return;  // the client went away
    switch (r.code) {
      case RawResult::kOk:
        return Send(q, 200, "message/rfc822", r.data, closing());
      case RawResult::kGone:
        return SendError(q, 404, "no such message", closing());
      case RawResult::kTooLarge:
        return SendError(q, 500, "message too large to serve", closing());
      case RawResult::kError:
        return SendError(q, 500, "message file cannot be read", closing());
    }
  });
}

void Api::Wait(h2o_req_t* req, std::string_view, const Params& q) { search_->Wait(req, q); }

void Api::OnIndexChanged() { search_->OnIndexChanged(); }

void Api::Drain() { search_->Drain(); }

}  // namespace mailnest
