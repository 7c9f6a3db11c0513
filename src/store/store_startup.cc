#include "store/store_startup.h"

#include <sys/time.h>
#include <unistd.h>

#include <string>
#include <utility>

#include "base/config.h"
#include "base/log.h"
#include "store/delivery_journal.h"
#include "store/journal_recovery.h"
#include "store/journal_recovery_retry.h"
#include "store/journal_space.h"
#include "store/mailbox_fs.h"
#include "store/maildir_name.h"
#include "store/tmp_debris.h"

namespace mailnest {

namespace {

// tmp/ files a crashed run left (partial spill files, orphans of messages
// the journal restores) would otherwise stay 36 hours, on a disk that may
// be full. Before any delivery of ours: nothing in tmp/ is this process's.
void SweepTmp(const Config& config, Logger* log) {
  struct timeval now;
  ::gettimeofday(&now, nullptr);
  TmpDebrisOptions debris;
  debris.mail_root = config.mail_root;
  debris.host = SanitizeMaildirHost(config.hostname);
  debris.self_pid = ::getpid();
  debris.started_sec = now.tv_sec;
  debris.started_usec = now.tv_usec;
  TmpDebrisReport swept;
  if (Status s = RemoveTmpDebris(debris, nullptr, &swept); !s.ok()) {
    log->Warn("", "tmp/ cleanup skipped: {}", s.message());
  } else if (swept.removed > 0) {
    log->Info("", "removed {} tmp/ file(s) ({} octets) left by mailnest processes that no longer run",
              swept.removed, swept.bytes);
  }
}

}  // namespace

StoreStartup::StoreStartup(const Config& config, Logger* log) {
  SetMailboxFsWarning([log](const std::string& message) { log->Warn("", "{}", message); });
  SweepTmp(config, log);

  // Put back every message a crashed run had acknowledged but not yet
  // checkpointed. If that fails, serve anyway, POP3 included so users can
  // delete mail, and retry in the background.
  JournalRecoveryReport recovered;
  JournalRecoveryProgress progress;
  Status s = RecoverJournals(config.mail_root, nullptr, &recovered, &progress);
  if (s.ok()) {
    if (recovered.journals > 0) log->Info("", "{}", DescribeRecovery(recovered));
    return;
  }
  log->Error("", "journal recovery failed, serving anyway; messages not yet restored appear when a retry "
             "(every {} ms) succeeds, nothing was removed: {}",
             config.store.recovery_retry_ms, s.message());
  retrying_->store(true);
  recovery_retry_ = std::make_unique<JournalRecoveryRetry>(
      config.mail_root, config.store.recovery_retry_ms, std::move(progress),
      [log, retrying = retrying_, last = std::string()](const Status& st, const JournalRecoveryReport& r,
                                                        uint64_t attempt) mutable {
        if (st.ok()) {
          retrying->store(false);
          return log->Info("", "{} (retry {} succeeded)", DescribeRecovery(r), attempt);
        }
        if (st.message() == last) return log->Debug("", "journal recovery retry {} failed again", attempt);
        last = st.message();
        log->Warn("", "journal recovery retry {} failed, retrying: {}", attempt, st.message());
      });
  recovery_retry_->Start();
}

StoreStartup::~StoreStartup() {
  recovery_retry_.reset();  // a try in progress finishes first
  SetMailboxFsWarning(nullptr);
}

std::unique_ptr<DeliveryJournal> OpenJournal(uv_loop_t* loop, const Config& config, Logger* log) {
  JournalOptions jo;
  jo.mail_root = config.mail_root;
  jo.checkpoint_ms = config.store.journal_checkpoint_ms;
  jo.checkpoint_bytes = uint64_t{config.store.journal_checkpoint_mib} << 20;
  const uint64_t wanted = jo.prealloc_bytes;
  uint64_t free_bytes = 0;
  if (Status s = FreeBytes(config.mail_root, &free_bytes); s.ok()) {
    jo.prealloc_bytes = JournalPreallocFor(free_bytes, wanted);
    if (jo.prealloc_bytes == 0) {
      log->Warn("", "delivery journal off: only {} bytes free on mail_root; every message is made durable "
                "by its own fsyncs (store.journal false) until a restart with more space",
                free_bytes);
      return nullptr;
    }
    if (jo.prealloc_bytes < wanted) {
      log->Warn("", "delivery journal files sized to {} bytes each (wanted {}): only {} bytes free on mail_root",
                jo.prealloc_bytes, wanted, free_bytes);
    }
  }
  auto journal = std::make_unique<DeliveryJournal>(loop, jo);
  if (Status s = journal->Open(); !s.ok()) {
    log->Warn("", "delivery journal off, every message is made durable by its own fsyncs: {}", s.message());
    return nullptr;
  }
  return journal;
}

}  // namespace mailnest
