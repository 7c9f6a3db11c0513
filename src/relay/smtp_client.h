// One outbound SMTP transaction, the mirror of our server's session: a
// table of steps (relay/smtp_client.cc: one row per command we send, with
// the reply class that means success, the RFC 5321 §4.5.3.2 timeout that
// applies while waiting, and what to do on success and on failure), driven
// by reply lines from a LineFramer. Bytes go out and timers are set
// through an Io interface (a Connection in the relay, a recorder in tests).
//
//   greeting → EHLO (→ HELO when EHLO is refused) → MAIL FROM (SIZE=,
//   BODY=8BITMIME when advertised) → RCPT per recipient → DATA → body
//   (dot-stuffed, CR LF, by DotStuffer) → final dot → QUIT
//
// PIPELINING (RFC 2920), when the server advertises it: MAIL, every RCPT
// and DATA leave in one write (RSET first when the connection is reused),
// and the replies are matched in order against a queue of the commands
// sent (pending_), each still handled by its row of the table. Without
// PIPELINING one command at a time, as RFC 5321 has it.
//
// Connection reuse: when a transaction has ended with the session still
// usable, the client asks its Io (OnTransactionDone); the Io may hand it
// the next transaction (Continue: RSET, then MAIL ...) now or later, or
// let it say QUIT.
//
// Each recipient gets its own outcome: a RCPT refusal decides only that
// recipient; a failure of the whole session (greeting, MAIL, DATA, the
// final dot, a timeout, a lost connection) decides every recipient still
// open. Outcomes with code 0 are local (timeout, lost connection, bad
// reply): the caller defers them. Nothing here logs: message bodies and
// reply texts are the caller's to log (cleaned).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "net/line_framer.h"

namespace mailnest {

enum class ClientState : uint8_t { kGreeting, kEhlo, kHelo, kMail, kRcpt, kData, kDot, kRset, kQuit, kIdle, kDone };
std::string_view ClientStateName(ClientState s);

struct ClientSettings {
  std::string helo_name;
  std::string peer;  // "host[ip]:port", for local failure texts
  uint64_t greeting_ms = 300000;
  uint64_t command_ms = 300000;
  uint64_t data_init_ms = 120000;
  uint64_t data_block_ms = 180000;
  uint64_t data_term_ms = 600000;
  size_t max_reply_line = 4096;
  size_t max_reply_lines = 100;
  bool pipelining = true;  // use PIPELINING when the server advertises it
};

struct ClientReply {
  int code = 0;          // 0: not a server reply (local failure)
  std::string enhanced;  // "5.1.1" when the reply has one
  std::string text;      // first line, cleaned: "550 5.1.1 <b@x>: unknown user"
};

struct RcptOutcome {
  ClientReply reply;
  bool decided = false;
  bool accepted_rcpt = false;  // 250 to RCPT; decided by the final dot
};

class SmtpClient {
 public:
  class Io {
   public:
    virtual ~Io() = default;
    virtual void Write(std::string_view bytes) = 0;
    virtual void SetTimeout(uint64_t ms) = 0;  // 0 stops it
    virtual void Close() = 0;                  // end of the conversation (after QUIT, or abort)
    // The transaction has ended (outcomes() are final) and the session can
    // carry another. Return true to keep it: call Continue() (now or
    // later) or Quit(); meanwhile the client is idle (kIdle) and sets no
    // timeout. false: the client says QUIT.
    virtual bool OnTransactionDone() { return false; }
  };

  // message: the stored form (LF line ends, un-stuffed); must outlive Start().
  SmtpClient(Io* io, ClientSettings settings, std::string sender, std::vector<std::string> recipients,
             const std::string* message);

  void Start();  // connected: wait for the greeting
  // The next transaction on this session (after OnTransactionDone said
  // true): RSET, then as for the first. message must outlive it.
  void Continue(std::string sender, std::vector<std::string> recipients, const std::string* message);
  // No next transaction: QUIT (idle only).
  void Quit();
  void OnRead(const char* data, size_t len);
  void OnTimeout();
  void OnWritable();  // the body has left our buffer
  // The connection is gone (or never came up: dsn and reason say why,
  // e.g. "4.4.1", "connect to ...: refused"). Every recipient still open is
  // decided with that local failure (default: 4.4.2 lost connection).
  void OnClosed(std::string_view dsn = {}, std::string_view reason = {});

  ClientState state() const { return state_; }
  bool finished() const { return state_ == ClientState::kDone; }
  const std::vector<RcptOutcome>& outcomes() const { return outcomes_; }
  const std::vector<std::string>& recipients() const { return recipients_; }
  bool esmtp() const { return esmtp_; }
  bool pipelining() const { return pipelining_; }

  struct Step;  // a row of the table (smtp_client.cc)

 private:
  static const Step& StepOf(ClientState s);  // holds the table
  // A command sent whose reply has not come yet (rcpt: its recipient).
  struct Expect {
    ClientState state;
    size_t rcpt = 0;
  };
  // --- the table's actions ---
  void ProceedEhlo(const ClientReply& r);
  void ProceedHeloFallback(const ClientReply& r);
  void ProceedHelo(const ClientReply& r);
  void ProceedMail(const ClientReply& r);
  void ProceedMailRefused(const ClientReply& r);
  void ProceedRcptOk(const ClientReply& r);
  void ProceedRcptRefused(const ClientReply& r);
  void ProceedData(const ClientReply& r);
  void ProceedDataRefused(const ClientReply& r);
  void ProceedDot(const ClientReply& r);
  void ProceedRset(const ClientReply& r);
  void ProceedRsetRefused(const ClientReply& r);
  void ProceedQuit(const ClientReply& r);
  void FailSession(const ClientReply& r);
  void SendEhlo(const ClientReply& r);
  // --- helpers ---
  void Command(std::string_view line, ClientState expect, size_t rcpt = 0);  // queued; + CR LF
  void FlushOut();     // one Write for everything queued
  void EnterState(ClientState next);
  void WaitForNext();  // state_ and its timeout from the oldest reply still due
  void BeginTransaction();
  void SendNextRcptOrData(size_t next);
  void EndTransaction();
  void SendQuit();
  void DecideOpen(const ClientReply& r, bool only_accepted);
  void Finish();
  void Dispatch(const ClientReply& r);
  bool ParseLine(std::string_view line);
  void StartTransaction(std::string sender, std::vector<std::string> recipients, const std::string* message);

  Io* io_;
  ClientSettings s_;
  std::string sender_;
  std::vector<std::string> recipients_;
  const std::string* message_;
  std::vector<RcptOutcome> outcomes_;
  ClientState state_ = ClientState::kGreeting;
  LineFramer framer_;
  std::deque<Expect> pending_;  // replies due, oldest first
  std::string out_;             // commands not yet written
  size_t current_rcpt_ = 0;     // of the reply being handled
  bool any_accepted_ = false;
  bool esmtp_ = false;
  bool ext_size_ = false, ext_8bitmime_ = false;
  bool pipelining_ = false;  // advertised and wanted
  bool reusable_ = true;     // false after a refused RSET: no further transaction
  uint64_t size_limit_ = 0;
  // The reply being read (multi-line).
  int reply_code_ = 0;
  size_t reply_lines_ = 0;
  std::string reply_first_;
  std::vector<std::string> reply_rest_;  // EHLO keywords
};

// "550 5.1.1 text" → "5.1.1" when the text after the code starts with an
// enhanced code of the same class; "" otherwise.
std::string EnhancedCodeOf(int code, std::string_view first_line);

}  // namespace mailnest
