// The delivery journal: durability for small messages by group commit.
//
// Why (docs/ARCHITECTURE.md, "Delivery journal"): on the disks we measured,
// fsync of every new file plus its directory costs three synchronous device
// round trips per message, and that, not mailnest's code, capped SMTP
// intake. Here each accepted message is appended to a journal file; one
// fdatasync makes a whole batch durable (every session waiting at that
// moment shares it). Only then is each message published into its Maildir
// (tmp/ → rename into new/, no fsync), and only then does SMTP say 250. A
// checkpoint later (syncfs of the mail filesystem) makes the Maildir files
// themselves durable and retires their records.
//
// Crash contract: a message whose Submit completed OK is, after a crash and
// RecoverJournals() at the next start, in its Maildir with exactly the
// octets it was accepted with — restored from the journal if its file is
// missing or torn. A message may be delivered without a 250 (the journal
// was synced, then the crash), never lost after one.
//
// Deleting a message: a file whose record is not yet retired would come
// back after a crash. Whoever deletes Maildir files (POP3 UPDATE) first
// calls Barrier(), which completes once every message published so far is
// durable in its Maildir and its record retired.
//
// Threads:
//   the appender takes everything queued as one batch, hands the batch to
//     the publishers, writes its records to the active journal file and
//     fdatasyncs (the loop wakes only this thread: a wake-up is not free);
//   publishers (opts.publishers) write each message into tmp/ (no fsync)
//     while the appender syncs, so only a rename follows the sync; they
//     also do those renames into new/ and post the replies, one wake-up of
//     the loop per batch (the appender, the pipeline's one serial step,
//     goes straight on to its next fdatasync);
//   the checkpointer retires a journal file: the appender hands it the full
//     file and switches to the other of its two files, so appends never
//     wait for a syncfs.
// The loop thread only queues work; completions reach it through a
// LoopWaker (uv/loop_waker.h says why not a uv_async_t). Submit, Barrier
// and Close are loop-thread calls; callbacks run on the loop.
#pragma once

#include <uv.h>

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"

namespace mailnest {

class FsEnv;
class LoopWaker;
struct DeliveryFiles;

struct JournalOptions {
  std::string mail_root;
  uint32_t checkpoint_ms = 1000;                  // retire records at most about this long after the sync
  uint64_t checkpoint_bytes = 64u * 1024 * 1024;  // … or once a journal file holds this much
  uint64_t max_batch_bytes = 8u * 1024 * 1024;    // octets appended per fdatasync, at most
  // Threads writing the Maildir files. One: a second one writing into the
  // same tmp/ and new/ contends for their directory locks (perf:
  // rwsem_spin_on_owner), ~15% more CPU per message for no gain in rate.
  uint32_t publishers = 1;
  // Zero-filled per journal file at Open; a checkpoint truncates a file that
  // grew past it back to this size. main sizes it to the free space
  // (store/journal_space.h).
  uint64_t prealloc_bytes = 4u * 1024 * 1024;
};

// The folder under mail_root that holds every process's journal files.
// Mailbox names never start with '.', so it cannot collide with a mailbox.
std::string JournalDir(const std::string& mail_root);

class DeliveryJournal {
 public:
  using Done = std::function<void(Status)>;

  DeliveryJournal(uv_loop_t* loop, JournalOptions opts, FsEnv* env = nullptr);
  ~DeliveryJournal();  // should be Close()d first (else it stops its threads here)
  DeliveryJournal(const DeliveryJournal&) = delete;
  DeliveryJournal& operator=(const DeliveryJournal&) = delete;

  // Creates and locks this process's two journal files, zero-fills them and
  // starts the threads. Blocking: call before the loop runs.
  Status Open();

  // files: prepared by PrepareDelivery (no file opened yet); it must stay
  // alive, untouched, until done runs (done's closure may own it).
  // content: the whole message file. done(OK) once the message is durable
  // in the journal and visible in new/ of every mailbox; done(IoError) when
  // it is not (nothing is left in new/ then).
  void Submit(DeliveryFiles* files, std::string content, Done done);

  // done(OK) once every message published before this call is durable in
  // its Maildir and its journal record retired (a checkpoint ran).
  void Barrier(Done done);

  // Stops taking work, finishes what was submitted, checkpoints, removes the
  // journal files, stops the threads and closes the uv handle; then closed().
  void Close(std::function<void()> closed);

 private:
  struct Job;
  struct File;
  struct Task;
  struct Completion {
    Done done;
    Status status;
  };

  Status OpenFile(File* file, const std::string& path);
  void AppenderMain();
  void CheckpointerMain();
  void PublisherMain();
  // Appends the batch's records to the active file and syncs; then each
  // job's synced stage.
  void AppendBatch(std::vector<std::shared_ptr<Job>>* batch);
  // Hands the active file to the checkpointer (with the barriers that wait
  // for it) and switches to the other file. wait: block until the other
  // file is free; without it, give up (false) when it is still busy.
  bool Rotate(std::vector<Done>* barriers, bool wait);
  // One of a job's two stages (sync, seal) is over: true for the last one,
  // after which the job goes to Finish (always on a publisher thread).
  static bool StageDone(Job* job);
  // After both stages: moves the file into new/ (or removes it on an
  // error) and adds the job's reply to *out, posted by the caller so a
  // whole batch costs the loop one wake-up.
  void Finish(Job* job, std::vector<Completion>* out);
  Status Checkpoint(File* file);
  // fdatasync of a journal file; a failure marks it broken for good.
  Status SyncFile(File* file);
  // Appends and syncs a revocation of the job's synced record (its message
  // was refused): recovery then skips that record. Publisher thread.
  Status Revoke(Job* job);
  // After a checkpoint: gives back the blocks past prealloc_bytes that the
  // file grew into (end: where its records ended; the new marker, of
  // marker_size, always stays). Checkpointer thread.
  void ShrinkToPrealloc(File* file, uint64_t end, uint64_t marker_size);
  static uint64_t TailOf(File* file);  // file->offset, read under its tail_mu
  // done(IoError) later on the loop: Submit or Barrier after Close.
  void RefuseClosed(Done done);
  void PostCompletions(std::vector<Completion> done);
  void RunCompletions();

  uv_loop_t* loop_;
  JournalOptions opts_;
  FsEnv* env_;
  std::array<std::unique_ptr<File>, 2> files_;
  File* active_ = nullptr;  // appender thread only (and Open)
  std::chrono::steady_clock::time_point checkpoint_due_;  // appender thread only

  // Freed by its own close callback (uv/loop_waker.h).
  LoopWaker* waker_ = nullptr;
  std::function<void()> on_closed_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::shared_ptr<Job>> queue_;  // guarded by mu_: submitted, not yet appended
  std::vector<Done> barriers_;               // guarded by mu_
  bool stop_ = false;                        // guarded by mu_
  std::vector<Completion> results_;          // guarded by mu_: for the loop thread
  bool threads_done_ = false;                // guarded by mu_

  std::mutex cp_mu_;
  std::condition_variable cp_cv_;  // a task queued, or a file became free
  std::deque<Task> tasks_;         // guarded by cp_mu_

  std::mutex pub_mu_;
  std::condition_variable pub_cv_;            // work for the publishers
  std::condition_variable published_cv_;      // some file's unfinished count dropped to 0
  std::deque<std::shared_ptr<Job>> to_seal_;  // guarded by pub_mu_: not yet in tmp/
  // Guarded by pub_mu_: synced and sealed, to be renamed into new/. The
  // appender hands these over instead of renaming them itself, so its next
  // fdatasync (the pipeline's one serial step) starts sooner.
  std::vector<std::shared_ptr<Job>> to_finish_;
  bool pub_stop_ = false;                     // guarded by pub_mu_

  std::thread appender_;
  std::thread checkpointer_;
  std::vector<std::thread> publishers_;
};

}  // namespace mailnest
