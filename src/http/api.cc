#include "http/api.h"

#include <fmt/format.h>

#include <array>
#include <nlohmann/json.hpp>

#include "http/h2o_server.h"
#include "http/http_reply.h"
#include "http/message_index.h"
#include "http/query_string.h"

namespace mailnest {

namespace {

std::string_view View(h2o_iovec_t v) { return {v.base, v.len}; }

nlohmann::json Summary(const IndexedMessage& m) {
  return {{"id", m.id},         {"mailbox", m.mailbox}, {"size", m.size}, {"time", m.time},
          {"flags", m.flags},   {"unseen", m.in_new},   {"seq", m.seq}};
}

}  // namespace

Api::Api(uv_loop_t* loop, const Config& config, const Readiness* readiness, const MessageIndex* index)
    : loop_(loop), config_(config), readiness_(readiness), index_(index) {}

Api::~Api() = default;

bool Api::closing() const { return server_ && server_->shutting_down(); }

void Api::Handle(h2o_req_t* req) {
  static constexpr std::array<Route, 4> kRoutes{{
      {"/livez", &Api::Livez, false},
      {"/readyz", &Api::Readyz, false},
      {"/api/v1/mailboxes", &Api::Mailboxes, false},
      {"/api/v1/messages", &Api::Messages, false},
  }};
  // The prelude, in this order: URL size, header size, method, query, route.
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
  std::string_view method = View(req->method);
  if (method != "GET" && method != "HEAD") {
    return Send(req, 405, "application/json", "{\"error\":\"only GET and HEAD are served\"}\n", closing(),
                {{"allow", "GET, HEAD"}});
  }
  std::string_view path = target, query;
  if (req->query_at != SIZE_MAX) {
    path = target.substr(0, req->query_at);
    query = target.substr(req->query_at + 1);
  }
  for (const Route& r : kRoutes) {
    if (r.prefix ? path.substr(0, r.path.size()) == r.path : path == r.path) {
      Params q;
      std::string err;
      if (!ParseQueryString(query, &q, &err)) return SendError(req, 400, err, closing());
      return (this->*r.handle)(req, path.substr(r.path.size()), q);
    }
  }
  SendError(req, 404, "no such endpoint", closing());
}

void Api::Livez(h2o_req_t* req, std::string_view, const Params&) {
  Send(req, 200, "text/plain; charset=utf-8", "ok\n", closing());
}

void Api::Readyz(h2o_req_t* req, std::string_view, const Params&) {
  std::string reason = closing() ? "shutting down" : readiness_->Reason();
  if (!reason.empty()) return SendError(req, 503, reason, closing());
  Send(req, 200, "text/plain; charset=utf-8", "ready\n", closing());
}

void Api::Mailboxes(h2o_req_t* req, std::string_view, const Params&) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& b : index_->Mailboxes()) {
    out.push_back({{"name", b.name}, {"messages", b.messages}, {"octets", b.octets}, {"unseen", b.unseen}});
  }
  SendJson(req, 200, {{"mailboxes", out}}, closing());
}

bool Api::TakeMailbox(h2o_req_t* req, const Params& q, std::string* out) {
  out->clear();
  auto it = q.find("mailbox");
  if (it == q.end()) return true;
  if (!IsValidMailboxName(it->second)) {
    SendError(req, 400, "mailbox: not a valid mailbox name", closing());
    return false;
  }
  if (!index_->HasMailbox(it->second)) {
    SendError(req, 404, fmt::format("mailbox: no mailbox '{}'", it->second), closing());
    return false;
  }
  *out = it->second;
  return true;
}

void Api::Messages(h2o_req_t* req, std::string_view, const Params& q) {
  for (const auto& [k, v] : q) {
    if (k != "mailbox" && k != "limit" && k != "cursor") {
      return SendError(req, 400, fmt::format("{}: unknown parameter (mailbox, limit, cursor)", k), closing());
    }
  }
  std::string mailbox;
  if (!TakeMailbox(req, q, &mailbox)) return;
  uint64_t limit = std::min<uint64_t>(50, config_.http.max_list_limit);
  if (auto it = q.find("limit"); it != q.end() && !ParseBoundedUint(it->second, 1, config_.http.max_list_limit, &limit)) {
    return SendError(req, 400, fmt::format("limit: must be 1..{}", config_.http.max_list_limit), closing());
  }
  ListCursor cursor;
  bool has_cursor = false;
  if (auto it = q.find("cursor"); it != q.end()) {
    if (!ListCursor::Decode(it->second, &cursor)) {
      return SendError(req, 400, "cursor: not a cursor this API returned", closing());
    }
    has_cursor = true;
  }
  auto page = index_->List(mailbox, limit, has_cursor ? &cursor : nullptr);
  nlohmann::json items = nlohmann::json::array();
  for (const IndexedMessage* m : page.items) items.push_back(Summary(*m));
  nlohmann::json out = {{"messages", items}, {"next_cursor", nullptr}, {"last_seq", index_->last_seq()}};
  if (page.next) out["next_cursor"] = page.next->Encode();
  SendJson(req, 200, out, closing());
}

void Api::OnIndexChanged() {}

void Api::Drain() {}

}  // namespace mailnest
