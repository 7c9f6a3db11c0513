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
//   GET /api/v1/events              Server-Sent Events (http/api_events.cc)
//   GET /api/v1/sessions[/{id}]     SMTP/POP3 transcripts (http/api_sessions.cc)
//   GET /api/v1/stats               counters, mailboxes, top senders (http/api_stats.cc)
//   GET /api/v1/openapi.json        the OpenAPI 3 document (http/openapi.json)
//   DELETE /api/v1/messages/{id}    removes one message (http/api_delete.cc)
//   DELETE /api/v1/messages?mailbox=M  removes every message of M
//   GET|PUT|DELETE /api/v1/faults   the SMTP fault injection rules (http/api_faults.cc)
//   GET|POST|DELETE /api/v1/queue...  the relay queue (http/api_queue.cc)
//   GET /, GET /console/{file}      the browser console (http/api_console.cc)
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

class AccessGate;
class DeferredRequest;
class EventHub;
class FaultInjector;
class LiveStats;
class SessionRecorder;
class HttpServer;
class MessageDeleter;
class MessageIndex;
class MessageSearch;
class MessageViewApi;
struct IndexedMessage;

// The relay queue's gauge for /metrics (http/api_queue.cc).
std::string QueueMetricsText();

class Api {
 public:
  Api(uv_loop_t* loop, const Config& config, const Readiness* readiness, const MessageIndex* index);
  ~Api();
  void set_server(const HttpServer* server) { server_ = server; }
  void set_events(EventHub* events) { events_ = events; }
  void set_sessions(const SessionRecorder* sessions) { sessions_ = sessions; }
  void set_stats(const LiveStats* stats) { stats_ = stats; }
  void set_deleter(MessageDeleter* deleter) { deleter_ = deleter; }
  void set_gate(AccessGate* gate) { gate_ = gate; }
  void set_faults(FaultInjector* faults) { faults_ = faults; }

  // The HttpServer handler: answers now or (for deferred endpoints) later.
  void Handle(h2o_req_t* req);
  // The index changed (a batch of disk changes is in).
  void OnIndexChanged();
  // Answers every deferred request (the server is shutting down).
  void Drain();

 private:
  using Params = std::map<std::string, std::string>;
  struct Route {
    std::string_view method;  // GET (also answers HEAD), DELETE, POST, PUT
    std::string_view path;
    void (Api::*handle)(h2o_req_t* req, std::string_view rest, const Params& q);
    bool prefix;  // path is a prefix; the handler gets the rest
  };
  // The prelude and the route table; admitted: the access step passed.
  void Serve(h2o_req_t* req, bool admitted);
  void Livez(h2o_req_t* req, std::string_view, const Params&);
  void Readyz(h2o_req_t* req, std::string_view, const Params&);
  void MetricsText(h2o_req_t* req, std::string_view, const Params&);
  void Mailboxes(h2o_req_t* req, std::string_view, const Params&);
  void Messages(h2o_req_t* req, std::string_view, const Params&);
  void Message(h2o_req_t* req, std::string_view rest, const Params&);
  void Wait(h2o_req_t* req, std::string_view, const Params&);
  void Events(h2o_req_t* req, std::string_view, const Params&);  // api_events.cc
  void Sessions(h2o_req_t* req, std::string_view, const Params&);        // api_sessions.cc
  void Session(h2o_req_t* req, std::string_view rest, const Params&);    // api_sessions.cc
  void Stats(h2o_req_t* req, std::string_view, const Params&);           // api_stats.cc
  void OpenApi(h2o_req_t* req, std::string_view, const Params&);            // api_openapi.cc
  void DeleteMessage(h2o_req_t* req, std::string_view id, const Params& q);  // api_delete.cc
  void DeleteMessages(h2o_req_t* req, std::string_view, const Params& q);    // api_delete.cc
  void Faults(h2o_req_t* req, std::string_view, const Params& q);            // api_faults.cc
  void PutFaults(h2o_req_t* req, std::string_view, const Params& q);         // api_faults.cc
  void DeleteFaults(h2o_req_t* req, std::string_view, const Params& q);      // api_faults.cc
  void Queue(h2o_req_t* req, std::string_view, const Params& q);             // api_queue.cc
  void QueueItem(h2o_req_t* req, std::string_view id, const Params& q);      // api_queue.cc
  void QueuePost(h2o_req_t* req, std::string_view rest, const Params& q);    // api_queue.cc
  void QueueDelete(h2o_req_t* req, std::string_view id, const Params& q);    // api_queue.cc
  void ConsoleIndex(h2o_req_t* req, std::string_view, const Params&);         // api_console.cc
  void ConsoleFile(h2o_req_t* req, std::string_view rest, const Params&);     // api_console.cc

  bool closing() const;
  // mailbox= checked: "" (absent) or a mailbox the index knows; false = answered.
  bool TakeMailbox(h2o_req_t* req, const Params& q, std::string* out);

  uv_loop_t* loop_;
  const Config& config_;
  const Readiness* readiness_;
  const MessageIndex* index_;
  const HttpServer* server_ = nullptr;
  EventHub* events_ = nullptr;
  const SessionRecorder* sessions_ = nullptr;
  const LiveStats* stats_ = nullptr;
  MessageDeleter* deleter_ = nullptr;
  AccessGate* gate_ = nullptr;  // CORS, Basic auth, read-only
  FaultInjector* faults_ = nullptr;  // the SMTP server's fault rules
  std::unique_ptr<MessageSearch> search_;  // /messages and /wait: summaries, query=
  std::unique_ptr<MessageViewApi> views_;  // /messages/{id} and /messages/{id}/parts/{n}
};

}  // namespace mailnest
