// Keeps trying a journal recovery that failed at start (store/journal_recovery.h),
// on its own thread, while the servers run.
//
// Why: recovery writes the messages it restores, so on a full disk it fails.
// Refusing to start then would also take POP3 down, and deleting mail over
// POP3 is how users free the space. So main serves anyway and this retries
// every retry_ms, with the progress of the failed try (a copy already found
// intact is not restored again, even if POP3 deleted it in between). Until
// it succeeds, the messages it has not restored are missing from their
// mailboxes (they stay in the dead process's journal, nothing is lost).
//
// report(status, report, attempt) runs on the retry thread after each try;
// it must be thread-safe (a Logger is). The destructor stops and joins the
// thread (a try in progress finishes first).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "base/status.h"
#include "store/journal_recovery.h"

namespace mailnest {

class JournalRecoveryRetry {
 public:
  using Report = std::function<void(const Status& status, const JournalRecoveryReport& report, uint64_t attempt)>;

  JournalRecoveryRetry(std::string mail_root, uint32_t retry_ms, JournalRecoveryProgress progress, Report report);
  ~JournalRecoveryRetry();
  JournalRecoveryRetry(const JournalRecoveryRetry&) = delete;
  JournalRecoveryRetry& operator=(const JournalRecoveryRetry&) = delete;

  void Start();

 private:
  void Run();

  const std::string mail_root_;
  const uint32_t retry_ms_;
  JournalRecoveryProgress progress_;  // retry thread only
  Report report_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mu_
  std::thread thread_;
};

// The log line of a finished recovery ("journal recovery: 2 journal(s), …").
std::string DescribeRecovery(const JournalRecoveryReport& r);

}  // namespace mailnest
