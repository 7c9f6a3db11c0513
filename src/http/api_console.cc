// GET / and GET /console/<file>: the browser console (web/console/, embedded
// by src/http/embed_assets.py; http/console_assets.h). The prelude in api.cc
// has already applied the size limits and Basic auth, as for the API.
#include <h2o.h>

#include <algorithm>

#include "http/api.h"
#include "http/console_assets.h"
#include "http/http_reply.h"

namespace mailnest {

const ConsoleAsset* FindConsoleAsset(std::string_view path) {
  auto all = ConsoleAssets();
  auto it = std::lower_bound(all.begin(), all.end(), path,
                             [](const ConsoleAsset& a, std::string_view p) { return a.path < p; });
  return it != all.end() && it->path == path ? &*it : nullptr;
}

namespace {

bool EtagMatches(h2o_req_t* req, std::string_view etag) {
  ssize_t i = h2o_find_header(&req->headers, H2O_TOKEN_IF_NONE_MATCH, -1);
  if (i < 0) return false;
  std::string_view v(req->headers.entries[i].value.base, req->headers.entries[i].value.len);
  return v == "*" || v.find(etag) != std::string_view::npos;
}

void SendAsset(h2o_req_t* req, const ConsoleAsset& a, bool closing) {
  // no-cache: the browser keeps the file but asks each time; the ETag makes
  // that a 304 until a new binary serves other bytes.
  std::initializer_list<HttpHeader> headers = {{"cache-control", "no-cache"},
                                               {"etag", a.etag},
                                               {"content-security-policy", kConsoleCsp},
                                               {"referrer-policy", "no-referrer"}};
  if (EtagMatches(req, a.etag)) return Send(req, 304, "", "", closing, headers);
  Send(req, 200, a.content_type, a.body, closing, headers);
}

}  // namespace

void Api::ConsoleIndex(h2o_req_t* req, std::string_view, const Params&) {
  const ConsoleAsset* a = FindConsoleAsset("index.html");
  if (!a) return SendError(req, 404, "no such endpoint", closing());
  SendAsset(req, *a, closing());
}

void Api::ConsoleFile(h2o_req_t* req, std::string_view rest, const Params&) {
  const ConsoleAsset* a = FindConsoleAsset(rest);
  if (!a) return SendError(req, 404, "no such console file", closing());
  SendAsset(req, *a, closing());
}

}  // namespace mailnest
