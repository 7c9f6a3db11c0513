// The HTTP endpoints: one route table, one prelude that every request goes
// through (URL and header size limits, method, route lookup), and the
// handlers. Loop-thread only. docs/HTTP_API.md describes each endpoint.
//
//   GET /livez                      200 while the process serves at all
//   GET /readyz                     200 when ready, else 503 {"error": reason}
//   GET /metrics                    Prometheus text format
//   GET /api/v1/mailboxes           every mailbox: messages, octets, unseen
//   GET /api/v1/messages            newest first, cursor pagination
//   GET /api/v1/messages/{id}       the parsed message (GMime, on the thread pool)
//   GET /api/v1/messages/{id}/raw   the file as stored (read on the thread pool)
//   GET /api/v1/messages/{id}/parts/{n}  one decoded MIME part, as a download
//   GET /api/v1/wait                blocks until a message past a cursor exists
//   anything else                   404 {"error": "no such endpoint"}
#pragma once

#include <h2o.h>
#include <uv.h>

#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include "base/config.h"
#include "http/readiness.h"

namespace mailnest {

class DeferredRequest;
class HttpServer;
class MessageIndex;
class MessageSearch;
class MessageViewApi;
struct IndexedMessage;

class Api {
 public:
  Api(uv_loop_t* loop, const Config& config, const Readiness* readiness, const MessageIndex* index);
  ~Api();
  void set_server(const HttpServer* server) { server_ = server; }

  // The HttpServer handler: answers now or (for deferred endpoints) later.
  void Handle(h2o_req_t* req);
  // The index changed (a batch of disk changes is in).
  void OnIndexChanged();
  // Answers every deferred request (the server is shutting down).
  void Drain();

 private:
  using Params = std::map<std::string, std::string>;
  struct Route {
    std::string_view path;
    void (Api::*handle)(h2o_req_t* req, std::string_view rest, const Params& q);
    bool prefix;  // path is a prefix; the handler gets the rest
  };
  void Livez(h2o_req_t* req, std::string_view, const Params&);
  void Readyz(h2o_req_t* req, std::string_view, const Params&);
  void MetricsText(h2o_req_t* req, std::string_view, const Params&);
  void Mailboxes(h2o_req_t* req, std::string_view, const Params&);
  void Messages(h2o_req_t* req, std::string_view, const Params&);
  void Message(h2o_req_t* req, std::string_view rest, const Params&);
  void Wait(h2o_req_t* req, std::string_view, const Params&);

  bool closing() const;
  // mailbox= checked: "" (absent) or a mailbox the index knows; false = answered.
  bool TakeMailbox(h2o_req_t* req, const Params& q, std::string* out);

  uv_loop_t* loop_;
  const Config& config_;
  const Readiness* readiness_;
  const MessageIndex* index_;
  const HttpServer* server_ = nullptr;
  std::unique_ptr<MessageSearch> search_;  // /messages and /wait: summaries, query=
  std::unique_ptr<MessageViewApi> views_;  // /messages/{id} and /messages/{id}/parts/{n}
};

}  // namespace mailnest
