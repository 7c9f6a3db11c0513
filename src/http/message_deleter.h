// Deleting messages for the HTTP API (DELETE /api/v1/messages/{id} and
// DELETE /api/v1/messages?mailbox=M), with POP3's guarantees:
//
//   1. pool: take the mailbox lock (store/mailbox_lock.h, the flock POP3
//      holds from login to UPDATE): held elsewhere → kBusy, nothing done.
//      Find the files: the one message (in new/ or cur/, found again by its
//      unique part after a rename), or every message file of the mailbox.
//   2. loop: wait for DeliveryJournal::Barrier(), as POP3's UPDATE does: a
//      file whose journal record is still live would come back after a
//      crash (journal recovery republishes it).
//   3. pool: unlink, fsync the directories touched, release the lock.
//   4. loop: the index forgets the removed files; done.
//
// Only files listed before the barrier was asked for are removed, so every
// one of them is covered by it. Names come from the index or a listing of
// the mailbox's own new/ and cur/: a client's id is never part of a path.
// Loop-thread calls; the object must outlive its operations (HttpService
// destroys it after the loop stopped, when every pool job has completed).
#pragma once

#include <uv.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>

#include "base/config.h"
#include "base/status.h"

namespace mailnest {

class DeliveryJournal;
class MessageIndex;
struct IndexedMessage;

struct DeleteResult {
  enum Code { kOk, kBusy, kGone, kError };
  Code code = kOk;
  size_t deleted = 0;
  std::string error;  // kError: for the answer (no message content)
};

class MessageDeleter {
 public:
  using Done = std::function<void(const DeleteResult&)>;

  // journal may be null (no journal: files are durable once renamed).
  MessageDeleter(uv_loop_t* loop, const Config& config, MessageIndex* index, DeliveryJournal* journal);

  // One message; kGone when its file is no longer there.
  void DeleteOne(const IndexedMessage& m, Done done);
  // Every message file in the mailbox's new/ and cur/.
  void DeleteMailbox(const std::string& mailbox, Done done);

 private:
  struct Op;
  void Start(std::shared_ptr<Op> op);
  void AfterLock(std::shared_ptr<Op> op);
  void Remove(std::shared_ptr<Op> op);
  void Finish(std::shared_ptr<Op> op);

  uv_loop_t* loop_;
  const Config& config_;
  MessageIndex* index_;
  DeliveryJournal* journal_;
};

}  // namespace mailnest
