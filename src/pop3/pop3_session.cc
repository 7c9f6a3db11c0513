#include "pop3/pop3_session.h"
#include "base/metrics.h"

#include <string.h>

#include "base/fd_limit.h"
#include "net/address_name.h"
#include "pop3/login_guard.h"
#include "pop3/maildrop.h"
#include "pop3/message_reader.h"
#include "pop3/one_shot_timer.h"
#include "pop3/password_checker.h"
#include "pop3/top_filter.h"

namespace mailnest {

namespace {

// RETR/TOP read size per pool job; the next chunk is read only once the
// socket has taken the previous one (write backlog below this), so a
// streaming session holds about two chunks whatever the message size.
constexpr size_t kChunk = 64 * 1024;

constexpr size_t kKeepOutCapacity = 4096;

constexpr std::string_view kGreeting = "mailnest POP3 server ready";
constexpr std::string_view kAuthFailed = "[AUTH] invalid user or password";

// RFC 2449 capabilities. AUTH-RESP-CODE (RFC 3206) because [AUTH] and
// [SYS/...] codes are sent; no SASL and no APOP are offered.
constexpr std::string_view kCapabilities =
    "TOP\r\n"
    "UIDL\r\n"
    "USER\r\n"
    "RESP-CODES\r\n"
    "AUTH-RESP-CODE\r\n"
    "PIPELINING\r\n"
    "EXPIRE NEVER\r\n"
    "IMPLEMENTATION mailnest\r\n"
    ".\r\n";

}  // namespace

Pop3Session::Pop3Session(Context* ctx, uint64_t id)
    : ctx_(ctx),
      cfg_(ctx->config->pop3),
      sid_(fmt::format("p{}", id)),
      conn_(ctx->loop, this),
      framer_(ctx->config->pop3.max_line_length,
              ctx->config->pop3.bare_newline == BareNewlinePolicy::kNormalize) {}

Pop3Session::~Pop3Session() = default;

void Pop3Session::Start(uv_stream_t* server, bool reject) {
  if (conn_.Accept(server) != 0) return;  // closes itself; OnClosed follows
  bool near_fd_limit = !reject && NearFdLimit(conn_.fd());
  if (reject || near_fd_limit) {
    if (near_fd_limit) {
      Log(LogLevel::kWarn, "connect refused: descriptor limit nearly reached");
    } else {
      Log(LogLevel::kWarn, "connect refused: max_connections ({}) reached", cfg_.max_connections);
    }
    ReplyErr("[SYS/TEMP] too many connections, try again later");
    CloseAfterReply();
    FlushOut();
    return;
  }
  address_ = PeerAddress(conn_.peer());
  Log(LogLevel::kInfo, "connect");
  if (GlobalLiveHooks().tracer) trace_.Open("pop3", sid_, conn_.peer(), conn_.LocalName(), Pop3StateName(state_));
  conn_.SetTimeout(uint64_t{cfg_.autologout_timeout_s} * 1000);
  ReplyOk(kGreeting);
  FlushOut();
}

// ---------------------------------------------------------------- input

void Pop3Session::OnRead(const char* data, size_t len) {
  framer_.Feed(data, len);
  Pump();
}

// Dispatches buffered lines until one starts something asynchronous, the
// session ends, input runs out or the replies are over the connection's
// backlog limit (the peer is not reading: OnWritable() pumps again); then
// sends the batch of replies.
void Pop3Session::Pump() {
  pumping_ = true;
  bool held = false;
  do {
    LineFramer::Event ev;
    while (!busy_ && !ending_ && !OutputBlocked() && framer_.Next(&ev)) {
      conn_.SetTimeout(uint64_t{cfg_.autologout_timeout_s} * 1000);
      switch (ev.kind) {
        case LineFramer::Kind::kLine:
          trace_.Command(ev.line);
          Dispatch(ev.line);
          break;
        case LineFramer::Kind::kTooLong:
          trace_.Command("<line too long>");
          Log(LogLevel::kDebug, "line too long (max {} octets)", cfg_.max_line_length);
          BadCommand("line too long");
          break;
        case LineFramer::Kind::kBareNewline:
          trace_.Command("<bare LF/CR>");
          // RFC 1939 lines end in CRLF; the framer cannot resync after this.
          Log(LogLevel::kInfo, "bare CR or LF in command line");
          ReplyErr("line must end with CRLF");
          CloseAfterReply();
          break;
      }
    }
    held = !busy_ && !ending_ && OutputBlocked();
    FlushOut();
    // The socket may have taken the whole batch at once: go on.
  } while (held && !closed_ && !conn_.closing() && !conn_.write_blocked());
  input_held_ = held;
  pumping_ = false;
  if (busy_ || ending_) {
    conn_.PauseReading();
  } else {
    conn_.ResumeReading();
  }
}

// The one dispatch prelude, in a fixed order: tokenise → lookup → state →
// argument count/length → message number → line count → handler.
void Pop3Session::Dispatch(std::string_view line) {
  Pop3Line pl = SplitPop3Line(line);
  const Pop3Command* cmd = FindPop3Command(pl.verb);
  LogCommand(cmd, pl.verb, pl);
  if (!cmd) return BadCommand("unknown command");
  if (!(cmd->states & state_)) return BadCommand("command not valid in this state");

  Pop3Args args;
  if (cmd->kind == Pop3ArgKind::kRest) {
    if (pl.rest.empty() && cmd->min_args > 0) return BadCommand("missing argument");
    args.rest = pl.rest;
  } else {
    if (pl.too_many || pl.count < cmd->min_args || pl.count > cmd->max_args) {
      return BadCommand("wrong number of arguments");
    }
    for (size_t i = 0; i < pl.count; ++i) {
      if (pl.words[i].size() > kMaxArgLength) return BadCommand("argument too long");
      args.words[i] = pl.words[i];
    }
    args.count = pl.count;
  }
  if ((cmd->kind == Pop3ArgKind::kMessage || cmd->kind == Pop3ArgKind::kMessageLines) &&
      args.count >= 1 && !CheckMessageNumber(args.words[0], &args.index)) {
    return;  // CheckMessageNumber replied
  }
  if (cmd->kind == Pop3ArgKind::kMessageLines && !ParsePop3Number(args.words[1], &args.lines)) {
    return BadCommand("line count must be a non-negative number");
  }
  (this->*cmd->handler)(args);
}

bool Pop3Session::CheckMessageNumber(std::string_view word, size_t* index) {
  uint64_t n = 0;
  if (!ParsePop3Number(word, &n) || n == 0 || n > maildrop_->size()) {
    BadCommand("no such message");
    return false;
  }
  *index = static_cast<size_t>(n - 1);
  if (maildrop_->message(*index).deleted) {
    BadCommand(fmt::format("message {} already deleted", n));
    return false;
  }
  return true;
}

void Pop3Session::LogCommand(const Pop3Command* cmd, std::string_view verb, const Pop3Line& line) {
  if (LogLevel::kDebug < ctx_->log_level) return;
  if (!cmd) {
    // Only the verb: an unknown line could be anything (a password typed
    // into the wrong prompt), so its arguments are never logged.
    Log(LogLevel::kDebug, "command {} (unknown)", LogSafe(verb, 16));
  } else if (cmd->kind == Pop3ArgKind::kRest) {
    Log(LogLevel::kDebug, "command {} ****", cmd->verb);  // PASS: never the password
  } else {
    std::string args;
    for (size_t i = 0; i < line.count; ++i) fmt::format_to(std::back_inserter(args), " {}", LogSafe(line.words[i], 64));
    Log(LogLevel::kDebug, "command {}{}", cmd->verb, args);
  }
}

// ---------------------------------------------------------------- replies

void Pop3Session::ReplyOk(std::string_view text) {
  Log(LogLevel::kDebug, "reply +OK {}", text);
  if (trace_.on()) trace_.Reply(text.empty() ? std::string("+OK") : fmt::format("+OK {}", text));
  out_ += "+OK";
  if (!text.empty()) {
    out_ += ' ';
    out_ += text;
  }
  out_ += "\r\n";
}

void Pop3Session::ReplyErr(std::string_view text) {
  Log(LogLevel::kDebug, "reply -ERR {}", text);
  if (trace_.on()) trace_.Reply(fmt::format("-ERR {}", text));
  out_ += "-ERR ";
  out_ += text;
  out_ += "\r\n";
}

// A client error: replies, and at max_errors replaces the reply with a
// final one and closes (Postfix's error limit; RFC 1939 has none).
void Pop3Session::BadCommand(std::string_view text) {
  if (++errors_ >= cfg_.max_errors) {
    Log(LogLevel::kInfo, "too many errors ({}), closing", errors_);
    ReplyErr("too many errors, closing connection");
    CloseAfterReply();
    return;
  }
  ReplyErr(text);
}

bool Pop3Session::OutputBlocked() const {
  return conn_.write_blocked() || conn_.write_backlog() + out_.size() > Connection::kMaxWriteBacklog;
}

void Pop3Session::CloseAfterReply() {
  ending_ = true;
  close_after_reply_ = true;
}

void Pop3Session::FlushOut() {
  if (closed_) return;
  if (!out_.empty()) {
    // Write() copies, and may call OnWritable() re-entrantly, which only
    // starts a pool job and never appends to out_.
    conn_.Write(out_);
    out_.clear();
    // Keep a small buffer between replies, not a RETR chunk's worth for
    // every idle session.
    if (out_.capacity() > kKeepOutCapacity) std::string().swap(out_);
  }
  if (close_after_reply_) conn_.CloseAfterWrite();
}

void Pop3Session::EnterState(Pop3State next) {
  Log(LogLevel::kDebug, "state {} -> {}", Pop3StateName(state_), Pop3StateName(next));
  state_ = next;
  trace_.State(Pop3StateName(next));
}

void Pop3Session::Resume() {
  busy_ = false;
  if (closed_) return;
  Pump();
}

// ---------------------------------------------------------------- AUTHORIZATION

void Pop3Session::DoUser(const Pop3Args& args) {
  // Always +OK: whether the user exists is only told after PASS, with the
  // same words and timing either way.
  user_ = std::string(args.words[0]);
  user_log_ = LogSafe(user_, 64);
  ReplyOk("send PASS");
}

void Pop3Session::DoPass(const Pop3Args& args) {
  if (user_.empty()) return BadCommand("USER first");
  if (!ctx_->guard->Begin(address_)) {
    Log(LogLevel::kInfo, "login refused: max_logins_per_ip ({}) in progress from {}", cfg_.max_logins_per_ip,
        address_);
    user_.clear();
    user_log_ = "-";
    return BadCommand("[SYS/TEMP] too many logins from your address, try again later");
  }
  login_active_ = true;
  StartAuth(std::string(args.rest));
}

// Verifies on the password checker's own threads (crypt(3) is CPU- and
// memory-heavy by design; see pop3/password_checker.h).
void Pop3Session::StartAuth(std::string password) {
  std::string hash = ctx_->dummy_hash;  // unknown user: same cost, never a success
  bool known = false;
  auto it = ctx_->config->users.find(user_);
  if (it != ctx_->config->users.end() && !it->second.password_hash.empty()) {
    known = true;
    hash = it->second.password_hash;
  }
  bool queued = ctx_->checker->Submit(std::move(password), std::move(hash), [this, known](bool match) {
    --pending_ops_;
    if (closed_) return MaybeDelete();
    FinishAuth(known && match);
  });
  if (!queued) {
    Log(LogLevel::kWarn, "login refused: password_check_queue ({}) full", cfg_.password_check_queue);
    EndLogin();
    user_.clear();
    user_log_ = "-";
    ReplyErr("[SYS/TEMP] server busy, try again later");
    return;
  }
  ++pending_ops_;
  busy_ = true;
}

void Pop3Session::FinishAuth(bool ok) {
  if (ending_) {  // shutdown already answered
    EndLogin();
    return Resume();
  }
  if (ok) {
    Log(LogLevel::kInfo, "login ok");
    ctx_->guard->Succeeded(address_);
    EndLogin();
    OpenMaildrop();
    return;
  }
  Bump(GlobalMetrics().pop3_login_failures);
  uint64_t delay = ctx_->guard->Failed(address_);
  Log(LogLevel::kInfo, "login failed (next reply in {} ms)", delay);
  // The delay is a timer, not a sleep: the loop keeps serving others.
  if (!auth_delay_) auth_delay_ = std::make_unique<OneShotTimer>(ctx_->loop);
  auth_delay_->Start(delay, [this] { FailAuth(); });
}

void Pop3Session::EndLogin() {
  if (!login_active_) return;
  login_active_ = false;
  ctx_->guard->End(address_);
}

void Pop3Session::FailAuth() {
  EndLogin();
  user_.clear();
  user_log_ = "-";
  BadCommand(kAuthFailed);
  Resume();
}

void Pop3Session::OpenMaildrop() {
  MaildropOptions opts;
  opts.mail_root = ctx_->config->mail_root;
  opts.user = user_;
  opts.fsync = ctx_->config->store.fsync;
  opts.journal = ctx_->journal;
  maildrop_ = std::make_unique<Maildrop>(ctx_->loop, std::move(opts));
  maildrop_busy_ = true;
  ++pending_ops_;
  maildrop_->Open([this](Status s) {
    --pending_ops_;
    maildrop_busy_ = false;
    if (closed_) {
      maildrop_.reset();  // releases the lock, removes nothing
      return MaybeDelete();
    }
    if (ending_) return Resume();  // shutdown: OnClosed releases the lock
    if (s.ok()) {
      EnterState(kPop3Transaction);
      Bump(GlobalMetrics().pop3_logins);
      Log(LogLevel::kInfo, "maildrop open: {} messages, {} octets", maildrop_->live_count(),
          maildrop_->live_octets());
      if (maildrop_->unmoved() > 0) {
        Log(LogLevel::kWarn, "{} new messages could not be moved into cur/ and are served from new/: {}",
            maildrop_->unmoved(), maildrop_->unmoved_error());
      }
      ReplyOk(fmt::format("maildrop has {} messages ({} octets)", maildrop_->live_count(),
                          maildrop_->live_octets()));
    } else {
      maildrop_.reset();
      if (s.code() == Status::Code::kBusy) {
        Log(LogLevel::kInfo, "lock busy");
        ReplyErr("[IN-USE] mailbox locked by another session");
      } else {
        Log(LogLevel::kError, "cannot open maildrop: {}", s.message());
        ReplyErr("[SYS/TEMP] cannot open mailbox, try again later");
      }
      user_.clear();
      user_log_ = "-";
    }
    Resume();
  });
}

// ---------------------------------------------------------------- TRANSACTION

void Pop3Session::DoCapa(const Pop3Args&) {
  ReplyOk("capability list follows");
  out_ += kCapabilities;
}

void Pop3Session::DoStat(const Pop3Args&) {
  ReplyOk(fmt::format("{} {}", maildrop_->live_count(), maildrop_->live_octets()));
}

void Pop3Session::DoList(const Pop3Args& args) {
  if (args.count == 1) {
    return ReplyOk(fmt::format("{} {}", args.index + 1, maildrop_->message(args.index).size));
  }
  ReplyOk(fmt::format("{} messages ({} octets)", maildrop_->live_count(), maildrop_->live_octets()));
  auto it = std::back_inserter(out_);
  for (size_t i = 0; i < maildrop_->size(); ++i) {
    const MaildropMessage& m = maildrop_->message(i);
    if (!m.deleted) fmt::format_to(it, "{} {}\r\n", i + 1, m.size);
  }
  out_ += ".\r\n";
}

void Pop3Session::DoUidl(const Pop3Args& args) {
  if (args.count == 1) {
    return ReplyOk(fmt::format("{} {}", args.index + 1, maildrop_->message(args.index).uidl));
  }
  ReplyOk("unique-id listing follows");
  auto it = std::back_inserter(out_);
  for (size_t i = 0; i < maildrop_->size(); ++i) {
    const MaildropMessage& m = maildrop_->message(i);
    if (!m.deleted) fmt::format_to(it, "{} {}\r\n", i + 1, m.uidl);
  }
  out_ += ".\r\n";
}

void Pop3Session::DoDele(const Pop3Args& args) {
  maildrop_->MarkDeleted(args.index);
  Bump(GlobalMetrics().pop3_dele);
  ReplyOk(fmt::format("message {} deleted", args.index + 1));
}

void Pop3Session::DoRset(const Pop3Args&) {
  maildrop_->UnmarkAll();
  ReplyOk(fmt::format("maildrop has {} messages ({} octets)", maildrop_->live_count(),
                      maildrop_->live_octets()));
}

void Pop3Session::DoNoop(const Pop3Args&) { ReplyOk(""); }

void Pop3Session::DoRetr(const Pop3Args& args) {
  Bump(GlobalMetrics().pop3_retr);
  StartStream(args.index, std::nullopt);
}

void Pop3Session::DoTop(const Pop3Args& args) { StartStream(args.index, args.lines); }

// ---------------------------------------------------------------- QUIT / UPDATE

void Pop3Session::DoQuit(const Pop3Args&) {
  if (state_ == kPop3Authorization) {
    ReplyOk("mailnest POP3 server signing off");
    CloseAfterReply();
    return;
  }
  // Only here does a session enter UPDATE (RFC 1939 §6).
  EnterState(kPop3Update);
  busy_ = true;
  maildrop_busy_ = true;
  ++pending_ops_;
  maildrop_->Commit([this](Status s, size_t removed) {
    --pending_ops_;
    maildrop_busy_ = false;
    maildrop_.reset();
    Log(s.ok() ? LogLevel::kInfo : LogLevel::kError, "update: {} messages removed{}{}", removed,
        s.ok() ? "" : ": ", s.ok() ? "" : s.message());
    if (closed_) return MaybeDelete();
    if (s.ok()) {
      ReplyOk(fmt::format("mailnest signing off ({} messages removed)", removed));
    } else {
      ReplyErr("[SYS/TEMP] some deleted messages not removed");
    }
    CloseAfterReply();
    Resume();
  });
}

// ---------------------------------------------------------------- RETR / TOP

void Pop3Session::StartStream(size_t index, std::optional<uint64_t> top_lines) {
  busy_ = true;
  stream_index_ = index;
  stream_started_ = false;
  stuffer_ = DotStuffer();
  top_ = top_lines ? std::make_unique<TopFilter>(*top_lines) : nullptr;
  reader_ = std::make_unique<MessageReader>(ctx_->loop, maildrop_->MessagePath(index), kChunk,
                                            maildrop_->message(index).unique);
  MaybeReadMore();
}

// Reads the next chunk when none is being read and the socket has taken
// (almost) everything: the flow control that bounds memory per session.
void Pop3Session::MaybeReadMore() {
  if (!reader_ || reader_->reading() || closed_ || conn_.closing()) return;
  if (conn_.write_backlog() >= kChunk) return;  // OnWritable() calls again
  ++pending_ops_;
  reader_->Read([this](Status s, std::string_view chunk, bool eof) {
    --pending_ops_;
    if (closed_) {
      reader_.reset();
      return MaybeDelete();
    }
    OnChunk(s, chunk, eof);
  });
}

void Pop3Session::OnWritable() {
  // Nested inside Pump's own FlushOut, Pump's loop carries on by itself.
  if (input_held_ && !pumping_ && !closed_) {
    input_held_ = false;
    Pump();
  }
  MaybeReadMore();
}

void Pop3Session::OnChunk(const Status& status, std::string_view chunk, bool eof) {
  if (ending_ && !stream_started_) return EndStream();  // shutdown already answered
  if (!status.ok()) {
    Log(LogLevel::kError, "cannot read message {}: {}", stream_index_ + 1, status.message());
    if (stream_started_) {
      // Half a multi-line reply cannot be taken back: drop the connection
      // (no UPDATE) rather than end it with a terminator after wrong data.
      reader_.reset();
      conn_.Close();
      return;
    }
    // NotFound: another program sharing the Maildir (Dovecot, a mail
    // reader) deleted it after our snapshot; it will not come back.
    ReplyErr(status.code() == Status::Code::kNotFound
                 ? fmt::format("message {} no longer exists (removed by another program)", stream_index_ + 1)
                 : std::string("[SYS/TEMP] cannot read message, try again later"));
    return EndStream();
  }
  if (!stream_started_) {
    stream_started_ = true;
    if (top_) {
      ReplyOk("top of message follows");
    } else {
      ReplyOk(fmt::format("{} octets", maildrop_->message(stream_index_).size));
    }
  }
  if (top_) {
    chunk = chunk.substr(0, top_->Accept(chunk.data(), chunk.size()));
    eof = eof || top_->done();
  }
  stuffer_.Feed(chunk.data(), chunk.size(), &out_);
  if (eof) {
    stuffer_.Finish(&out_);
    return EndStream();
  }
  // A slow reader is still active: progress resets the autologout timer.
  conn_.SetTimeout(uint64_t{cfg_.autologout_timeout_s} * 1000);
  FlushOut();
  MaybeReadMore();
}

void Pop3Session::EndStream() {
  reader_.reset();  // closes the file in a job if TOP stopped early
  top_.reset();
  Resume();
}

// ---------------------------------------------------------------- teardown

void Pop3Session::OnTimeout() {
  if (state_ == kPop3Update) return;  // QUIT is finishing; it closes itself
  Log(LogLevel::kInfo, "autologout after {} s idle", cfg_.autologout_timeout_s);
  if (busy_ || conn_.write_blocked()) {
    // Mid-reply there is no clean place for an -ERR line, and a peer that
    // stopped reading would never take one.
    conn_.Close();
    return;
  }
  // RFC 1939 §3: the autologout timer ends the session without UPDATE.
  ReplyErr("autologout: idle for too long");
  CloseAfterReply();
  FlushOut();
}

void Pop3Session::Shutdown() {
  if (closed_ || ending_ || state_ == kPop3Update) return;
  Log(LogLevel::kInfo, "server shutting down, closing session");
  if (auth_delay_) auth_delay_->Stop();
  if (reader_ && stream_started_) {
    conn_.Close();  // mid-reply
    return;
  }
  // Busy with a password check or maildrop open: this is the reply to PASS.
  ReplyErr("[SYS/TEMP] server shutting down");
  CloseAfterReply();
  FlushOut();
}

void Pop3Session::ShutdownNow() {
  if (closed_ || state_ == kPop3Update) return;
  Shutdown();  // the -ERR, if none was sent yet
  if (conn_.write_backlog() > 0) conn_.Close();
}

void Pop3Session::OnClosed() {
  closed_ = true;
  Log(LogLevel::kInfo, "disconnect in {}", Pop3StateName(state_));
  trace_.Close();
  auth_delay_.reset();
  ReleaseIdleResources();
  MaybeDelete();
}

// Whatever no job is using goes now; the rest goes when its job calls back.
void Pop3Session::ReleaseIdleResources() {
  if (reader_ && !reader_->reading()) reader_.reset();
  if (maildrop_ && !maildrop_busy_) maildrop_.reset();  // no UPDATE: removes nothing
}

void Pop3Session::MaybeDelete() {
  if (!closed_ || pending_ops_ > 0) return;
  EndLogin();  // closed during a check or a failure delay
  ReleaseIdleResources();
  if (ctx_->on_gone) ctx_->on_gone(this);
  delete this;
}

}  // namespace mailnest
