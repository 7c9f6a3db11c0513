// One SMTP conversation: the state machine of RFC 5321 driven by bytes
// from the peer, with replies, timers and flow control going out through an
// Io interface (a Connection in the server, a recorder in unit tests).
//
// Input path: command lines go through a LineFramer and ONE dispatch
// prelude in Postfix's order — error limit → line too long → bare LF/CR →
// tokenise → lookup → unknown verb → state → arity → check → proceed (the
// command table is in smtp_commands.h). After 354 the bytes go to a
// DataDecoder instead and stream into a MaildirDelivery as they arrive;
// bytes after the end-of-data mark are pipelined commands and go back to the
// framer. While the store commits, no further command is read or answered,
// so replies stay in order; 250 is sent only once Commit reported success.
//
// Every state change goes through EnterState(), which logs it. Bodies are
// never logged; addresses and HELO names only through LogSafe.
//
// Lifetime contract with the owner: after Io::... calls stop (OnClosed), the
// session may still have a Commit in flight (delivery_pending()). The owner
// must keep the session alive until then; the session calls Io::Finished()
// when that delivery completed, after which it touches nothing. Finished()
// runs from inside the store's completion callback: the owner must defer
// freeing the session to a later loop turn.
#pragma once

#include <uv.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/config.h"
#include "base/live_hooks.h"
#include "base/log.h"
#include "base/status.h"
#include "net/connection.h"
#include "net/dot_codec.h"
#include "net/line_framer.h"
#include "smtp/fault_injector.h"
#include "smtp/smtp_commands.h"
#include "smtp/smtp_reply.h"
#include "store/maildir_writer.h"

namespace mailnest {

// Shared, read-only for all sessions of one server.
class OneShotTimer;
class RelayQueue;

struct SmtpContext {
  uv_loop_t* loop = nullptr;
  RelayQueue* relay = nullptr;  // null: relaying is off (550 5.7.1 for non-local domains)
  const Config* config = nullptr;
  Logger* log = nullptr;
  StoreOptions store;
  FaultInjector* faults = nullptr;  // null: no fault injection (smtp/fault_injector.h)
};

class SmtpSession {
 public:
  // What the session needs from its transport. Calls after the transport
  // closed are harmless no-ops.
  class Io {
   public:
    virtual ~Io() = default;
    virtual void Write(std::string_view bytes) = 0;
    virtual void CloseAfterWrite() = 0;
    virtual void Close() = 0;
    virtual void SetTimeout(uint64_t ms) = 0;  // 0 stops the timer
    virtual void PauseReading() = 0;
    virtual void ResumeReading() = 0;
    virtual size_t WriteBacklog() const = 0;
    virtual bool InputPending() const = 0;  // peer bytes already queued
    // See the lifetime contract above.
    virtual void Finished() = 0;
    // Our end's address, for the session recorder ("" if unknown).
    virtual std::string LocalAddress() const { return {}; }
  };

  // Pipelined replies beyond this many unsent octets pause command
  // processing until the peer reads (a client that pipelines without
  // reading cannot grow our memory): the Connection's rule, which also
  // stops reading at that point.
  static constexpr size_t kMaxOutputBacklog = Connection::kMaxWriteBacklog;

  SmtpSession(const SmtpContext& ctx, Io* io, std::string id);
  ~SmtpSession();
  SmtpSession(const SmtpSession&) = delete;
  SmtpSession& operator=(const SmtpSession&) = delete;

  // The connection was accepted (reading has started). Greets at once, or
  // after greeting_delay_ms; input before the greeting → 554 5.5.0, close.
  void Start(std::string peer);
  // Instead of Start(): the server cannot take the connection (descriptor
  // limit nearly reached): 421 4.3.2 and close.
  void Refuse(std::string peer);
  void OnRead(const char* data, size_t len);
  void OnTimeout();
  void OnWritable();
  // The transport is closed. An uncommitted body is aborted; a Commit in
  // flight is allowed to finish (see delivery_pending()).
  void OnClosed();
  // Graceful server shutdown: an idle session gets 421 4.3.2 and closes; a
  // session inside DATA or a Commit finishes it, replies, then gets 421.
  void Shutdown();
  // The shutdown grace is over: a DATA still arriving is dropped (421 4.3.2,
  // nothing stored) and a peer not taking its last reply is cut off. A
  // Commit in flight still finishes (its reply and 421 follow).
  void ShutdownNow();

  SmtpState state() const { return state_; }
  bool delivery_pending() const { return state_ == SmtpState::kDelivering; }
  const std::string& id() const { return id_; }
  uint32_t error_count() const { return errors_; }
  size_t recipient_count() const { return recipients_.size(); }

 private:
  // The command table holds pointers to the checks and proceeds below.
  friend std::span<const SmtpCommand> SmtpCommandTable();

  // --- dispatch ---
  void ProcessInput();
  void DispatchLine(const LineFramer::Event& ev);
  SmtpReplyId BadSequenceReply(const SmtpCommand& cmd) const;

  // --- checks (reply and return false on error) and proceeds ---
  bool CheckNothing(SmtpCommandArgs& args);
  bool CheckHelo(SmtpCommandArgs& args);
  bool CheckMail(SmtpCommandArgs& args);
  bool CheckRcpt(SmtpCommandArgs& args);
  bool ReplyArgError(SmtpArgError e, const SmtpCommandArgs& args);
  void ProceedHelo(SmtpCommandArgs& args);
  void ProceedEhlo(SmtpCommandArgs& args);
  void ProceedMail(SmtpCommandArgs& args);
  void ProceedRcpt(SmtpCommandArgs& args);
  void ProceedData(SmtpCommandArgs& args);
  void ProceedRset(SmtpCommandArgs& args);
  void ProceedNoop(SmtpCommandArgs& args);
  void ProceedQuit(SmtpCommandArgs& args);
  void ProceedHelp(SmtpCommandArgs& args);
  void ProceedVrfy(SmtpCommandArgs& args);
  void ProceedExpn(SmtpCommandArgs& args);

  // --- message body ---
  void BeginBody();
  void FeedBody(const char* data, size_t len);
  void FinishBody();
  void RejectBody(SmtpReplyId reply, std::string_view why);
  void OnCommitted(const Status& status, const std::string& queue_id);
  // Local delivery and relay queue commit side by side; the reply waits
  // for both (relay/relay_queue.h).
  void CommitAll();
  void OnPartCommitted(const Status& status, const std::string& queue_id);
  void AbortDelivery();
  std::string TraceHeaders(const std::string& queue_id) const;

  // --- deterministic faults (smtp_session_faults.cc, smtp/fault_injector.h) ---
  // Each returns true when a rule took over: it replied, closed, or delays
  // (then carries on by itself once the delay is over).
  bool FaultAtConnect();
  bool FaultAtCommand(const SmtpCommand& cmd, const SmtpCommandArgs& args, std::string_view line);
  bool FaultAtDot();
  std::optional<FaultInjector::Hit> CheckFault(FaultStage stage, const FaultSubject& subject);
  void ReplyFault(const FaultAction& action);
  void DelayForFault(uint32_t ms, void (SmtpSession::*then)());
  void ReplayFaultLine();         // a delayed command, dispatched now
  void CommitAfterFaultDelay();   // a delayed final dot
  void GreetAfterFaultDelay();
  void Greet();  // Start() after the connect stage

  // --- state, replies, flow control ---
  void EnterState(SmtpState next);
  void ResetTransaction();
  void EndTransaction();  // back to GREETED after DATA (or 421 when shutting down)
  void SendGreeting();
  void Reply(SmtpReplyId id, std::string_view detail = {});
  void CloseWith(SmtpReplyId id);  // reply with hostname detail, then close
  void RefreshTimer();
  void UpdateReading();
  const std::string& hostname() const { return ctx_.config->hostname; }

  const SmtpContext& ctx_;
  const SmtpConfig& cfg_;
  Io* io_;
  std::string id_;
  std::string peer_;     // "ip:port" for logs
  std::string peer_ip_;  // for the Received header

  SmtpState state_ = SmtpState::kNew;
  LineFramer framer_;
  std::optional<DataDecoder> decoder_;
  std::string chunk_;  // reused buffer for decoded body bytes

  // Session.
  bool esmtp_ = false;
  std::string helo_;
  uint32_t errors_ = 0;
  uint64_t commands_ = 0;
  uint64_t messages_ = 0;
  std::string reply_log_;  // reply codes of the command being dispatched
  uint64_t data_deadline_ = 0;  // uv_now() by which the body must be complete
  uint64_t commit_started_ns_ = 0;  // uv_hrtime() at the final dot (commit latency)

  // Transaction.
  std::string sender_;                   // reverse-path mailbox text, "" for <>
  std::vector<std::string> recipients_;  // forward-path texts as accepted
  std::vector<std::string> mailboxes_;   // resolved owners, deduplicated
  std::vector<std::string> relay_rcpts_;  // non-local recipients to queue for relaying
  std::string relay_id_;                  // queue id of the relayed copy
  std::string relay_body_;                // the relayed copy (stored form), bounded by max_message_size
  bool relaying_ = false;                 // relay_body_ collects this message
  int commits_pending_ = 0;
  Status commit_status_;
  std::string commit_id_;
  std::unique_ptr<MaildirDelivery> delivery_;
  // A committed delivery is kept here and freed on a later loop turn, never
  // inside its own completion callback.
  std::unique_ptr<MaildirDelivery> retired_delivery_;

  // Flow control.
  bool reading_ = true;        // Connection::Accept starts reading
  bool output_paused_ = false; // too many unsent replies
  bool spill_paused_ = false;  // the store is behind on a large body
  bool closed_ = false;
  bool shutting_down_ = false;

  SessionTrace trace_;  // GET /api/v1/sessions (no-op without the HTTP side)

  // Fault delays: no input is processed (nor idle timer run) while paused.
  std::unique_ptr<OneShotTimer> fault_timer_;  // made on the first delay
  void (SmtpSession::*fault_then_)() = nullptr;
  std::string fault_line_;     // the delayed command line
  bool fault_paused_ = false;
  bool fault_replay_ = false;  // dispatching fault_line_: not counted or traced again, not re-checked
};

}  // namespace mailnest
