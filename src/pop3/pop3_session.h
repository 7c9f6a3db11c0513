// One POP3 connection (RFC 1939/2449/3206): the dispatch prelude, the
// AUTHORIZATION → TRANSACTION → UPDATE machine and the command handlers.
//
// Ownership: a session owns itself. It is created by Pop3Server, embeds its
// Connection, and deletes itself once the connection's handles are closed
// (OnClosed) AND every thread-pool job it started has called back
// (pending_ops_ == 0); Context::on_gone runs just before that.
//
// Flow: input is framed into lines; one line is dispatched at a time. A
// command that waits for something (password check, failed-login delay,
// maildrop open, RETR/TOP streaming, UPDATE) sets busy_: the framer is held
// and reading paused until it is done, so pipelined commands are answered
// strictly in order and input memory stays bounded. Replies are collected
// in out_ and handed to the Connection once per batch; dispatching stops
// while the unsent replies are over Connection::kMaxWriteBacklog.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "base/config.h"
#include "base/live_hooks.h"
#include "base/log.h"
#include "net/connection.h"
#include "net/dot_codec.h"
#include "net/line_framer.h"
#include "pop3/pop3_commands.h"

namespace mailnest {

class DeliveryJournal;
class LoginGuard;
class Maildrop;
class PasswordChecker;
class MessageReader;
class OneShotTimer;
class TopFilter;

class Pop3Session : public Connection::Handler {
 public:
  // Shared by every session of one server; outlives them all.
  struct Context {
    uv_loop_t* loop = nullptr;
    const Config* config = nullptr;
    Logger* log = nullptr;
    DeliveryJournal* journal = nullptr;  // see MaildropOptions::journal
    PasswordChecker* checker = nullptr;  // crypt(3) off the file I/O pool
    LoginGuard* guard = nullptr;         // per-address login limits
    LogLevel log_level = LogLevel::kInfo;
    // Checked against for unknown users so a failed login costs the same
    // crypt(3) work whether or not the user exists.
    std::string dummy_hash;
    std::function<void(Pop3Session*)> on_gone;
  };

  Pop3Session(Context* ctx, uint64_t id);

  // Accepts from the listening socket and greets. With reject set the
  // client is told the server is full and the connection closed.
  void Start(uv_stream_t* server, bool reject);

  // Server shutdown: ends the session without UPDATE (nothing is removed;
  // the maildrop lock is released). A QUIT already in UPDATE finishes.
  void Shutdown();
  // The shutdown grace is over: whatever is still open (a peer not taking
  // its last reply, a RETR in progress) is closed. UPDATE still finishes.
  void ShutdownNow();

  // Command handlers: rows of the command table (pop3_commands.cc). Only
  // the dispatch prelude calls them, with arguments already checked.
  void DoCapa(const Pop3Args& args);
  void DoDele(const Pop3Args& args);
  void DoList(const Pop3Args& args);
  void DoNoop(const Pop3Args& args);
  void DoPass(const Pop3Args& args);
  void DoQuit(const Pop3Args& args);
  void DoRetr(const Pop3Args& args);
  void DoRset(const Pop3Args& args);
  void DoStat(const Pop3Args& args);
  void DoTop(const Pop3Args& args);
  void DoUidl(const Pop3Args& args);
  void DoUser(const Pop3Args& args);

 private:
  ~Pop3Session() override;  // only via MaybeDelete()

  // Connection::Handler
  void OnRead(const char* data, size_t len) override;
  void OnTimeout() override;
  void OnWritable() override;
  void OnClosed() override;

  // Input.
  void Pump();
  void Dispatch(std::string_view line);
  bool CheckMessageNumber(std::string_view word, size_t* index);
  void LogCommand(const Pop3Command* cmd, std::string_view verb, const Pop3Line& line);

  // Replies (collected in out_, sent by FlushOut).
  void ReplyOk(std::string_view text);
  void ReplyErr(std::string_view text);
  void BadCommand(std::string_view text);  // counts toward max_errors
  void CloseAfterReply();
  void FlushOut();
  // Unsent replies (ours and the connection's) over the backlog limit.
  bool OutputBlocked() const;

  void EnterState(Pop3State next);
  void Resume();  // end of a busy step: continue with buffered input

  // Login.
  void StartAuth(std::string password);
  void FinishAuth(bool ok);
  void FailAuth();
  void EndLogin();  // the login counted by LoginGuard::Begin is over
  void OpenMaildrop();

  // RETR / TOP.
  void StartStream(size_t index, std::optional<uint64_t> top_lines);
  void MaybeReadMore();
  void OnChunk(const Status& status, std::string_view chunk, bool eof);
  void EndStream();

  // Teardown.
  void ReleaseIdleResources();
  void MaybeDelete();

  template <typename... Args>
  void Log(LogLevel level, fmt::format_string<Args...> f, Args&&... args) {
    if (level < ctx_->log_level) return;
    ctx_->log->Log(level, sid_, "peer={} user={} {}", conn_.peer(), user_log_,
                   fmt::format(f, std::forward<Args>(args)...));
  }

  Context* ctx_;
  const Pop3Config& cfg_;
  std::string sid_;            // session id in every log line
  Connection conn_;
  LineFramer framer_;
  Pop3State state_ = kPop3Authorization;

  std::string user_;           // from USER, until PASS fails or succeeds
  std::string user_log_ = "-"; // LogSafe(user) for log lines
  std::string address_;        // peer IP, the LoginGuard key
  bool login_active_ = false;  // counted in LoginGuard until EndLogin()
  uint32_t errors_ = 0;
  uint32_t pending_ops_ = 0;   // pool jobs started and not yet called back
  bool busy_ = false;          // a command is still running: hold the framer
  bool ending_ = false;        // last reply queued: no more commands
  bool close_after_reply_ = false;
  bool closed_ = false;        // OnClosed ran
  bool pumping_ = false;       // inside Pump()
  bool input_held_ = false;    // Pump stopped at the backlog limit
  std::string out_;

  std::unique_ptr<OneShotTimer> auth_delay_;
  std::unique_ptr<Maildrop> maildrop_;
  bool maildrop_busy_ = false;  // Open/Commit in flight: must not destroy it

  // Streaming state of RETR / TOP.
  std::unique_ptr<MessageReader> reader_;
  std::unique_ptr<TopFilter> top_;
  DotStuffer stuffer_;
  size_t stream_index_ = 0;
  bool stream_started_ = false;  // the +OK line is out

  SessionTrace trace_;  // GET /api/v1/sessions (no-op without the HTTP side)
};

}  // namespace mailnest
