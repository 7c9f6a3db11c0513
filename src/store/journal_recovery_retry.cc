#include "store/journal_recovery_retry.h"

#include <chrono>
#include <utility>

#include <fmt/format.h>

#include "base/thread_role.h"

namespace mailnest {

JournalRecoveryRetry::JournalRecoveryRetry(std::string mail_root, uint32_t retry_ms,
                                           JournalRecoveryProgress progress, Report report)
    : mail_root_(std::move(mail_root)),
      retry_ms_(retry_ms),
      progress_(std::move(progress)),
      report_(std::move(report)) {}

JournalRecoveryRetry::~JournalRecoveryRetry() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void JournalRecoveryRetry::Start() {
  thread_ = std::thread([this] {
    BecomeHelperThread("mn-recover");
    Run();
  });
}

void JournalRecoveryRetry::Run() {
  for (uint64_t attempt = 2;; ++attempt) {  // the first try was main's, at start
    {
      std::unique_lock<std::mutex> l(mu_);
      if (cv_.wait_for(l, std::chrono::milliseconds(retry_ms_), [this] { return stop_; })) return;
    }
    JournalRecoveryReport rep;
    Status s = RecoverJournals(mail_root_, nullptr, &rep, &progress_);
    report_(s, rep, attempt);
    if (s.ok()) return;
  }
}

std::string DescribeRecovery(const JournalRecoveryReport& r) {
  return fmt::format("journal recovery: {} journal(s), {} records: {} intact, {} restored, {} repaired, "
                     "{} skipped (invalid mailbox), {} revoked (refused with 451), {} superseded tmp/ file(s) removed",
                     r.journals, r.records, r.intact, r.restored, r.repaired, r.invalid, r.revoked,
                     r.superseded_tmp);
}

}  // namespace mailnest
