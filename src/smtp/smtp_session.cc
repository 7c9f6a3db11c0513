#include "smtp/smtp_session.h"
#include "base/ascii.h"
#include "base/live_hooks.h"
#include "base/metrics.h"
#include "pop3/one_shot_timer.h"
#include "relay/relay_queue.h"

#include <fmt/format.h>

#include <algorithm>
#include <ctime>

namespace mailnest {

namespace {

// "127.0.0.1:4321" → "127.0.0.1", "[::1]:4321" → "::1".
std::string PeerIp(const std::string& peer) {
  if (!peer.empty() && peer.front() == '[') {
    size_t close = peer.find(']');
    return close == std::string::npos ? peer : peer.substr(1, close - 1);
  }
  size_t colon = peer.rfind(':');
  return colon == std::string::npos ? peer : peer.substr(0, colon);
}

// RFC 5322 §3.3 date-time in local time, e.g. "Tue, 1 Jul 2003 10:52:37 +0200".
// Day and month names are spelled out here so the locale cannot change them.
std::string Rfc5322Date(time_t now) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  struct tm tm;
  localtime_r(&now, &tm);
  long off = tm.tm_gmtoff / 60;
  char sign = off < 0 ? '-' : '+';
  if (off < 0) off = -off;
  return fmt::format("{}, {} {} {} {:02d}:{:02d}:{:02d} {}{:02d}{:02d}", kDays[tm.tm_wday], tm.tm_mday,
                     kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec, sign, off / 60,
                     off % 60);
}

bool IsSpace(char c) { return c == ' ' || c == '\t'; }

SmtpEnvelopeSyntax EnvelopeSyntaxOf(const SmtpConfig& c) {
  return c.strict_envelope_syntax ? SmtpEnvelopeSyntax::kStrict : SmtpEnvelopeSyntax::kLenient;
}

}  // namespace

SmtpSession::SmtpSession(const SmtpContext& ctx, Io* io, std::string id)
    : ctx_(ctx),
      cfg_(ctx.config->smtp),
      io_(io),
      id_(std::move(id)),
      framer_(ctx.config->smtp.max_line_length,
              ctx.config->smtp.bare_newline == BareNewlinePolicy::kNormalize) {}

SmtpSession::~SmtpSession() {
  // A delivery not committed has nothing to keep; Abort removes its tmp/
  // file. (A committed one must have finished: the owner waits for it.)
  if (delivery_ && state_ != SmtpState::kDelivering) delivery_->Abort();
}

// ---------------------------------------------------------------------------
// Events from the transport

void SmtpSession::Start(std::string peer) {
  peer_ = std::move(peer);
  peer_ip_ = PeerIp(peer_);
  ctx_.log->Info(id_, "connect from {}", peer_);
  if (GlobalLiveHooks().tracer) trace_.Open("smtp", id_, peer_, io_->LocalAddress(), SmtpStateName(state_));
  if (!FaultAtConnect()) Greet();
}

void SmtpSession::Greet() {
  if (cfg_.greeting_delay_ms > 0) {
    io_->SetTimeout(cfg_.greeting_delay_ms);  // OnTimeout in NEW greets
    return;
  }
  // No delay, no early-talker test (Postfix's smtpd): input that raced the
  // greeting, as `printf 'HELO me\r\nQUIT\r\n' | nc` sends it, is read
  // and answered after the 220 like any pipelined command.
  if (io_->InputPending()) ctx_.log->Debug(id_, "{}: input queued before the greeting", peer_);
  SendGreeting();
}

void SmtpSession::Refuse(std::string peer) {
  peer_ = std::move(peer);
  CloseWith(SmtpReplyId::kTooManyConnections);
}

void SmtpSession::OnRead(const char* data, size_t len) {
  retired_delivery_.reset();  // safe here: no store callback is on the stack
  if (closed_ || state_ == SmtpState::kClosing) return;
  if (state_ == SmtpState::kNew) {
    ctx_.log->Info(id_, "early talker {}: {} octets before the greeting", peer_, len);
    CloseWith(SmtpReplyId::kEarlyTalker);
    return;
  }
  const SmtpState state_before = state_;
  const uint64_t commands_before = commands_;
  if (state_ == SmtpState::kData) {
    FeedBody(data, len);
  } else {
    framer_.Feed(data, len);
  }
  ProcessInput();
  // Between commands only a complete command line restarts the idle timer:
  // a client trickling a byte at a time (slowloris) is cut off after
  // command_timeout_s like an idle one. DATA restarts it on every chunk.
  bool partial_command_only =
      IsCommandState(state_) && state_ == state_before && commands_ == commands_before;
  if (!partial_command_only) RefreshTimer();
  UpdateReading();
}

void SmtpSession::OnTimeout() {
  switch (state_) {
    case SmtpState::kNew:
      SendGreeting();
      return;
    case SmtpState::kClosing:
      io_->Close();  // the final reply could not be delivered in time
      return;
    case SmtpState::kDelivering:
      return;  // the timer is stopped while the store works
    case SmtpState::kData:
      if (uv_now(ctx_.loop) >= data_deadline_) {
        ctx_.log->Info(id_, "DATA from {} not complete after {} s ({} octets received)", peer_,
                       cfg_.data_total_timeout_s, decoder_->size());
      } else {
        ctx_.log->Info(id_, "timeout after DATA from {} ({} octets received)", peer_, decoder_->size());
      }
      AbortDelivery();
      CloseWith(SmtpReplyId::kTimeout);
      return;
    default:
      ctx_.log->Info(id_, "timeout in {} from {}", SmtpStateName(state_), peer_);
      CloseWith(SmtpReplyId::kTimeout);
      return;
  }
}

void SmtpSession::OnWritable() {
  if (!output_paused_ || closed_) return;
  output_paused_ = false;
  ProcessInput();
  UpdateReading();
}

void SmtpSession::OnClosed() {
  if (closed_) return;
  closed_ = true;
  if (state_ == SmtpState::kData) {
    ctx_.log->Info(id_, "lost connection after DATA ({} octets received)", decoder_->size());
    AbortDelivery();
  }
  ctx_.log->Info(id_, "disconnect from {} commands={} errors={} messages={}{}", peer_, commands_, errors_,
                 messages_, state_ == SmtpState::kDelivering ? " (commit still in flight)" : "");
  if (state_ != SmtpState::kDelivering) EnterState(SmtpState::kClosing);
  trace_.Close();
}

void SmtpSession::Shutdown() {
  shutting_down_ = true;
  if (closed_ || state_ == SmtpState::kClosing) return;
  if (state_ == SmtpState::kNew || IsCommandState(state_)) CloseWith(SmtpReplyId::kShuttingDown);
  // DATA / DELIVERING: EndTransaction() sends the 421 after the data reply.
}

void SmtpSession::ShutdownNow() {
  shutting_down_ = true;
  if (fault_paused_ && state_ == SmtpState::kDelivering) return CommitAfterFaultDelay();  // cut short
  if (closed_) return;
  if (state_ == SmtpState::kDelivering) return;  // the store finishes; OnCommitted replies
  if (state_ == SmtpState::kData) {
    ctx_.log->Info(id_, "shutdown grace over: dropping DATA from {} ({} octets received)", peer_,
                   decoder_->size());
    AbortDelivery();
    CloseWith(SmtpReplyId::kShuttingDown);
  } else if (state_ != SmtpState::kClosing) {
    CloseWith(SmtpReplyId::kShuttingDown);
  }
  if (io_->WriteBacklog() > 0) io_->Close();  // a peer that does not read gets no more time
}

// ---------------------------------------------------------------------------
// Dispatch

void SmtpSession::ProcessInput() {
  LineFramer::Event ev;
  while (IsCommandState(state_) && !closed_ && !fault_paused_) {
    // 1. Error limit (checked before waiting for more, like Postfix).
    if (errors_ >= cfg_.max_errors) {
      ctx_.log->Info(id_, "too many errors from {} ({})", peer_, errors_);
      CloseWith(SmtpReplyId::kTooManyErrors);
      return;
    }
    if (output_paused_) return;
    if (io_->WriteBacklog() > kMaxOutputBacklog) {
      output_paused_ = true;  // OnWritable resumes
      UpdateReading();
      return;
    }
    if (!framer_.Next(&ev)) return;
    DispatchLine(ev);
  }
}

void SmtpSession::DispatchLine(const LineFramer::Event& ev) {
  if (!fault_replay_) ++commands_;
  if (trace_.on() && !fault_replay_) {
    trace_.Command(ev.kind == LineFramer::Kind::kLine       ? std::string_view(ev.line)
                   : ev.kind == LineFramer::Kind::kTooLong ? std::string_view("<line too long>")
                                                            : std::string_view("<bare LF/CR>"));
  }
  // 2. Line too long: the framer already skips to the end of that line.
  if (ev.kind == LineFramer::Kind::kTooLong) {
    reply_log_.clear();
    Reply(SmtpReplyId::kLineTooLong);
    ctx_.log->Debug(id_, "{} line too long -> {}", peer_, reply_log_);
    return;
  }
  // 3. Bare LF / CR: the stream cannot be trusted to stay in sync.
  if (ev.kind == LineFramer::Kind::kBareNewline) {
    ctx_.log->Info(id_, "bare LF/CR in a command from {}", peer_);
    CloseWith(SmtpReplyId::kBareNewline);
    return;
  }
  // 4. Tokenise: VERB [SP arg]; trailing blanks are tolerated.
  std::string_view line = ev.line;
  while (!line.empty() && IsSpace(line.back())) line.remove_suffix(1);
  SmtpCommandArgs args;
  size_t sp = line.find(' ');
  args.verb = line.substr(0, sp);
  if (sp != std::string_view::npos) {
    args.arg = line.substr(sp + 1);
    while (!args.arg.empty() && args.arg.front() == ' ') args.arg.remove_prefix(1);
  }
  for (size_t i = 0; i < args.arg.size();) {
    size_t end = args.arg.find(' ', i);
    if (end == std::string_view::npos) end = args.arg.size();
    if (end > i) args.words.push_back(args.arg.substr(i, end - i));
    i = end + 1;
  }
  reply_log_.clear();
  if (args.verb.empty()) {
    Reply(SmtpReplyId::kEmptyCommand);
    ctx_.log->Debug(id_, "{} empty command -> {}", peer_, reply_log_);
    return;
  }
  // 5. Lookup, 6. unknown. The verb of an unknown command is not logged:
  // it may be message text from a client that ignored a DATA refusal.
  const SmtpCommand* cmd = FindSmtpCommand(args.verb);
  if (!cmd) {
    Reply(SmtpReplyId::kUnknownCommand);
    ctx_.log->Debug(id_, "{} unknown command ({} octets) -> {}", peer_, line.size(), reply_log_);
    return;
  }
  // 7. State.
  if (!(cmd->states & StateBit(state_))) {
    Reply(BadSequenceReply(*cmd));
    ctx_.log->Debug(id_, "{} {} in {} -> {}", peer_, cmd->name, SmtpStateName(state_), reply_log_);
    return;
  }
  // 8. Arity.
  if (args.words.size() < cmd->min_args || (cmd->max_args != kAnyArgs && args.words.size() > cmd->max_args)) {
    Reply(SmtpReplyId::kSyntax, cmd->usage);
    ctx_.log->Debug(id_, "{} {} with {} arguments -> {}", peer_, cmd->name, args.words.size(), reply_log_);
    return;
  }
  args.usage = cmd->usage;
  // 9. Check, 10. proceed. Only envelope commands have their arguments
  // logged (addresses, HELO names), always through LogSafe.
  bool log_arg = cmd->name == "MAIL" || cmd->name == "RCPT" || cmd->name == "HELO" || cmd->name == "EHLO";
  std::string logged = log_arg ? LogSafe(args.arg) : std::string();
  if ((this->*cmd->check)(args) && !FaultAtCommand(*cmd, args, line)) (this->*cmd->proceed)(args);
  ctx_.log->Debug(id_, "{} {}{}{} -> {}", peer_, cmd->name, logged.empty() ? "" : " ", logged, reply_log_);
}

SmtpReplyId SmtpSession::BadSequenceReply(const SmtpCommand& cmd) const {
  bool needs_greeting = cmd.name == "MAIL" || cmd.name == "RCPT" || cmd.name == "DATA";
  if (state_ == SmtpState::kConnected && needs_greeting) return SmtpReplyId::kNeedHelo;
  if (cmd.name == "MAIL") return SmtpReplyId::kNestedMail;
  if (state_ == SmtpState::kGreeted && (cmd.name == "RCPT" || cmd.name == "DATA")) return SmtpReplyId::kNeedMail;
  if (state_ == SmtpState::kMail && cmd.name == "DATA") return SmtpReplyId::kNeedRcpt;
  return SmtpReplyId::kBadSequence;
}

// ---------------------------------------------------------------------------
// Checks

bool SmtpSession::CheckNothing(SmtpCommandArgs&) { return true; }

bool SmtpSession::CheckHelo(SmtpCommandArgs& args) {
  if (IsValidHeloName(args.arg)) return true;
  Reply(SmtpReplyId::kBadHelo);
  return false;
}

bool SmtpSession::ReplyArgError(SmtpArgError e, const SmtpCommandArgs& args) {
  switch (e) {
    case SmtpArgError::kOk:
      return true;
    case SmtpArgError::kSyntax:
      Reply(SmtpReplyId::kSyntax, args.usage);
      return false;
    case SmtpArgError::kBadAddress:
      Reply(SmtpReplyId::kBadAddress);
      return false;
    case SmtpArgError::kPathTooLong:
      Reply(SmtpReplyId::kPathTooLong);
      return false;
    case SmtpArgError::kBadParameter:
      Reply(SmtpReplyId::kBadParameter);
      return false;
    case SmtpArgError::kUnknownParameter:
      Reply(SmtpReplyId::kUnknownParameter);
      return false;
  }
  return false;
}

bool SmtpSession::CheckMail(SmtpCommandArgs& args) {
  if (!ReplyArgError(ParseMailArgs(args.arg, esmtp_, EnvelopeSyntaxOf(cfg_), &args.mail), args)) return false;
  // RFC 1870: refuse a declared size we would refuse anyway, before DATA.
  if (args.mail.size && *args.mail.size > cfg_.max_message_size) {
    Reply(SmtpReplyId::kMessageTooBig);
    return false;
  }
  return true;
}

bool SmtpSession::CheckRcpt(SmtpCommandArgs& args) {
  if (!ReplyArgError(ParseRcptArgs(args.arg, esmtp_, EnvelopeSyntaxOf(cfg_), &args.rcpt), args)) return false;
  if (recipients_.size() >= cfg_.max_recipients) {
    Reply(SmtpReplyId::kTooManyRecipients);
    return false;
  }
  const Config& config = *ctx_.config;
  if (!args.rcpt.postmaster && !config.local_domains.count(AsciiLower(args.rcpt.recipient.domain))) {
    // relay.enabled and the client in relay.networks: queue it for the
    // next hop (docs/RELAY.md); everyone else: 550 5.7.1 as always.
    if (ctx_.relay && ctx_.relay->MayRelay(peer_ip_)) {
      args.relay = true;
      return true;
    }
    Reply(SmtpReplyId::kRelayDenied);
    return false;
  }
  // Users and aliases are the only names that map to a directory, and each
  // is re-checked as a mailbox name: "../x", "a/b", "%2e%2e" never resolve.
  args.mailboxes = config.ResolveLocal(args.rcpt.recipient.local);
  bool ok = !args.mailboxes.empty() &&
            std::all_of(args.mailboxes.begin(), args.mailboxes.end(), IsValidMailboxName);
  if (!ok) {
    Reply(SmtpReplyId::kUnknownUser);
    return false;
  }
  return true;
}

// ---------------------------------------------------------------------------
// Proceeds

void SmtpSession::ProceedHelo(SmtpCommandArgs& args) {
  ResetTransaction();
  esmtp_ = false;
  helo_ = std::string(args.arg);
  Reply(SmtpReplyId::kHelo, hostname());
  EnterState(SmtpState::kGreeted);
}

void SmtpSession::ProceedEhlo(SmtpCommandArgs& args) {
  ResetTransaction();
  esmtp_ = true;
  helo_ = std::string(args.arg);
  // RFC 2034: the EHLO reply itself carries no enhanced codes.
  std::string text = fmt::format("250-{}\r\n250-SIZE {}\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n",
                                 hostname(), cfg_.max_message_size);
  trace_.Reply(text);
  io_->Write(text);
  BumpCode(GlobalMetrics().smtp_replies, 250);
  reply_log_ += reply_log_.empty() ? "250" : " 250";
  EnterState(SmtpState::kGreeted);
}

void SmtpSession::ProceedMail(SmtpCommandArgs& args) {
  sender_ = args.mail.null_sender ? std::string() : args.mail.sender.text;
  Reply(SmtpReplyId::kSenderOk);
  EnterState(SmtpState::kMail);
}

void SmtpSession::ProceedRcpt(SmtpCommandArgs& args) {
  recipients_.push_back(args.rcpt.recipient.text);
  if (args.relay) {
    const std::string& r = args.rcpt.recipient.text;
    if (std::find(relay_rcpts_.begin(), relay_rcpts_.end(), r) == relay_rcpts_.end()) relay_rcpts_.push_back(r);
  }
  for (std::string& m : args.mailboxes) {
    if (std::find(mailboxes_.begin(), mailboxes_.end(), m) == mailboxes_.end()) mailboxes_.push_back(std::move(m));
  }
  Reply(SmtpReplyId::kRecipientOk);
  EnterState(SmtpState::kRcpt);
}

void SmtpSession::ProceedData(SmtpCommandArgs&) {
  Reply(SmtpReplyId::kStartData);
  data_deadline_ = uv_now(ctx_.loop) + uint64_t{cfg_.data_total_timeout_s} * 1000;
  EnterState(SmtpState::kData);
  BeginBody();
  // A client may have sent body bytes right behind DATA; they are body, not
  // commands. (args' views die here: TakeBuffered empties the framer.)
  std::string early = framer_.TakeBuffered();
  if (!early.empty()) FeedBody(early.data(), early.size());
}

void SmtpSession::ProceedRset(SmtpCommandArgs&) {
  ResetTransaction();
  Reply(SmtpReplyId::kOk);
  if (state_ != SmtpState::kConnected) EnterState(SmtpState::kGreeted);
}

void SmtpSession::ProceedNoop(SmtpCommandArgs&) { Reply(SmtpReplyId::kOk); }

void SmtpSession::ProceedQuit(SmtpCommandArgs&) {
  ResetTransaction();
  Reply(SmtpReplyId::kBye);
  io_->CloseAfterWrite();
  EnterState(SmtpState::kClosing);
}

void SmtpSession::ProceedHelp(SmtpCommandArgs&) { Reply(SmtpReplyId::kHelp); }

// RFC 5321 §3.5.3: 252 when we will not disclose whether a user exists.
void SmtpSession::ProceedVrfy(SmtpCommandArgs&) { Reply(SmtpReplyId::kCannotVrfy); }

void SmtpSession::ProceedExpn(SmtpCommandArgs&) { Reply(SmtpReplyId::kNotImplemented); }

// ---------------------------------------------------------------------------
// Message body

void SmtpSession::BeginBody() {
  decoder_.emplace(cfg_.max_message_size, cfg_.max_text_line_length,
                   cfg_.bare_newline == BareNewlinePolicy::kNormalize ? BareNewline::kNormalize
                                                                       : BareNewline::kReject);
  relaying_ = !relay_rcpts_.empty();
  if (relaying_) relay_id_ = RelayQueue::NewId();
  if (mailboxes_.empty()) {  // only relayed recipients
    relay_body_ = TraceHeaders(relay_id_);
    return;
  }
  delivery_ = std::make_unique<MaildirDelivery>(ctx_.loop, ctx_.store);
  delivery_->Begin(mailboxes_);
  delivery_->AppendHeader(TraceHeaders(delivery_->id()));
  if (relaying_) relay_body_ = TraceHeaders(delivery_->id());
  delivery_->SetOnDrained([this] {
    if (!spill_paused_) return;
    spill_paused_ = false;
    if (state_ != SmtpState::kData) return;
    RefreshTimer();
    UpdateReading();
  });
}

void SmtpSession::FeedBody(const char* data, size_t len) {
  size_t used = decoder_->Feed(data, len, &chunk_);
  bool refused = decoder_->bare_newline() || decoder_->line_too_long() || decoder_->too_large();
  if (refused) {
    AbortDelivery();  // nothing of a refused message is kept; read on to the end
  } else if (!chunk_.empty()) {
    if (delivery_) delivery_->Append(chunk_.data(), chunk_.size());
    if (relaying_) relay_body_.append(chunk_);
  }
  chunk_.clear();
  if (decoder_->done()) {
    if (used < len) framer_.Feed(data + used, len - used);  // pipelined commands
    FinishBody();
    return;
  }
  if (delivery_ && delivery_->backlog() > MaildirDelivery::kSpillThreshold && !spill_paused_) {
    spill_paused_ = true;  // the store's drained callback resumes
    UpdateReading();
    io_->SetTimeout(0);  // it is us who are not reading
  }
}

void SmtpSession::FinishBody() {
  spill_paused_ = false;  // the body is complete; DELIVERING keeps reading paused
  trace_.Data(decoder_->size());
  // One reply per message; the smuggling defence wins over size problems.
  if (decoder_->bare_newline()) {
    RejectBody(SmtpReplyId::kBareNewline, "bare LF/CR in message data");
  } else if (decoder_->too_large()) {
    RejectBody(SmtpReplyId::kMessageTooBig, "message too large");
  } else if (decoder_->line_too_long()) {
    RejectBody(SmtpReplyId::kTextLineTooLong, "text line too long");
  } else if (!FaultAtDot()) {
    EnterState(SmtpState::kDelivering);
    commit_started_ns_ = uv_hrtime();  // clock_gettime through the vDSO: no syscall
    CommitAll();
  }
}

void SmtpSession::CommitAll() {
  commit_status_ = Status::Ok();
  commit_id_.clear();
  commits_pending_ = (delivery_ ? 1 : 0) + (relaying_ ? 1 : 0);
  if (delivery_) {
    delivery_->Commit([this](Status status, const std::string& id) { OnPartCommitted(status, id); });
  }
  if (relaying_) {
    std::string id = relay_id_;
    ctx_.relay->Enqueue(relay_id_, sender_, relay_rcpts_, std::move(relay_body_),
                        [this, id](Status status) { OnPartCommitted(status, id); });
    relay_body_.clear();
  }
}

// Both parts must be safe before the 250: a failed part makes it a 451
// (a local copy already made stays: a duplicate on retry, never a loss).
void SmtpSession::OnPartCommitted(const Status& status, const std::string& queue_id) {
  if (!status.ok() && commit_status_.ok()) commit_status_ = status;
  if (commit_id_.empty()) commit_id_ = queue_id;
  if (--commits_pending_ > 0) return;
  OnCommitted(commit_status_, commit_id_);
}

void SmtpSession::RejectBody(SmtpReplyId reply, std::string_view why) {
  AbortDelivery();
  ctx_.log->Info(id_, "message refused from {}: {} ({} octets)", peer_, why, decoder_->size());
  BumpCode(GlobalMetrics().smtp_data_outcomes, SmtpReplyOf(reply).code);
  Reply(reply);
  EndTransaction();
}

void SmtpSession::OnCommitted(const Status& status, const std::string& queue_id) {
  Metrics& metrics = GlobalMetrics();
  ObserveCommitLatency(metrics, uv_hrtime() - commit_started_ns_);
  BumpCode(metrics.smtp_data_outcomes, SmtpReplyOf(status.ok() ? SmtpReplyId::kQueued : SmtpReplyId::kStoreFailed).code);
  if (status.ok()) {
    metrics.smtp_octets_accepted.fetch_add(decoder_->size(), std::memory_order_relaxed);
    ++messages_;
    Bump(GlobalMetrics().smtp_messages);
    errors_ = 0;  // like Postfix: the error limit counts errors since the last delivery
    ctx_.log->Info(id_, "queued as {} from=<{}> nrcpt={} size={} mailboxes={}{}{}", queue_id, LogSafe(sender_),
                   recipients_.size(), decoder_->size(), mailboxes_.size(),
                   relaying_ ? fmt::format(" relay={} relayed={}", relay_id_, relay_rcpts_.size()) : "",
                   decoder_->bare_lf_lines() ? fmt::format(" bare_lf_lines={}", decoder_->bare_lf_lines()) : "");
    Reply(SmtpReplyId::kQueued, queue_id);
    // After the 250 is written: the HTTP side learns of the message now,
    // not when inotify reports it (no syscall here).
    if (DeliveryObserver* o = GlobalLiveHooks().delivery; o && delivery_) {  // not for relayed-only mail
      o->OnDelivered({mailboxes_, delivery_->final_name(), sender_, recipients_, decoder_->size()});
    }
  } else {
    ctx_.log->Error(id_, "store failed for message from {}: {}", peer_, status.ToString());
    Reply(SmtpReplyId::kStoreFailed);
  }
  retired_delivery_ = std::move(delivery_);  // not destroyed inside its own callback
  if (closed_) {
    ResetTransaction();
    EnterState(SmtpState::kClosing);
    io_->Finished();  // the owner may free us on a later loop turn
    return;
  }
  EndTransaction();
  ProcessInput();  // pipelined commands that arrived behind the body
  RefreshTimer();
  UpdateReading();
}

void SmtpSession::AbortDelivery() {
  relaying_ = false;  // nothing of a refused message is queued either
  relay_body_.clear();
  relay_body_.shrink_to_fit();
  if (!delivery_) return;
  delivery_->Abort();
  delivery_.reset();
  spill_paused_ = false;
}

std::string SmtpSession::TraceHeaders(const std::string& queue_id) const {
  // RFC 5321 §4.4 trace fields, in the storage form (LF line ends, as the
  // body from the DataDecoder). TCP-info is an address-literal; "for" only
  // with a single recipient so that one copy does not reveal the others.
  std::string ip_literal = peer_ip_.find(':') != std::string::npos ? "IPv6:" + peer_ip_ : peer_ip_;
  std::string out = fmt::format("Return-Path: <{}>\nReceived: from {} ([{}])\n\tby {} (mailnest) with {} id {}",
                                sender_, helo_, ip_literal, hostname(), esmtp_ ? "ESMTP" : "SMTP", queue_id);
  std::string date = Rfc5322Date(time(nullptr));
  if (recipients_.size() == 1) {
    out += fmt::format("\n\tfor <{}>; {}\n", recipients_.front(), date);
  } else {
    out += fmt::format(";\n\t{}\n", date);
  }
  return out;
}

// ---------------------------------------------------------------------------
// State, replies, flow control

void SmtpSession::EnterState(SmtpState next) {
  if (next == state_) return;
  ctx_.log->Debug(id_, "state {} -> {}", SmtpStateName(state_), SmtpStateName(next));
  state_ = next;
  trace_.State(SmtpStateName(next));
  RefreshTimer();
  UpdateReading();
}

void SmtpSession::ResetTransaction() {
  AbortDelivery();
  decoder_.reset();
  spill_paused_ = false;
  sender_.clear();
  recipients_.clear();
  mailboxes_.clear();
  relay_rcpts_.clear();
  relaying_ = false;
  relay_body_.clear();
  relay_body_.shrink_to_fit();
}

void SmtpSession::EndTransaction() {
  ResetTransaction();
  EnterState(SmtpState::kGreeted);
  if (shutting_down_) CloseWith(SmtpReplyId::kShuttingDown);
}

void SmtpSession::SendGreeting() {
  reply_log_.clear();
  Reply(SmtpReplyId::kGreeting, hostname());
  ctx_.log->Debug(id_, "{} greeting -> {}", peer_, reply_log_);
  EnterState(SmtpState::kConnected);
}

void SmtpSession::Reply(SmtpReplyId id, std::string_view detail) {
  const SmtpReplySpec& spec = SmtpReplyOf(id);
  // Every refusal counts towards max_errors except 452 (RFC 5321
  // §4.5.3.1.10: a client is expected to send the rest of its recipients
  // later; Postfix likewise exempts recipient overshoot) and 421 (we close).
  if (spec.code >= 400 && spec.code != 421 && id != SmtpReplyId::kTooManyRecipients) ++errors_;
  if (!reply_log_.empty()) reply_log_ += ' ';
  reply_log_ += fmt::format("{}{}{}", spec.code, spec.enhanced.empty() ? "" : " ", spec.enhanced);
  if (closed_) return;
  BumpCode(GlobalMetrics().smtp_replies, spec.code);
  std::string text = FormatSmtpReply(id, detail);
  trace_.Reply(text);
  io_->Write(text);
}

void SmtpSession::CloseWith(SmtpReplyId id) {
  reply_log_.clear();
  Reply(id, hostname());
  ctx_.log->Info(id_, "closing {}: {}", peer_, reply_log_);
  io_->CloseAfterWrite();
  EnterState(SmtpState::kClosing);
}

void SmtpSession::RefreshTimer() {
  if (closed_) return;
  if (fault_paused_) {
    io_->SetTimeout(0);  // it is us who are waiting
  } else if (IsCommandState(state_)) {
    io_->SetTimeout(uint64_t{cfg_.command_timeout_s} * 1000);
  } else if (state_ == SmtpState::kData) {
    // data_timeout_s since the last chunk, but never past the whole-body
    // deadline (not enforced while the store, not the peer, is behind).
    uint64_t now = uv_now(ctx_.loop);
    uint64_t left = data_deadline_ > now ? data_deadline_ - now : 1;
    io_->SetTimeout(spill_paused_ ? 0 : std::min<uint64_t>(uint64_t{cfg_.data_timeout_s} * 1000, left));
  } else if (state_ == SmtpState::kDelivering) {
    io_->SetTimeout(0);
  } else if (state_ == SmtpState::kClosing) {
    // Bounds how long a peer that does not read can keep the final reply
    // (and with it the connection) pending.
    io_->SetTimeout(uint64_t{cfg_.command_timeout_s} * 1000);
  }
  // kNew: the greeting timer set in Start() keeps running.
}

void SmtpSession::UpdateReading() {
  if (closed_) return;
  bool want = (state_ == SmtpState::kNew || IsCommandState(state_) || state_ == SmtpState::kData) &&
              !output_paused_ && !spill_paused_ && !fault_paused_;
  if (want == reading_) return;
  reading_ = want;
  if (want) {
    io_->ResumeReading();
  } else {
    io_->PauseReading();
  }
}

}  // namespace mailnest
