// One delivery attempt of one queued message to one destination: resolve
// "host:port" (uv_getaddrinfo, off the loop), connect (relay.
// connect_timeout_s), then an SmtpClient conversation over a Connection.
//
// Ownership: the attempt owns itself. It calls done(*this) exactly once,
// from the Connection's close callback (OnClosed) or, when the name did
// not resolve, from the resolver's callback after its handles closed; it
// then deletes itself. Abort() (queue shutdown) closes the connection
// early; done still runs, with every open recipient deferred.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "net/connection.h"
#include "relay/smtp_client.h"

namespace mailnest {

struct RelayTarget {
  std::string host;  // name or IP literal (no brackets) to connect to
  int port = 25;
  std::string name;  // for logs and Remote-MTA (an MX host name); "" = host
};

class RelayAttempt final : public Connection::Handler, public SmtpClient::Io {
 public:
  using Done = std::function<void(RelayAttempt& attempt)>;

  // message is shared with the queue (read-only).
  static RelayAttempt* Start(uv_loop_t* loop, RelayTarget target, ClientSettings settings, uint64_t connect_ms,
                             std::string sender, std::vector<std::string> recipients,
                             std::shared_ptr<const std::string> message, Done done);

  void Abort();

  // "host[ip]:port" once connected (or attempted), "host" before.
  const std::string& relay_desc() const { return relay_desc_; }
  const SmtpClient& client() const { return client_; }

  // Connection::Handler
  void OnRead(const char* data, size_t len) override { client_.OnRead(data, len); }
  void OnTimeout() override;
  void OnWritable() override { client_.OnWritable(); }
  void OnClosed() override;
  // SmtpClient::Io
  void Write(std::string_view bytes) override { conn_.Write(bytes); }
  void SetTimeout(uint64_t ms) override { conn_.SetTimeout(ms); }
  void Close() override { conn_.CloseAfterWrite(); }

 private:
  RelayAttempt(uv_loop_t* loop, RelayTarget target, ClientSettings settings, uint64_t connect_ms, std::string sender,
               std::vector<std::string> recipients, std::shared_ptr<const std::string> message, Done done);
  void Resolve();
  void OnResolved(int status, addrinfo* res);

  uv_loop_t* loop_;
  RelayTarget target_;
  uint64_t connect_ms_;
  std::shared_ptr<const std::string> message_;
  Done done_;
  std::string relay_desc_;
  void Fail(std::string_view dsn, std::string text);
  std::string failure_dsn_;  // e.g. "4.4.1"
  std::string failure_;      // why the connection never carried SMTP
  bool connected_ = false;
  bool aborted_ = false;
  bool resolving_ = false;
  uv_getaddrinfo_t resolver_;
  Connection conn_;
  SmtpClient client_;
};

}  // namespace mailnest
