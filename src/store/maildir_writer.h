// Durable Maildir delivery driven from the loop thread; every file
// operation runs on the libuv thread pool (uv_queue_work), never on the loop.
//
// One MaildirDelivery per SMTP transaction, all calls on the loop thread:
//   Begin(mailboxes)           names the targets, picks id(); no I/O yet
//   AppendHeader(header)       e.g. Return-Path + Received (uses id())
//   Append(chunk)*             body bytes as they arrive (LF line ends, un-stuffed)
//   Commit(done) | Abort()
//
// Small messages stay in memory and are written by a single thread-pool job
// at Commit. Once more than kSpillThreshold bytes are buffered, the data is
// spilled to a tmp/ file (O_CREAT|O_EXCL, 0600) by sequential jobs, so the
// session's memory stays bounded whatever the message size; the session
// should pause reading while backlog() > kSpillThreshold.
//
// Commit of a message still in memory, with a journal: the journal appends
// it, syncs, and publishes it (tmp/ → new/) — see store/delivery_journal.h —
// once every target mailbox is known to be on mail_root's filesystem
// (store/mailbox_fs.h; the first delivery to a mailbox finds out).
// Otherwise: write rest → fsync file → for each further mailbox link() into its
// tmp/ → rename each into new/ → fsync each new/ directory. Only then done(Ok,
// id). On any failure every tmp/ and new/ file this delivery created is
// removed and done(IoError) is called: the caller replies 451 4.3.0.
// Mailbox directories {tmp,new,cur} are created on first delivery (0700).
// A mailbox name that fails IsValidMailboxName or would leave mail_root
// makes Commit report Status::Invalid without any I/O. done always runs
// later from the loop, never inside Commit(). Directory fsyncs of deliveries
// into the same new/ are group-committed (store/dir_sync_group.h).
// The new/ file is named "<id>.<host>,S=<exact size in octets>,W=<octets as
// POP3 sends them, every line end CR LF>" (store/maildir_name.h).
// store/maildir_files.h has DeliverMessage(), a blocking one-call version.
//
// Lifetime: the object may be destroyed right after Commit() was called or
// after Abort(): in-flight jobs own their state (shared_ptr) and a
// destroyed object's done callback is never called. Destroyed after
// Commit, the delivery still completes (at worst a duplicate, never a
// loss); destroyed before Commit, it is aborted. Abort() after Commit()
// only suppresses done. Callbacks may destroy this object. Callers that must wait
// for durability (SMTP's 250) keep the object until done runs.
#pragma once

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"

namespace mailnest {

class DeliveryJournal;
class FsEnv;

struct StoreOptions {
  std::string mail_root;
  std::string hostname;  // for unique names (sanitized: '/'→\057, ':'→\072)
  bool fsync = true;
  // When set (and fsync is on), a message still held in memory at Commit
  // is made durable by the journal's group commit instead of its own fsyncs
  // (store/delivery_journal.h); spilled (large) messages keep the fsync path.
  DeliveryJournal* journal = nullptr;
};

class MaildirDelivery {
 public:
  static constexpr size_t kSpillThreshold = 256 * 1024;
  using Done = std::function<void(Status status, const std::string& id)>;

  // env may be null (→ the process-wide POSIX env); tests pass a faulty one.
  MaildirDelivery(uv_loop_t* loop, const StoreOptions& opts, FsEnv* env = nullptr);
  ~MaildirDelivery();

  // mailboxes: validated names (IsValidMailboxName), at least one.
  // id(): the unique base name ("<sec>.M<usec>P<pid>Q<seq>") chosen here, so
  // the caller can put it in the Received header it passes as `header`.
  void Begin(std::vector<std::string> mailboxes);
  const std::string& id() const;
  // The name in new/ once Commit's done reported OK ("" before).
  const std::string& final_name() const;
  void AppendHeader(std::string header);  // must precede any Append
  void Append(const char* data, size_t len);
  size_t backlog() const;  // bytes buffered in memory, not yet on disk
  // Called (on the loop thread, from a job's completion) when backlog()
  // drops back to ≤ kSpillThreshold after having exceeded it; also after a
  // spill failure, so a paused session reads on to the end and gets 451.
  void SetOnDrained(std::function<void()> cb);

  void Commit(Done done);  // at most once; done(status, id()) runs later
  void Abort();            // removes any spilled tmp/ file (asynchronously)

  struct State;

 private:
  std::shared_ptr<State> state_;
};

}  // namespace mailnest
