// Everything the HTTP side runs, behind one object main.cc owns: the API,
// its h2o server, the message index and what keeps it current. Loop-thread.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>

#include "base/config.h"
#include "base/status.h"
#include "http/readiness.h"

namespace mailnest {

class Api;
class EventHub;
class LiveFeed;
class LiveStats;
class SessionRecorder;
class HttpServer;
class IndexWatcher;
class MessageIndex;

class HttpService {
 public:
  HttpService(uv_loop_t* loop, const Config& config, Readiness* readiness);
  ~HttpService();  // after the loop stopped (or Start never ran)

  Status Start();
  int bound_port() const;
  // Answers deferred requests, closes the listener and every connection.
  void Shutdown(std::function<void()> done);

 private:
  uv_loop_t* loop_;
  const Config& config_;
  Readiness* readiness_;
  std::unique_ptr<MessageIndex> index_;
  std::unique_ptr<IndexWatcher> watcher_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<EventHub> events_;
  std::unique_ptr<LiveFeed> feed_;
  std::unique_ptr<SessionRecorder> sessions_;
  std::unique_ptr<LiveStats> stats_;
};

}  // namespace mailnest
