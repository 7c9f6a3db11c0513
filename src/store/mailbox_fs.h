// Whether a mailbox lives on mail_root's filesystem, which the delivery
// journal's checkpoint (syncfs of mail_root) needs (store/delivery_journal.h).
//
// A mailbox directory symlinked to another filesystem (or whose tmp/ or new/
// is) would get its files published without fsync and its journal records
// retired by a syncfs that never covered them: a power cut after the
// checkpoint could lose a message that got 250. The design asked for
// store.journal false then; nothing checked it. Now the first delivery to
// each mailbox takes the per-file fsync path (always safe) and, on its
// thread-pool job, stats tmp/ and new/ against mail_root: only a mailbox
// found on mail_root's filesystem uses the journal from then on. One on
// another filesystem keeps the per-file fsync path, logged once per process
// through the hook main sets. Checked once per mailbox and process.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace mailnest {

class FsEnv;

enum class MailboxFs { kUnknown, kJournalFs, kOtherFs };

// What an earlier check found (kUnknown: not checked yet). Memory only,
// any thread (the loop thread asks it before choosing the journal).
MailboxFs KnownMailboxFs(const std::string& dir);

// True when every one of the dirs is known to be on mail_root's filesystem.
bool AllOnJournalFs(const std::vector<std::string>& dirs);

// Stats dir/tmp, dir/new and mail_root (blocking: a pool thread) and
// remembers the answer; a stat failure leaves it kUnknown (asked again at
// the next delivery). A mailbox newly found on another filesystem is
// reported to the warning hook.
MailboxFs CheckMailboxFs(FsEnv* env, const std::string& mail_root, const std::string& dir);

// Where CheckMailboxFs reports a mailbox on another filesystem (main: the
// SMTP log). Set before the servers start; called on pool threads.
void SetMailboxFsWarning(std::function<void(const std::string& message)> hook);

}  // namespace mailnest
