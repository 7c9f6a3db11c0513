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
// Each recipient gets its own outcome: a RCPT refusal decides only that
// recipient; a failure of the whole session (greeting, MAIL, DATA, the
// final dot, a timeout, a lost connection) decides every recipient still
// open. Outcomes with code 0 are local (timeout, lost connection, bad
// reply): the caller defers them. Nothing here logs: message bodies and
// reply texts are the caller's to log (cleaned).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "net/line_framer.h"

namespace mailnest {

enum class ClientState : uint8_t { kGreeting, kEhlo, kHelo, kMail, kRcpt, kData, kDot, kQuit, kDone };
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
  };

  // message: the stored form (LF line ends, un-stuffed); must outlive Start().
  SmtpClient(Io* io, ClientSettings settings, std::string sender, std::vector<std::string> recipients,
             const std::string* message);

  void Start();  // connected: wait for the greeting
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

  struct Step;  // a row of the table (smtp_client.cc)

 private:
  static const Step& StepOf(ClientState s);  // holds the table
  // --- the table's actions ---
  void ProceedEhlo(const ClientReply& r);
  void ProceedHeloFallback(const ClientReply& r);
  void ProceedMail(const ClientReply& r);
  void ProceedRcptOk(const ClientReply& r);
  void ProceedRcptRefused(const ClientReply& r);
  void ProceedData(const ClientReply& r);
  void ProceedDot(const ClientReply& r);
  void ProceedQuit(const ClientReply& r);
  void FailSession(const ClientReply& r);
  void FailAccepted(const ClientReply& r);
  void SendEhlo(const ClientReply& r);
  void EnterState(ClientState next);
  void Send(std::string_view line);  // + CR LF
  void SendMail();
  void SendNextRcptOrData();
  void SendQuit();
  void DecideOpen(const ClientReply& r, bool only_accepted);
  void Finish();
  void Dispatch(const ClientReply& r);
  bool ParseLine(std::string_view line);

  Io* io_;
  ClientSettings s_;
  std::string sender_;
  std::vector<std::string> recipients_;
  const std::string* message_;
  std::vector<RcptOutcome> outcomes_;
  ClientState state_ = ClientState::kGreeting;
  LineFramer framer_;
  size_t next_rcpt_ = 0;
  bool any_accepted_ = false;
  bool esmtp_ = false;
  bool ext_size_ = false, ext_8bitmime_ = false;
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
