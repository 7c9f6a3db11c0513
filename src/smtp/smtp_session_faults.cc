// SmtpSession's side of deterministic fault injection (smtp/fault_injector.h,
// docs/RELAY.md "Fault injection"): one question to the injector per stage,
// and what each action means there.
//
//   stage    asked                              reply            disconnect / delay
//   connect  before the greeting                instead of 220,  close at once / greet later
//                                               then close
//   helo     HELO/EHLO that passed its check    instead of 250   close / then the command
//   mail     MAIL that passed its check         instead of 250   close / then the command
//   rcpt     RCPT that passed its check         instead of 250   close / then the command
//   data     DATA                               instead of 354   close / then the command
//   dot      a complete body about to be stored instead of 250:  close, nothing stored /
//                                               nothing stored   then store and reply
//
// A refused command leaves the state as it was (no sender, no recipient
// added, no DATA). A 421 reply also closes (RFC 5321 §3.8). Injected
// replies do not count towards smtp.max_errors: the client did no wrong.
// While a delay runs, no input is read or processed and the idle timer is
// off; afterwards the command is dispatched as if it had just arrived (its
// check runs again, the rules are not asked again). A delayed final dot is
// a slow commit: the message is stored once the delay is over, even if the
// client gave up meanwhile; shutdown's grace end cuts the delay short.
#include <fmt/format.h>

#include "base/metrics.h"
#include "pop3/one_shot_timer.h"
#include "smtp/smtp_session.h"

namespace mailnest {

std::optional<FaultInjector::Hit> SmtpSession::CheckFault(FaultStage stage, const FaultSubject& subject) {
  if (!ctx_.faults || ctx_.faults->empty()) return std::nullopt;
  std::optional<FaultInjector::Hit> hit = ctx_.faults->Check(stage, subject);
  if (hit) {
    // Rule, stage and action only: never addresses or bodies.
    ctx_.log->Info(id_, "fault injected: rule {} at {}: {}", hit->rule, FaultStageName(stage),
                   DescribeFaultAction(hit->action));
  }
  return hit;
}

bool SmtpSession::FaultAtConnect() {
  std::optional<FaultInjector::Hit> hit = CheckFault(FaultStage::kConnect, {});
  if (!hit) return false;
  switch (hit->action.kind) {
    case FaultAction::Kind::kDelay:
      DelayForFault(hit->action.delay_ms, &SmtpSession::GreetAfterFaultDelay);
      return true;
    case FaultAction::Kind::kReply:
      ReplyFault(hit->action);
      if (state_ != SmtpState::kClosing) {  // no session follows a refused greeting
        io_->CloseAfterWrite();
        EnterState(SmtpState::kClosing);
      }
      return true;
    case FaultAction::Kind::kDisconnect:
      io_->Close();
      EnterState(SmtpState::kClosing);
      return true;
  }
  return false;
}

bool SmtpSession::FaultAtCommand(const SmtpCommand& cmd, const SmtpCommandArgs& args, std::string_view line) {
  if (fault_replay_) return false;
  std::optional<FaultStage> stage = FaultStageOfVerb(cmd.name);
  if (!stage || !ctx_.faults) return false;
  FaultSubject subject;
  const std::string* rcpt = &args.rcpt.recipient.text;
  switch (*stage) {
    case FaultStage::kMail:
      subject.sender = args.mail.null_sender ? std::string_view() : std::string_view(args.mail.sender.text);
      break;
    case FaultStage::kRcpt:
      subject.sender = sender_;
      subject.recipients = {rcpt, 1};
      break;
    case FaultStage::kData:
      subject.sender = sender_;
      subject.recipients = recipients_;
      break;
    default:
      break;
  }
  std::optional<FaultInjector::Hit> hit = CheckFault(*stage, subject);
  if (!hit) return false;
  switch (hit->action.kind) {
    case FaultAction::Kind::kDelay:
      fault_line_ = std::string(line);
      DelayForFault(hit->action.delay_ms, &SmtpSession::ReplayFaultLine);
      break;
    case FaultAction::Kind::kReply:
      ReplyFault(hit->action);
      break;
    case FaultAction::Kind::kDisconnect:
      ResetTransaction();
      io_->Close();
      EnterState(SmtpState::kClosing);
      break;
  }
  return true;
}

bool SmtpSession::FaultAtDot() {
  std::optional<FaultInjector::Hit> hit = CheckFault(FaultStage::kDot, {sender_, recipients_});
  if (!hit) return false;
  switch (hit->action.kind) {
    case FaultAction::Kind::kDelay:
      EnterState(SmtpState::kDelivering);  // as during a commit: nothing read, the owner waits for us
      DelayForFault(hit->action.delay_ms, &SmtpSession::CommitAfterFaultDelay);
      break;
    case FaultAction::Kind::kReply:
      AbortDelivery();
      BumpCode(GlobalMetrics().smtp_data_outcomes, hit->action.code);
      ReplyFault(hit->action);
      if (state_ == SmtpState::kClosing) {
        ResetTransaction();
      } else {
        EndTransaction();
      }
      break;
    case FaultAction::Kind::kDisconnect:
      AbortDelivery();
      ResetTransaction();
      io_->Close();
      EnterState(SmtpState::kClosing);
      break;
  }
  return true;
}

void SmtpSession::ReplyFault(const FaultAction& a) {
  // As Reply(), minus the error count.
  if (!reply_log_.empty()) reply_log_ += ' ';
  reply_log_ += fmt::format("{} {}", a.code, a.enhanced);
  if (closed_) return;
  BumpCode(GlobalMetrics().smtp_replies, a.code);
  std::string text = fmt::format("{} {} {}\r\n", a.code, a.enhanced, a.text);
  trace_.Reply(text);
  io_->Write(text);
  if (a.code == 421) {
    io_->CloseAfterWrite();
    EnterState(SmtpState::kClosing);
  }
}

void SmtpSession::DelayForFault(uint32_t ms, void (SmtpSession::*then)()) {
  if (!fault_timer_) fault_timer_ = std::make_unique<OneShotTimer>(ctx_.loop);
  fault_paused_ = true;
  fault_then_ = then;
  RefreshTimer();
  UpdateReading();
  // The timer belongs to this session: destroying the session closes it,
  // so the callback never runs on a freed session.
  fault_timer_->Start(ms, [this] {
    fault_paused_ = false;
    (this->*fault_then_)();
    UpdateReading();
  });
}

void SmtpSession::ReplayFaultLine() {
  std::string line = std::move(fault_line_);
  fault_line_.clear();
  if (closed_ || !IsCommandState(state_)) return;  // gone, or told 421 meanwhile
  reply_log_.clear();
  fault_replay_ = true;
  DispatchLine({LineFramer::Kind::kLine, line});
  fault_replay_ = false;
  ProcessInput();  // commands pipelined behind it
  RefreshTimer();
  UpdateReading();
}

void SmtpSession::CommitAfterFaultDelay() {
  if (fault_timer_) fault_timer_->Stop();
  fault_paused_ = false;
  // As a slow store would: reading is paused at the dot, so a client that
  // gave up meanwhile is not noticed and the message is stored all the
  // same (its retry then makes RFC 1047's duplicate, which is what a test
  // of a sender's end-of-data timeout needs to see).
  commit_started_ns_ = uv_hrtime();
  CommitAll();
}

void SmtpSession::GreetAfterFaultDelay() {
  if (closed_ || state_ != SmtpState::kNew) return;  // the peer left, or we are shutting down
  Greet();
}

}  // namespace mailnest
