// Hooks through which the protocol servers tell the HTTP side what happens
// as it happens, without smtp/ or pop3/ depending on http/. The HTTP
// service installs its observers at start and removes them when it goes;
// with no HTTP listener every hook is null and costs one pointer test.
// Loop-thread only (one uv_loop_t serves every protocol).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mailnest {

// One message SMTP has just committed (its 250 is written).
struct DeliveredMessage {
  const std::vector<std::string>& mailboxes;  // validated names, deduplicated
  const std::string& file_name;               // its name in each mailbox's new/
  std::string_view sender;                    // reverse-path text, "" for <>
  const std::vector<std::string>& recipients; // forward-path texts as accepted
  uint64_t octets = 0;                        // message size as received
};

class DeliveryObserver {
 public:
  virtual ~DeliveryObserver() = default;
  // Called right after the 250: must not block and must not do disk I/O.
  virtual void OnDelivered(const DeliveredMessage& m) = 0;
};

// Records SMTP and POP3 conversations (GET /api/v1/sessions, session.*
// events). The tracer masks secrets itself (PASS, AUTH, APOP arguments), so
// every session hands it the same things the same way.
struct SessionRecord;  // the tracer's; opaque to sessions

class SessionTracer {
 public:
  virtual ~SessionTracer() = default;
  virtual SessionRecord* Open(std::string_view protocol, std::string_view log_id, std::string_view peer,
                              std::string_view local, std::string_view state) = 0;
  virtual void Command(SessionRecord* r, std::string_view line) = 0;  // as received, without CRLF
  virtual void Reply(SessionRecord* r, std::string_view text) = 0;    // one or more lines, CRLF-ended
  virtual void Data(SessionRecord* r, uint64_t octets) = 0;           // a message body: its size only
  virtual void State(SessionRecord* r, std::string_view state) = 0;
  virtual void Close(SessionRecord* r) = 0;  // r is not used again
};

struct LiveHooks {
  DeliveryObserver* delivery = nullptr;
  SessionTracer* tracer = nullptr;
};

// The one instance (like GlobalMetrics()).
LiveHooks& GlobalLiveHooks();

// A session's handle on the tracer: every call is one pointer test when
// none is installed, and a no-op once the tracer that opened it is gone.
class SessionTrace {
 public:
  SessionTrace() = default;
  SessionTrace(const SessionTrace&) = delete;
  SessionTrace& operator=(const SessionTrace&) = delete;
  ~SessionTrace() { Close(); }

  void Open(std::string_view protocol, std::string_view log_id, std::string_view peer, std::string_view local,
            std::string_view state) {
    tracer_ = GlobalLiveHooks().tracer;
    if (tracer_) rec_ = tracer_->Open(protocol, log_id, peer, local, state);
  }
  bool on() const { return rec_ != nullptr && GlobalLiveHooks().tracer == tracer_; }
  void Command(std::string_view line) {
    if (on()) tracer_->Command(rec_, line);
  }
  void Reply(std::string_view text) {
    if (on()) tracer_->Reply(rec_, text);
  }
  void Data(uint64_t octets) {
    if (on()) tracer_->Data(rec_, octets);
  }
  void State(std::string_view state) {
    if (on()) tracer_->State(rec_, state);
  }
  void Close() {
    if (on()) tracer_->Close(rec_);
    rec_ = nullptr;
  }

 private:
  SessionTracer* tracer_ = nullptr;
  SessionRecord* rec_ = nullptr;
};

}  // namespace mailnest
