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

class AccessGate;
class Api;
class EventHub;
class FaultInjector;
class LiveFeed;
class LiveStats;
class QueueFeed;
class SessionRecorder;
class DeliveryJournal;
class HttpServer;
class MessageDeleter;
class IndexWatcher;
class MessageIndex;
class PasswordChecker;

class HttpService {
 public:
  // journal (may be null): DELETE waits for its barrier, as POP3 does.
  HttpService(uv_loop_t* loop, const Config& config, Readiness* readiness, DeliveryJournal* journal = nullptr);
  ~HttpService();  // after the loop stopped (or Start never ran)

  Status Start();
  int bound_port() const;
  // GET/PUT/DELETE /api/v1/faults act on it; it must outlive the service.
  void set_faults(FaultInjector* faults);
  // Answers deferred requests, closes the listener and every connection.
  void Shutdown(std::function<void()> done);

 private:
  uv_loop_t* loop_;
  const Config& config_;
  Readiness* readiness_;
  std::unique_ptr<MessageIndex> index_;
  std::unique_ptr<IndexWatcher> watcher_;
  std::unique_ptr<MessageDeleter> deleter_;
  std::unique_ptr<PasswordChecker> checker_;  // http.users set: Basic auth checks
  std::unique_ptr<AccessGate> gate_;
  std::unique_ptr<Api> api_;
  std::unique_ptr<HttpServer> server_;
  std::unique_ptr<EventHub> events_;
  std::unique_ptr<LiveFeed> feed_;
  std::unique_ptr<SessionRecorder> sessions_;
  std::unique_ptr<LiveStats> stats_;
  std::unique_ptr<QueueFeed> queue_feed_;  // queue.* events (base/queue_hooks.h)
};

}  // namespace mailnest
