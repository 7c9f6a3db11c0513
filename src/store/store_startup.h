// What the store needs before the servers take connections, and what runs
// beside them for that (main's part of docs/E1_specification.md §2.4).
//
// StoreStartup, constructed on the main thread before the loop starts and
// before any delivery:
//   1. routes store/mailbox_fs.h's warning (a mailbox on another filesystem
//      than mail_root) to the log;
//   2. removes tmp/ debris of crashed processes (store/tmp_debris.h);
//   3. recovers crashed processes' journals (store/journal_recovery.h); if
//      that fails (a full disk) it logs, and retries on a helper thread
//      (store/journal_recovery_retry.h) while the servers run.
// Destroy it after the loop has ended: it stops the retry thread and
// unhooks the warning (the logger must outlive it).
//
// OpenJournal: the delivery journal with files sized to the free space
// (store/journal_space.h), or null (logged) when the disk is too full or it
// cannot be opened; deliveries then use the per-file fsync path and POP3
// serves either way.
#pragma once

#include <atomic>

#include <uv.h>

#include <memory>

namespace mailnest {

class DeliveryJournal;
class JournalRecoveryRetry;
class Logger;
struct Config;

class StoreStartup {
 public:
  StoreStartup(const Config& config, Logger* log);
  ~StoreStartup();
  StoreStartup(const StoreStartup&) = delete;
  StoreStartup& operator=(const StoreStartup&) = delete;

  // True while a failed recovery is being retried in the background (any
  // thread; /readyz reports it).
  bool recovery_pending() const { return retrying_->load(); }

 private:
  std::shared_ptr<std::atomic<bool>> retrying_ = std::make_shared<std::atomic<bool>>(false);
  std::unique_ptr<JournalRecoveryRetry> recovery_retry_;
};

std::unique_ptr<DeliveryJournal> OpenJournal(uv_loop_t* loop, const Config& config, Logger* log);

}  // namespace mailnest
