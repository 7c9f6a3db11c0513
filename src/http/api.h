// The HTTP endpoints: one route table, one prelude that every request goes
// through (URL and header size limits, method, route lookup), and the
// handlers. Loop-thread only.
//
//   GET /livez            200 while the process serves at all
//   GET /readyz           200 when ready, else 503 {"error": reason}
//   anything else         404 {"error": "no such endpoint"}
#pragma once

#include <h2o.h>

#include <string>
#include <string_view>

#include "base/config.h"
#include "http/readiness.h"

namespace mailnest {

class HttpServer;

class Api {
 public:
  Api(const Config& config, const Readiness* readiness);
  void set_server(const HttpServer* server) { server_ = server; }

  // The HttpServer handler: answers now or (for deferred endpoints) later.
  void Handle(h2o_req_t* req);
  // Answers every deferred request (the server is shutting down).
  void Drain() {}

 private:
  struct Route {
    std::string_view path;
    void (Api::*handle)(h2o_req_t* req, std::string_view rest);
    bool prefix;  // path is a prefix; the handler gets the rest
  };
  void Livez(h2o_req_t* req, std::string_view);
  void Readyz(h2o_req_t* req, std::string_view);
  bool closing() const;

  const Config& config_;
  const Readiness* readiness_;
  const HttpServer* server_ = nullptr;
};

}  // namespace mailnest
