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
// and what follows on success and on any other reply.
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
  static constexpr Step kSteps[] = {
      {C::kGreeting, "receiving the initial greeting", 2, Wait::kGreeting, &SmtpClient::SendEhlo,
       &SmtpClient::FailSession},
      {C::kEhlo, "receiving the EHLO reply", 2, Wait::kCommand, &SmtpClient::ProceedEhlo,
       &SmtpClient::ProceedHeloFallback},
      {C::kHelo, "receiving the HELO reply", 2, Wait::kCommand, &SmtpClient::ProceedMail, &SmtpClient::FailSession},
      {C::kMail, "receiving the MAIL FROM reply", 2, Wait::kCommand, &SmtpClient::ProceedRcptOk,
       &SmtpClient::FailSession},
      {C::kRcpt, "receiving the RCPT TO reply", 2, Wait::kCommand, &SmtpClient::ProceedRcptOk,
       &SmtpClient::ProceedRcptRefused},
      {C::kData, "receiving the DATA reply", 3, Wait::kDataInit, &SmtpClient::ProceedData, &SmtpClient::FailAccepted},
      {C::kDot, "sending the end of data", 2, Wait::kDataTerm, &SmtpClient::ProceedDot, &SmtpClient::FailAccepted},
      {C::kQuit, "receiving the QUIT reply", 2, Wait::kCommand, &SmtpClient::ProceedQuit, &SmtpClient::ProceedQuit},
      {C::kDone, "done", 2, Wait::kNone, nullptr, nullptr},
  };
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
    case ClientState::kQuit: return "QUIT";
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
    : io_(io),
      s_(std::move(settings)),
      sender_(std::move(sender)),
      recipients_(std::move(recipients)),
      message_(message),
      outcomes_(recipients_.size()),
      framer_(s_.max_reply_line, /*accept_bare_lf=*/true) {}

void SmtpClient::Start() { EnterState(ClientState::kGreeting); }

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

void SmtpClient::Send(std::string_view line) {
  std::string out(line);
  out += "\r\n";
  io_->Write(out);
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
  Dispatch(ClientReply{reply_code_, EnhancedCodeOf(reply_code_, reply_first_), reply_first_});
  return true;
}

void SmtpClient::Dispatch(const ClientReply& r) {
  const Step& step = StepOf(state_);
  if (!step.on_ok) return;
  if (r.code / 100 == step.ok_class) {
    (this->*step.on_ok)(r);
  } else {
    (this->*step.on_fail)(r);
  }
}

void SmtpClient::OnTimeout() {
  if (finished()) return;
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

void SmtpClient::SendEhlo(const ClientReply&) {
  Send(fmt::format("EHLO {}", s_.helo_name));
  EnterState(ClientState::kEhlo);
}

void SmtpClient::ProceedEhlo(const ClientReply&) {
  esmtp_ = true;
  for (const std::string& l : reply_rest_) {
    std::string kw = Upper(l.substr(0, l.find(' ')));
    if (kw == "8BITMIME") ext_8bitmime_ = true;
    if (kw == "SIZE") {
      ext_size_ = true;
      size_t sp = l.find(' ');
      if (sp != std::string::npos) size_limit_ = std::strtoull(l.c_str() + sp + 1, nullptr, 10);
    }
  }
  SendMail();
}

// RFC 5321 §3.2: a server that does not know EHLO answers 5xx; try HELO.
void SmtpClient::ProceedHeloFallback(const ClientReply& r) {
  if (r.code / 100 != 5) return FailSession(r);
  Send(fmt::format("HELO {}", s_.helo_name));
  EnterState(ClientState::kHelo);
}

void SmtpClient::ProceedMail(const ClientReply&) { SendMail(); }

void SmtpClient::SendMail() {
  uint64_t size = message_->size();
  for (char c : *message_) size += c == '\n' ? 1 : 0;  // LF → CR LF on the wire
  if (ext_size_ && size_limit_ > 0 && size > size_limit_) {
    DecideOpen(ClientReply{552, "5.3.4",
                           fmt::format("message size {} exceeds the size limit {} of {}", size, size_limit_, s_.peer)},
               false);
    SendQuit();
    return;
  }
  std::string cmd = fmt::format("MAIL FROM:<{}>", sender_);
  if (ext_size_) cmd += fmt::format(" SIZE={}", size);
  if (ext_8bitmime_ && Has8Bit(*message_)) cmd += " BODY=8BITMIME";
  Send(cmd);
  EnterState(ClientState::kMail);
}

// After MAIL (the 250 to MAIL) and after each RCPT reply.
void SmtpClient::ProceedRcptOk(const ClientReply&) {
  if (state_ == ClientState::kRcpt) {
    outcomes_[next_rcpt_].accepted_rcpt = true;
    any_accepted_ = true;
    ++next_rcpt_;
  }
  SendNextRcptOrData();
}

void SmtpClient::ProceedRcptRefused(const ClientReply& r) {
  outcomes_[next_rcpt_].reply = r;
  outcomes_[next_rcpt_].decided = true;
  ++next_rcpt_;
  SendNextRcptOrData();
}

void SmtpClient::SendNextRcptOrData() {
  if (next_rcpt_ < recipients_.size()) {
    Send(fmt::format("RCPT TO:<{}>", recipients_[next_rcpt_]));
    EnterState(ClientState::kRcpt);
  } else if (any_accepted_) {
    Send("DATA");
    EnterState(ClientState::kData);
  } else {
    SendQuit();
  }
}

void SmtpClient::ProceedData(const ClientReply&) {
  std::string out;
  out.reserve(message_->size() + message_->size() / 32 + 8);
  DotStuffer stuffer;
  stuffer.Feed(message_->data(), message_->size(), &out);
  stuffer.Finish(&out);
  EnterState(ClientState::kDot);
  io_->Write(out);
}

void SmtpClient::ProceedDot(const ClientReply& r) {
  DecideOpen(r, true);
  SendQuit();
}

void SmtpClient::ProceedQuit(const ClientReply&) { Finish(); }

void SmtpClient::FailSession(const ClientReply& r) {
  DecideOpen(r, false);
  // A 421 (or a garbled reply) means the server is closing: no QUIT.
  if (r.code == 0 || r.code == 421) return Finish();
  SendQuit();
}

void SmtpClient::FailAccepted(const ClientReply& r) {
  DecideOpen(r, false);  // only accepted recipients are still open here
  if (r.code == 421) return Finish();
  SendQuit();
}

void SmtpClient::SendQuit() {
  Send("QUIT");
  EnterState(ClientState::kQuit);
}

void SmtpClient::DecideOpen(const ClientReply& r, bool only_accepted) {
  for (RcptOutcome& o : outcomes_) {
    if (o.decided || (only_accepted && !o.accepted_rcpt)) continue;
    o.reply = r;
    o.decided = true;
  }
}

void SmtpClient::Finish() {
  EnterState(ClientState::kDone);
  io_->Close();
}

}  // namespace mailnest
