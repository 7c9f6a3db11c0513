// The blocking steps of one Maildir delivery, in the order Commit runs them.
// They run on a thread-pool worker (MaildirDelivery) or on the caller's
// thread (DeliverMessage); never on the event-loop thread.
//
// Thread contract: one DeliveryFiles is used by one thread at a time (the
// writer runs its jobs strictly one after another).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "store/wire_size.h"

namespace mailnest {

class FsEnv;
struct StoreOptions;

struct DeliveryFiles {
  FsEnv* env = nullptr;
  bool fsync = true;
  std::string mail_root;
  std::vector<std::string> mailbox_dirs;  // "<root>/<name>", validated, first = primary
  std::string tmp_name;                   // "<id>.<host>", the name used in tmp/
  std::string id;
  std::string host;                       // sanitized
  int fd = -1;                            // the primary tmp file while open
  bool opened = false;                    // the primary tmp file was created
  uint64_t written = 0;                   // octets written to it
  WireSizeCounter counted;                // the same octets, for W=
  std::vector<std::string> created;       // every path made here: removed on failure
  std::string final_name;                 // set by Publish: "<id>.<host>,S=<size>,W=<wire>"
};

// The directory holding `path`: "." without a slash, "/" at the root.
std::string ParentOf(const std::string& path);

// Validates every mailbox (Invalid before any I/O), drops duplicates and
// fills *files; chooses the unique id. No I/O.
Status PrepareDelivery(FsEnv* env, const StoreOptions& opts, const std::vector<std::string>& mailboxes,
                       DeliveryFiles* files);

// mkdir -p <dir>/{tmp,new,cur} (0700), fsyncing the parent of every
// directory it creates. Remembers (process-wide) which mailbox dirs are
// complete so later deliveries skip the mkdirs. Forget() drops one from
// that cache (after an ENOENT shows it was removed behind our back).
Status EnsureMailbox(FsEnv* env, const std::string& mail_root, const std::string& dir, bool fsync);
void ForgetMailbox(const std::string& dir);

// Creates the primary tmp file (making the mailbox if needed).
Status OpenPrimary(DeliveryFiles* files);
// Appends to the primary tmp file (opening it first if needed).
Status WriteChunk(DeliveryFiles* files, std::string_view data);
// fsync + close the primary; link (or copy on EXDEV) it into every other
// mailbox's tmp/; rename each into new/<final_name>; fsync each new/.
// On OK the message is durable in every mailbox (when fsync is on).
// Publish = Seal (up to the links) then MoveToNew (the renames and the
// directory fsyncs); the journal runs them apart (store/delivery_journal.h).
Status Publish(DeliveryFiles* files);
Status Seal(DeliveryFiles* files);
Status MoveToNew(DeliveryFiles* files);
// Closes the tmp file if open and unlinks every path in files->created.
// Best effort: used after a failure or an abort.
void RemoveCreated(DeliveryFiles* files);

// Whole delivery in one call on the calling thread (tests, CLI, tools).
// *id receives the unique base name. On failure nothing is left behind.
Status DeliverMessage(const StoreOptions& opts, const std::vector<std::string>& mailboxes,
                      std::string_view content, std::string* id, FsEnv* env = nullptr);

}  // namespace mailnest
