#include "http/http_reply.h"

#include <algorithm>
#include <string>

namespace mailnest {

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 414: return "URI Too Long";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    default: return "Unknown";
  }
}

void Send(h2o_req_t* req, int status, std::string_view content_type, std::string_view body, bool closing,
          std::initializer_list<HttpHeader> extra) {
  req->res.status = status;
  req->res.reason = ReasonPhrase(status);
  if (closing) req->http1_is_persistent = 0;
  h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-content-type-options"), 0, nullptr,
                        H2O_STRLIT("nosniff"));
  // no-store unless the caller says otherwise (the console's files: ETags).
  bool own_cache_control = std::any_of(extra.begin(), extra.end(),
                                       [](const HttpHeader& h) { return h.name == "cache-control"; });
  if (!own_cache_control) {
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CACHE_CONTROL, nullptr, H2O_STRLIT("no-store"));
  }
  // h2o keeps pointers to header names and values: copy them into the pool.
  auto pooled = [req](std::string_view s) { return h2o_strdup(&req->pool, s.data(), s.size()); };
  if (!content_type.empty()) {
    h2o_iovec_t v = pooled(content_type);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, nullptr, v.base, v.len);
  }
  for (const HttpHeader& h : extra) {
    h2o_iovec_t n = pooled(h.name), v = pooled(h.value);
    h2o_add_header_by_str(&req->pool, &req->res.headers, n.base, n.len, 0, nullptr, v.base, v.len);
  }
  req->res.content_length = body.size();
  h2o_send_inline(req, body.data(), body.size());
}

void SendJson(h2o_req_t* req, int status, const nlohmann::json& body, bool closing) {
  // Strings from file names other programs made may not be UTF-8: such
  // bytes become U+FFFD instead of making dump() throw.
  std::string text = body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  text += '\n';
  Send(req, status, "application/json", text, closing);
}

void SendError(h2o_req_t* req, int status, std::string_view message, bool closing) {
  SendJson(req, status, nlohmann::json{{"error", std::string(message)}}, closing);
}

}  // namespace mailnest
