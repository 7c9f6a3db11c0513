#include "http/api.h"

#include <fmt/format.h>

#include <array>

#include "http/h2o_server.h"
#include "http/http_reply.h"

namespace mailnest {

namespace {

std::string_view View(h2o_iovec_t v) { return {v.base, v.len}; }

}  // namespace

Api::Api(const Config& config, const Readiness* readiness) : config_(config), readiness_(readiness) {}

bool Api::closing() const { return server_ && server_->shutting_down(); }

void Api::Handle(h2o_req_t* req) {
  static constexpr std::array<Route, 2> kRoutes{{
      {"/livez", &Api::Livez, false},
      {"/readyz", &Api::Readyz, false},
  }};
  // The prelude, in this order: URL size, header size, method, route.
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
  std::string_view path = req->query_at == SIZE_MAX ? target : target.substr(0, req->query_at);
  for (const Route& r : kRoutes) {
    if (r.prefix ? path.substr(0, r.path.size()) == r.path : path == r.path) {
      return (this->*r.handle)(req, path.substr(r.path.size()));
    }
  }
  SendError(req, 404, "no such endpoint", closing());
}

void Api::Livez(h2o_req_t* req, std::string_view) { Send(req, 200, "text/plain; charset=utf-8", "ok\n", closing()); }

void Api::Readyz(h2o_req_t* req, std::string_view) {
  std::string reason = closing() ? "shutting down" : readiness_->Reason();
  if (!reason.empty()) return SendError(req, 503, reason, closing());
  Send(req, 200, "text/plain; charset=utf-8", "ready\n", closing());
}

}  // namespace mailnest
