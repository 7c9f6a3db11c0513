// The POP3 listener: same shape as SmtpServer.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>

#include "base/config.h"
#include "base/log.h"
#include "base/status.h"

namespace mailnest {

class DeliveryJournal;

class Pop3Server {
 public:
  // journal: the SMTP side's delivery journal, if any; sessions wait for
  // its Barrier() before deleting messages. It must outlive the server.
  Pop3Server(uv_loop_t* loop, const Config& config, Logger* log, DeliveryJournal* journal = nullptr);
  ~Pop3Server();

  Status Start();
  int bound_port() const;

  // Stops accepting; every session is closed WITHOUT entering UPDATE (no
  // message is removed), locks are released; done() runs when all are gone.
  void Shutdown(std::function<void()> done);

  struct Impl;

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace mailnest
