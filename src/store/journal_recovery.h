// Startup replay of delivery journals left by a process that did not stop
// cleanly (store/delivery_journal.h). Runs before the servers start, on the
// main thread, so blocking I/O is fine here.
//
// For every "*.journal" file under JournalDir(mail_root) that no live
// process holds locked, and every live record in it (those of the marker's
// generation that follow it; reading stops at the first torn, corrupt or
// older one — nothing after it was ever acknowledged or still needed),
// each target mailbox must hold a file named <final_name> in new/, or a
// name with that unique part in cur/ (POP3 may have moved it), with
// exactly the record's octets:
//   - present and equal      → intact: fsynced with its directory (the
//                              dead process may have trusted the journal
//                              alone), else untouched;
//   - present but different  → repaired: rewritten from the record (a
//                              crash tore it before the checkpoint);
//   - absent                 → restored into new/ (published never, or
//                              lost with the page cache);
// and the message's own tmp/ file, if the crash left it there, is removed.
// Every write is durable (tmp/ O_EXCL, fsync, rename, fsync dir). Then the
// journal file is removed. A record naming an invalid mailbox is skipped
// and counted; so is a record revoked by a later revocation record (its
// message was refused with 451 after the sync). A failure (a full disk)
// stops recovery and leaves the journal in place for the next try: main
// then serves anyway and retries in the background (JournalRecoveryRetry),
// passing the same progress so that a retry does not restore a copy an
// earlier try already checked, which POP3 may have deleted since.
#pragma once

#include <cstdint>
#include <set>
#include <string>

#include "base/status.h"

namespace mailnest {

class FsEnv;

struct JournalRecoveryReport {
  int journals = 0;          // journal files replayed and removed
  int busy = 0;              // journal files of live processes, left alone
  uint64_t records = 0;
  uint64_t intact = 0;       // per mailbox copy
  uint64_t restored = 0;
  uint64_t repaired = 0;
  uint64_t invalid = 0;      // mailbox copies skipped (name fails validation)
  uint64_t superseded_tmp = 0;  // tmp/ files of restored or intact messages, removed
  uint64_t revoked = 0;      // records skipped: refused (451) after their sync
  uint64_t done_before = 0;  // mailbox copies an earlier try (same progress) handled
  uint64_t ignored_bytes = 0;  // after the live records: retired, torn or zero fill
};

// Which mailbox copies ("<mailbox>/<final_name>") earlier tries in this
// process already found intact or restored.
struct JournalRecoveryProgress {
  std::set<std::string> done;
};

Status RecoverJournals(const std::string& mail_root, FsEnv* env, JournalRecoveryReport* report,
                       JournalRecoveryProgress* progress = nullptr);

}  // namespace mailnest
