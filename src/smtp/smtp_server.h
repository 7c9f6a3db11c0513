// The SMTP listener: accepts connections into SmtpSessions, enforces the
// connection limit (421 4.3.2 at accept) and runs the graceful shutdown.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>

#include "base/config.h"
#include "base/log.h"
#include "base/status.h"

namespace mailnest {

class DeliveryJournal;
class FaultInjector;
class RelayQueue;

class SmtpServer {
 public:
  // journal: optional group-commit durability for small messages
  // (store/delivery_journal.h); it must outlive the server. relay:
  // optional store-and-forward queue (relay/relay_queue.h), likewise.
  SmtpServer(uv_loop_t* loop, const Config& config, Logger* log, DeliveryJournal* journal = nullptr,
             RelayQueue* relay = nullptr);
  ~SmtpServer();

  Status Start();          // bind + listen on config.smtp.listen
  int bound_port() const;  // the real port (config may say 0)
  // Deterministic faults (smtp/fault_injector.h); it must outlive the server.
  void set_faults(FaultInjector* faults);

  // Stops accepting; sessions with a delivery under way finish it (and get
  // their reply), idle sessions are told 421 4.3.2 and closed. done() runs
  // once the last session is gone.
  void Shutdown(std::function<void()> done);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace mailnest
