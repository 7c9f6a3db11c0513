#include "relay/smtp_client.h"

#include <fmt/format.h>

#include "net/dot_codec.h"
#include "relay/queue_record.h"

namespace mailnest {

namespace {

enum class Wait : uint8_t { kGreeting, kCommand, kDataInit, kDataTerm, kNone };

bool Has8Bit(const std::string& s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return true;
  }
  return false;
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

}  // namespace

// One row per state in which we wait for a reply: the class of reply that
// means success (2 or 3), the timeout of RFC 5321 §4.5.3.2 that applies,
// and what follows on success and on any other reply. With PIPELINING
// several rows are due at once (pending_); each reply goes to the oldest.
struct SmtpClient::Step {
  ClientState state;
  std::string_view name;  // "while <name>" in failure texts
  int ok_class;
  Wait wait;
  void (SmtpClient::*on_ok)(const ClientReply&);
  void (SmtpClient::*on_fail)(const ClientReply&);
};

const SmtpClient::Step& SmtpClient::StepOf(ClientState s) {
  using C = ClientState;
  using S = SmtpClient;
  static constexpr Step kSteps[] = {
      {C::kGreeting, "receiving the initial greeting", 2, Wait::kGreeting, &S::SendEhlo, &S::FailSession},
      {C::kEhlo, "receiving the EHLO reply", 2, Wait::kCommand, &S::ProceedEhlo, &S::ProceedHeloFallback},
      {C::kHelo, "receiving the HELO reply", 2, Wait::kCommand, &S::ProceedHelo, &S::FailSession},
      {C::kMail, "receiving the MAIL FROM reply", 2, Wait::kCommand, &S::ProceedMail, &S::ProceedMailRefused},
      {C::kRcpt, "receiving the RCPT TO reply", 2, Wait::kCommand, &S::ProceedRcptOk, &S::ProceedRcptRefused},
      {C::kData, "receiving the DATA reply", 3, Wait::kDataInit, &S::ProceedData, &S::ProceedDataRefused},
      {C::kDot, "sending the end of data", 2, Wait::kDataTerm, &S::ProceedDot, &S::ProceedDot},
      {C::kRset, "receiving the RSET reply", 2, Wait::kCommand, &S::ProceedRset, &S::ProceedRsetRefused},
      {C::kQuit, "receiving the QUIT reply", 2, Wait::kCommand, &S::ProceedQuit, &S::ProceedQuit},
      {C::kIdle, "waiting for the next message", 2, Wait::kNone, nullptr, nullptr},
      {C::kDone, "done", 2, Wait::kNone, nullptr, nullptr},
  };
  static_assert(sizeof kSteps / sizeof kSteps[0] == static_cast<size_t>(C::kDone) + 1, "one row per state");
  return kSteps[static_cast<size_t>(s)];
}

std::string_view ClientStateName(ClientState s) {
  switch (s) {
    case ClientState::kGreeting: return "GREETING";
    case ClientState::kEhlo: return "EHLO";
    case ClientState::kHelo: return "HELO";
    case ClientState::kMail: return "MAIL";
    case ClientState::kRcpt: return "RCPT";
    case ClientState::kData: return "DATA";
    case ClientState::kDot: return "DOT";
    case ClientState::kRset: return "RSET";
    case ClientState::kQuit: return "QUIT";
    case ClientState::kIdle: return "IDLE";
    case ClientState::kDone: return "DONE";
  }
  return "?";
}

std::string EnhancedCodeOf(int code, std::string_view line) {
  if (line.size() < 5) return "";
  std::string_view t = line.substr(4);
  size_t end = t.find(' ');
  std::string_view e = t.substr(0, end);
  // class "." subject(1-3 digits) "." detail(1-3 digits)
  if (e.size() < 5 || e[0] != static_cast<char>('0' + code / 100) || e[1] != '.') return "";
  size_t dot = e.find('.', 2);
  if (dot == std::string_view::npos || dot == 2 || dot > 5 || dot + 1 >= e.size() || e.size() - dot - 1 > 3) return "";
  for (size_t i = 2; i < e.size(); ++i) {
    if (i != dot && (e[i] < '0' || e[i] > '9')) return "";
  }
  return std::string(e);
}

SmtpClient::SmtpClient(Io* io, ClientSettings settings, std::string sender, std::vector<std::string> recipients,
                       const std::string* message)
    : io_(io), s_(std::move(settings)), framer_(s_.max_reply_line, /*accept_bare_lf=*/true) {
  StartTransaction(std::move(sender), std::move(recipients), message);
}

void SmtpClient::StartTransaction(std::string sender, std::vector<std::string> recipients,
                                  const std::string* message) {
  sender_ = std::move(sender);
  recipients_ = std::move(recipients);
  message_ = message;
  outcomes_.assign(recipients_.size(), RcptOutcome{});
  any_accepted_ = false;
}

void SmtpClient::Start() {
  pending_.push_back(Expect{ClientState::kGreeting});
  WaitForNext();
}

void SmtpClient::Continue(std::string sender, std::vector<std::string> recipients, const std::string* message) {
  if (state_ != ClientState::kIdle) return;
  StartTransaction(std::move(sender), std::move(recipients), message);
  Command("RSET", ClientState::kRset);
  if (pipelining_) BeginTransaction();  // RFC 2920 §3.1: RSET may lead a group
  FlushOut();
  WaitForNext();
}

void SmtpClient::Quit() {
  if (state_ != ClientState::kIdle) return;
  SendQuit();
  FlushOut();
  WaitForNext();
}

void SmtpClient::EnterState(ClientState next) {
  state_ = next;
  switch (StepOf(next).wait) {
    case Wait::kGreeting: io_->SetTimeout(s_.greeting_ms); break;
    case Wait::kCommand: io_->SetTimeout(s_.command_ms); break;
    case Wait::kDataInit: io_->SetTimeout(s_.data_init_ms); break;
    // The body may still be leaving our buffer: data_block until it has
    // (OnWritable), then data_term for the reply.
    case Wait::kDataTerm: io_->SetTimeout(s_.data_block_ms); break;
    case Wait::kNone: io_->SetTimeout(0); break;
  }
}

// Also when the row stays the same (the next RCPT): its timer restarts.
void SmtpClient::WaitForNext() {
  if (state_ == ClientState::kDone || pending_.empty()) return;
  EnterState(pending_.front().state);
}

void SmtpClient::Command(std::string_view line, ClientState expect, size_t rcpt) {
  out_.append(line);
  out_ += "\r\n";
  pending_.push_back(Expect{expect, rcpt});
}

void SmtpClient::FlushOut() {
  if (out_.empty()) return;
  io_->Write(out_);
  out_.clear();
}

void SmtpClient::OnRead(const char* data, size_t len) {
  if (finished()) return;
  framer_.Feed(data, len);
  LineFramer::Event ev;
  while (!finished() && framer_.Next(&ev)) {
    if (ev.kind != LineFramer::Kind::kLine || !ParseLine(ev.line)) {
      FailSession(ClientReply{0, "4.5.0", fmt::format("bad reply from {} while {}", s_.peer, StepOf(state_).name)});
      return;
    }
  }
}

// One reply line; false on a protocol violation.
bool SmtpClient::ParseLine(std::string_view line) {
  if (line.size() < 3) return false;
  int code = 0;
  for (int i = 0; i < 3; ++i) {
    if (line[i] < '0' || line[i] > '9') return false;
    code = code * 10 + (line[i] - '0');
  }
  if (code < 200 || code > 599) return false;
  bool last = line.size() == 3 || line[3] == ' ';
  if (!last && line[3] != '-') return false;
  if (reply_lines_ == 0) {
    reply_code_ = code;
    reply_first_ = CleanReplyText(line);
    reply_rest_.clear();
  } else {
    if (code != reply_code_) return false;
    if (reply_rest_.size() < s_.max_reply_lines) reply_rest_.push_back(std::string(line.substr(std::min<size_t>(4, line.size()))));
  }
  if (++reply_lines_ > s_.max_reply_lines) return false;
  if (!last) return true;
  reply_lines_ = 0;
  // A reply nobody asked for (the server talks out of turn, or after our
  // last command was answered) is a protocol violation.
  if (pending_.empty()) return false;
  Dispatch(ClientReply{reply_code_, EnhancedCodeOf(reply_code_, reply_first_), reply_first_});
  return true;
}

// The reply answers the oldest command still due: its row decides.
void SmtpClient::Dispatch(const ClientReply& r) {
  Expect e = pending_.front();
  pending_.pop_front();
  state_ = e.state;
  current_rcpt_ = e.rcpt;
  const Step& step = StepOf(e.state);
  if (r.code / 100 == step.ok_class) {
    (this->*step.on_ok)(r);
  } else {
    (this->*step.on_fail)(r);
  }
  if (finished()) return;
  FlushOut();
  WaitForNext();
}

void SmtpClient::OnTimeout() {
  if (finished() || state_ == ClientState::kIdle) return;
  ClientState was = state_;
  DecideOpen(ClientReply{0, "4.4.2", fmt::format("conversation with {} timed out while {}", s_.peer, StepOf(was).name)},
             false);
  Finish();
}

void SmtpClient::OnWritable() {
  if (state_ == ClientState::kDot) io_->SetTimeout(s_.data_term_ms);
}

void SmtpClient::OnClosed(std::string_view dsn, std::string_view reason) {
  if (finished()) return;
  std::string text = reason.empty()
                         ? fmt::format("lost connection with {} while {}", s_.peer, StepOf(state_).name)
                         : std::string(reason);
  DecideOpen(ClientReply{0, reason.empty() ? "4.4.2" : std::string(dsn), text}, false);
  state_ = ClientState::kDone;  // the transport is gone: no Close()
}

// --- actions -------------------------------------------------------------

void SmtpClient::SendEhlo(const ClientReply&) { Command(fmt::format("EHLO {}", s_.helo_name), ClientState::kEhlo); }

void SmtpClient::ProceedEhlo(const ClientReply&) {
  esmtp_ = true;
  for (const std::string& l : reply_rest_) {
    std::string kw = Upper(l.substr(0, l.find(' ')));
    if (kw == "8BITMIME") ext_8bitmime_ = true;
    if (kw == "PIPELINING") pipelining_ = s_.pipelining;
    if (kw == "SIZE") {
      ext_size_ = true;
      size_t sp = l.find(' ');
      if (sp != std::string::npos) size_limit_ = std::strtoull(l.c_str() + sp + 1, nullptr, 10);
    }
  }
  BeginTransaction();
}

// RFC 5321 §3.2: a server that does not know EHLO answers 5xx; try HELO.
void SmtpClient::ProceedHeloFallback(const ClientReply& r) {
  if (r.code / 100 != 5) return FailSession(r);
  Command(fmt::format("HELO {}", s_.helo_name), ClientState::kHelo);
}

void SmtpClient::ProceedHelo(const ClientReply&) { BeginTransaction(); }

// MAIL; with PIPELINING also every RCPT and DATA, in the same write.
void SmtpClient::BeginTransaction() {
  uint64_t size = message_->size();
  for (char c : *message_) size += c == '\n' ? 1 : 0;  // LF → CR LF on the wire
  if (ext_size_ && size_limit_ > 0 && size > size_limit_) {
    DecideOpen(ClientReply{552, "5.3.4",
                           fmt::format("message size {} exceeds the size limit {} of {}", size, size_limit_, s_.peer)},
               false);
    // Nothing of this transaction was sent, but a pipelined RSET may be due.
    if (pending_.empty()) EndTransaction();
    return;
  }
  std::string cmd = fmt::format("MAIL FROM:<{}>", sender_);
  if (ext_size_) cmd += fmt::format(" SIZE={}", size);
  if (ext_8bitmime_ && Has8Bit(*message_)) cmd += " BODY=8BITMIME";
  Command(cmd, ClientState::kMail);
  if (!pipelining_) return;
  for (size_t i = 0; i < recipients_.size(); ++i) {
    Command(fmt::format("RCPT TO:<{}>", recipients_[i]), ClientState::kRcpt, i);
  }
  Command("DATA", ClientState::kData);
}

void SmtpClient::ProceedMail(const ClientReply&) {
  if (!pipelining_) SendNextRcptOrData(0);
}

// Every recipient gets MAIL's refusal. Pipelined, the replies to the RCPTs
// and DATA sent behind it still come (RFC 2920 §3.1) and are read; they
// decide nothing more.
void SmtpClient::ProceedMailRefused(const ClientReply& r) {
  DecideOpen(r, false);
  if (r.code == 421) return Finish();
  if (pending_.empty()) EndTransaction();
}

void SmtpClient::ProceedRcptOk(const ClientReply&) {
  RcptOutcome& o = outcomes_[current_rcpt_];
  if (!o.decided) {  // decided already: MAIL was refused before it
    o.accepted_rcpt = true;
    any_accepted_ = true;
  }
  if (!pipelining_) SendNextRcptOrData(current_rcpt_ + 1);
}

// That recipient only: the others go on.
void SmtpClient::ProceedRcptRefused(const ClientReply& r) {
  RcptOutcome& o = outcomes_[current_rcpt_];
  if (!o.decided) {
    o.reply = r;
    o.decided = true;
  }
  if (r.code == 421) {
    DecideOpen(r, false);
    return Finish();
  }
  if (!pipelining_) SendNextRcptOrData(current_rcpt_ + 1);
}

void SmtpClient::SendNextRcptOrData(size_t next) {
  if (next < recipients_.size()) {
    Command(fmt::format("RCPT TO:<{}>", recipients_[next]), ClientState::kRcpt, next);
  } else if (any_accepted_) {
    Command("DATA", ClientState::kData);
  } else {
    EndTransaction();
  }
}

// 354. Pipelined, DATA went out before the RCPT replies came: if none was
// accepted, a server that still says 354 gets an empty message (a lone
// dot) that nobody receives, as RFC 2920 §3.1 leaves the client no other
// way back to a command state.
void SmtpClient::ProceedData(const ClientReply&) {
  std::string out;
  DotStuffer stuffer;
  if (any_accepted_) {
    out.reserve(message_->size() + message_->size() / 32 + 8);
    stuffer.Feed(message_->data(), message_->size(), &out);
  }
  stuffer.Finish(&out);
  FlushOut();
  pending_.push_back(Expect{ClientState::kDot});
  io_->Write(out);
}

void SmtpClient::ProceedDataRefused(const ClientReply& r) {
  DecideOpen(r, true);  // the accepted recipients; the refused keep their reply
  if (r.code == 421) return Finish();
  EndTransaction();
}

void SmtpClient::ProceedDot(const ClientReply& r) {
  DecideOpen(r, true);
  if (r.code == 421) return Finish();
  EndTransaction();
}

// Non-pipelined: MAIL follows the RSET's 250. Pipelined, it went with it.
void SmtpClient::ProceedRset(const ClientReply&) {
  if (!pipelining_) return BeginTransaction();
  if (pending_.empty()) EndTransaction();  // nothing went with it (over SIZE)
}

// A session that cannot reset is not used again: this transaction is
// decided as never started (4.4.1, as a connection that did not come up:
// the caller tries a new connection; docs/RELAY.md), the replies already
// on their way are read, then QUIT.
void SmtpClient::ProceedRsetRefused(const ClientReply& r) {
  reusable_ = false;
  DecideOpen(ClientReply{0, "4.4.1", fmt::format("RSET refused by {}: {}", s_.peer, r.text)}, false);
  if (r.code == 421) return Finish();
  if (pending_.empty()) EndTransaction();
}

void SmtpClient::ProceedQuit(const ClientReply&) { Finish(); }

void SmtpClient::FailSession(const ClientReply& r) {
  DecideOpen(r, false);
  pending_.clear();
  // A 421 (or a garbled reply) means the server is closing: no QUIT.
  if (r.code == 0 || r.code == 421) return Finish();
  SendQuit();
  FlushOut();
  WaitForNext();
}

// Every reply of the transaction is in: the Io may carry on with another.
void SmtpClient::EndTransaction() {
  for (RcptOutcome& o : outcomes_) {  // cannot happen; never leave one open
    if (!o.decided) o = RcptOutcome{ClientReply{0, "4.4.2", "no reply for this recipient"}, true, false};
  }
  state_ = ClientState::kIdle;
  io_->SetTimeout(0);
  if (reusable_ && io_->OnTransactionDone()) return;  // idle, or Continue() already ran
  if (state_ == ClientState::kIdle) SendQuit();
}

void SmtpClient::SendQuit() { Command("QUIT", ClientState::kQuit); }

void SmtpClient::DecideOpen(const ClientReply& r, bool only_accepted) {
  for (RcptOutcome& o : outcomes_) {
    if (o.decided || (only_accepted && !o.accepted_rcpt)) continue;
    o.reply = r;
    o.decided = true;
  }
}

void SmtpClient::Finish() {
  pending_.clear();
  out_.clear();
  EnterState(ClientState::kDone);
  io_->Close();
}

}  // namespace mailnest
