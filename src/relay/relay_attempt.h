// One delivery attempt of one queued message to one destination: resolve
// "host:port" (uv_getaddrinfo, off the loop), connect (relay.
// connect_timeout_s), then an SmtpClient conversation over a Connection.
//
// Ownership: the attempt owns itself. It calls done(*this) exactly once,
// from the Connection's close callback (OnClosed) or, when the name did
// not resolve, from the resolver's callback after its handles closed; it
// then deletes itself. Abort() (queue shutdown) closes the connection
// early; done still runs, with every open recipient deferred.
//
// Connection reuse (docs/RELAY.md "Connection reuse"): when a transaction
// ends with the session usable, done runs at once for it (not at close),
// and, below reuse.max_messages, the attempt asks reuse.next_for for the
// next due message to the same destination. The queue answers false
// (nothing due: QUIT) or true, keeping a ConnectionLease it later fulfils
// with Give() once the message is read (RSET, then its transaction on this
// connection) or drops (QUIT). The session waits at most reuse.idle_ms
// for it. Each transaction has its own done, called exactly once.
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

class ConnectionLease;

class RelayAttempt final : public Connection::Handler, public SmtpClient::Io {
 public:
  using Done = std::function<void(RelayAttempt& attempt)>;
  // (destination key, the target connected to, the lease to fulfil) →
  // whether a next message was taken.
  using NextFor = std::function<bool(const std::string& key, const RelayTarget& target,
                                     std::shared_ptr<ConnectionLease> lease)>;
  struct Reuse {
    uint32_t max_messages = 1;  // transactions per connection; 1 = no reuse
    uint64_t idle_ms = 0;       // longest wait for the next message
    std::string key;            // the queue's destination ("host:port", "mx:domain")
    NextFor next_for;
  };

  // message is shared with the queue (read-only).
  static RelayAttempt* Start(uv_loop_t* loop, RelayTarget target, ClientSettings settings, uint64_t connect_ms,
                             std::string sender, std::vector<std::string> recipients,
                             std::shared_ptr<const std::string> message, Done done, Reuse reuse);

  void Abort();
  // Messages carried so far (the current one included).
  uint32_t messages() const { return messages_; }

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
  bool OnTransactionDone() override;

 private:
  friend class ConnectionLease;
  RelayAttempt(uv_loop_t* loop, RelayTarget target, ClientSettings settings, uint64_t connect_ms, std::string sender,
               std::vector<std::string> recipients, std::shared_ptr<const std::string> message, Done done,
               Reuse reuse);
  // false (nothing taken) unless the session is idle and waiting: it may
  // have ended meanwhile (a 421 out of turn) without being closed yet.
  bool Continue(std::string sender, std::vector<std::string> recipients, std::shared_ptr<const std::string> message,
                Done done);
  void EndWait();  // no next message: QUIT
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
  bool waiting_ = false;  // idle between messages, a lease out
  uint32_t messages_ = 1;
  Reuse reuse_;
  std::weak_ptr<ConnectionLease> lease_;
  uv_getaddrinfo_t resolver_;
  Connection conn_;
  SmtpClient client_;
};

// The promise of a next message for a session waiting between messages.
// Held by the queue while it reads that message; destroying it unused
// lets the session QUIT.
class ConnectionLease {
 public:
  explicit ConnectionLease(RelayAttempt* attempt) : attempt_(attempt) {}
  ~ConnectionLease();
  ConnectionLease(const ConnectionLease&) = delete;
  ConnectionLease& operator=(const ConnectionLease&) = delete;

  // Hands the next transaction to the waiting session and returns it; null
  // when that session has ended meanwhile (idle bound, peer closed, abort):
  // start a new attempt instead. At most once.
  RelayAttempt* Give(std::string sender, std::vector<std::string> recipients,
                     std::shared_ptr<const std::string> message, RelayAttempt::Done done);

 private:
  friend class RelayAttempt;
  RelayAttempt* attempt_;  // null once given, dropped, or the session ended
};

}  // namespace mailnest
