// A POP3 maildrop: the locked snapshot of one user's Maildir for the
// length of a session (RFC 1939 §8: exclusive access from login to UPDATE).
//
//   Open()    mkdir the mailbox if missing; take an exclusive non-blocking
//             flock on <mail_root>/<user>/.mailnest.lock (kernel-held, so it
//             works across processes and dies with the process); move new/*
//             into cur/ as "<name>:2," (as Dovecot does); list cur/ into the
//             message list, oldest delivery first. A message whose move
//             fails (ENOSPC: cur/ needs a new block on a full disk) is
//             listed and served from new/ all the same (unmoved() says how
//             many), so a full disk never hides mail from its owner.
//   MarkDeleted()/UnmarkAll()  in memory only (DELE/RSET).
//   Commit()  UPDATE: unlink the marked files (nothing else), fsync cur/,
//             release the lock.
//   ~Maildrop without Commit: releases the lock and removes nothing
//             (dropped connection, autologout, shutdown).
//
// Mail delivered after Open() stays in new/ for the next session.
//
// Threads: every method on the loop thread; all file I/O runs in pool jobs
// and done runs on the loop thread. One operation in flight at a time.
// Destroying the Maildrop with an operation in flight is allowed: its done
// is then not called, and the job releases the lock when it ends.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace mailnest {

class DeliveryJournal;
class FsEnv;

struct MaildropOptions {
  std::string mail_root;
  std::string user;       // must pass IsValidMailboxName (checked again in Open)
  bool fsync = true;      // fsync cur/ after removing messages
  FsEnv* env = nullptr;   // null → the POSIX env; tests pass a faulty one
  // The delivery journal, if any: Commit waits for its Barrier() before
  // unlinking, so a crash cannot bring a deleted message back from it.
  DeliveryJournal* journal = nullptr;
};

struct MaildropMessage {
  std::string file_name;  // name in cur/ (in new/ when in_new) when the snapshot was taken
  std::string unique;     // the name up to ":2," (stays when flags change)
  bool in_new = false;    // its move into cur/ failed at Open: still in new/
  std::string uidl;       // MakeUidl(unique part of the name)
  uint64_t size = 0;      // octets RETR sends before stuffing, every line end CR LF
  bool deleted = false;
};

class Maildrop {
 public:
  using Done = std::function<void(Status status)>;
  // removed: files actually unlinked.
  using CommitDone = std::function<void(Status status, size_t removed)>;

  Maildrop(uv_loop_t* loop, MaildropOptions opts);
  ~Maildrop();
  Maildrop(const Maildrop&) = delete;
  Maildrop& operator=(const Maildrop&) = delete;

  // Status: Busy when another session holds the lock; Invalid for a bad
  // user name (no I/O); IoError otherwise. On failure the lock is not held.
  void Open(Done done);
  bool is_open() const { return open_; }

  // The snapshot, 0-based (POP3 message n is index n-1). Valid after Open.
  size_t size() const { return messages_.size(); }
  const MaildropMessage& message(size_t index) const { return messages_[index]; }
  std::string MessagePath(size_t index) const;
  size_t live_count() const { return live_count_; }
  // After Open: messages whose move new/ → cur/ failed (listed from new/),
  // and the first such failure, for the log.
  size_t unmoved() const { return unmoved_; }
  const std::string& unmoved_error() const { return unmoved_error_; }
  uint64_t live_octets() const { return live_octets_; }

  void MarkDeleted(size_t index);
  void UnmarkAll();

  // Status IoError when some marked file could not be removed (the others
  // are; an unmarked one never is). The lock is released either way.
  void Commit(CommitDone done);

  struct State;

 private:
  uv_loop_t* loop_;
  std::shared_ptr<State> state_;
  std::vector<MaildropMessage> messages_;
  size_t live_count_ = 0;
  uint64_t live_octets_ = 0;
  size_t unmoved_ = 0;
  std::string unmoved_error_;
  bool open_ = false;
  bool busy_ = false;
};

// The UIDL of a message with this Maildir unique part, i.e. its file name
// without ":2,<flags>", for our files and any other writer's: what Dovecot's
// pop3_uidl_format = %f gives (RFC 1939 §7: 1-70
// characters in 0x21-0x7E, stable, never reused). The unique part itself
// when it qualifies; otherwise its first characters with the others
// replaced by '_', then '~' and 16 hex digits of a hash of the whole part,
// so it stays stable and distinct.
std::string MakeUidl(std::string_view unique);

}  // namespace mailnest
