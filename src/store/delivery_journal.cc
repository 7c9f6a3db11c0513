#include "store/delivery_journal.h"

#include <algorithm>
#include <atomic>
#include <utility>

#include "base/thread_role.h"
#include "store/fs_env.h"
#include "store/journal_record.h"
#include "store/maildir_files.h"
#include "store/maildir_name.h"
#include "uv/loop_waker.h"

namespace mailnest {

// One submitted message, shared by its two stages (sealed: written into
// tmp/ by a publisher; synced: its record durable in a journal file).
struct DeliveryJournal::Job {
  DeliveryFiles* files = nullptr;
  std::string content;
  Done done;
  std::atomic<int> stages{2};
  Status sealed;         // written by the publisher before its decrement
  Status synced;         // written by the appender before its decrement
  File* file = nullptr;  // the journal file that holds its record
  std::string record_name;  // the final name its record carries (set by the appender)
};

// One of the two journal files. Owned by the appender while active, by the
// checkpointer while busy; the hand-over goes through cp_mu_.
struct DeliveryJournal::File {
  std::string path;
  int fd = -1;
  uint64_t generation = 1;   // of the marker at offset 0 and the live records
  // The tail is written by the appender and, for a revocation, by a
  // publisher (Revoke); tail_mu orders those writes so none overwrites
  // another. offset and broken are guarded by it.
  std::mutex tail_mu;
  uint64_t offset = 0;       // where the next batch goes
  bool has_records = false;  // live records since the last marker
  Status broken;             // a failed sync: nothing written here can be trusted
  bool busy = false;         // guarded by cp_mu_: with the checkpointer
  uint64_t unfinished = 0;   // guarded by pub_mu_: synced jobs not yet in new/
};

// Work for the checkpointer, done in order: retire `file` (if any), then
// answer `barriers`; `stop` ends the thread.
struct DeliveryJournal::Task {
  File* file = nullptr;
  std::vector<Done> barriers;
  bool stop = false;
};

std::string JournalDir(const std::string& mail_root) { return mail_root + "/.journal"; }

uint64_t DeliveryJournal::TailOf(File* file) {
  std::lock_guard<std::mutex> l(file->tail_mu);
  return file->offset;
}

namespace {

// "<mail_root>/<name>" → "<name>": the record stores names, not paths, so a
// journal stays valid if mail_root is reached through another path later.
std::string MailboxNameOf(const std::string& dir) {
  size_t slash = dir.find_last_of('/');
  return slash == std::string::npos ? dir : dir.substr(slash + 1);
}

}  // namespace

DeliveryJournal::DeliveryJournal(uv_loop_t* loop, JournalOptions opts, FsEnv* env)
    : loop_(loop), opts_(std::move(opts)), env_(env ? env : DefaultFsEnv()) {}

DeliveryJournal::~DeliveryJournal() {
  if (appender_.joinable()) {
    // Not closed (an error path in main): finish the work, then stop.
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    appender_.join();
    checkpointer_.join();  // it stops the publishers
  }
  for (auto& f : files_) {
    if (f && f->fd >= 0) env_->Close(f->fd);
  }
  if (waker_) waker_->Close(nullptr);  // the threads are gone: nothing wakes it now
}

Status DeliveryJournal::OpenFile(File* file, const std::string& base) {
  // Made under a name recovery ignores, locked, then renamed: a starting
  // process's recovery never sees an unlocked journal that is still live.
  const std::string creating = base + ".creating";
  file->path = base + ".journal";
  Status s = env_->OpenExclusive(creating, &file->fd);
  if (!s.ok()) return s;
  bool held = false;
  s = env_->TryLock(file->fd, &held);
  if (s.ok() && held) s = Status::IoError("journal " + creating + " is locked by another process");
  if (s.ok()) s = env_->Rename(creating, file->path);
  // Zero-filled ahead of use: a sync that overwrites allocated blocks costs
  // one device write, an append also an inode update (measured ~40% more).
  const std::string zeros(1 << 20, '\0');
  for (uint64_t at = 0; s.ok() && at < opts_.prealloc_bytes; at += zeros.size()) {
    s = env_->WriteAt(file->fd, at, zeros.data(), std::min<uint64_t>(zeros.size(), opts_.prealloc_bytes - at));
  }
  std::string marker;
  EncodeJournalMarker(file->generation, &marker);
  if (s.ok()) s = env_->WriteAt(file->fd, 0, marker.data(), marker.size());
  if (s.ok()) s = env_->DataSync(file->fd);
  file->offset = marker.size();
  if (!s.ok()) {
    env_->Close(file->fd);
    file->fd = -1;
    env_->Unlink(creating);
    env_->Unlink(file->path);
  }
  return s;
}

Status DeliveryJournal::Open() {
  const std::string dir = JournalDir(opts_.mail_root);
  bool created = false;
  Status s = env_->MakeDir(dir, &created);
  if (s.ok() && created) s = env_->SyncDir(opts_.mail_root);
  if (!s.ok()) return s;
  const std::string base = dir + "/" + MakeUniqueBase();
  for (int i = 0; i < 2; ++i) {
    files_[i] = std::make_unique<File>();
    if (s.ok()) s = OpenFile(files_[i].get(), base + (i == 0 ? "-a" : "-b"));
  }
  if (s.ok()) s = env_->SyncDir(dir);  // the names are durable before any record
  if (s.ok()) s = LoopWaker::Open(loop_, [this] { RunCompletions(); }, &waker_);
  if (!s.ok()) {
    for (auto& f : files_) {
      if (f->fd < 0) continue;
      env_->Close(f->fd);
      f->fd = -1;
      env_->Unlink(f->path);
    }
    return s;
  }
  active_ = files_[0].get();
  for (uint32_t i = 0; i < std::max<uint32_t>(1, opts_.publishers); ++i) {
    publishers_.emplace_back([this] {
      BecomeHelperThread("mn-publish");
      PublisherMain();
    });
  }
  checkpointer_ = std::thread([this] {
    BecomeHelperThread("mn-checkpoint");
    CheckpointerMain();
  });
  appender_ = std::thread([this] {
    BecomeHelperThread("mn-journal");
    AppenderMain();
  });
  return Status::Ok();
}

void DeliveryJournal::Submit(DeliveryFiles* files, std::string content, Done done) {
  files->fsync = false;  // the journal, then the checkpoint, make it durable
  auto job = std::make_shared<Job>();
  job->files = files;
  job->content = std::move(content);
  job->done = std::move(done);
  bool queued = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!stop_ && appender_.joinable()) {
      queue_.push_back(job);
      queued = true;
    }
  }
  // Closing: refuse (the SMTP server stops taking mail before it closes us).
  if (!queued) return RefuseClosed(std::move(job->done));
  // Only the appender is woken from here: waking a thread costs the loop
  // ~5-10 us on a VM, so the appender passes the batch on to the publishers.
  cv_.notify_one();
}

void DeliveryJournal::Barrier(Done done) {
  bool queued = false;
  {
    std::lock_guard<std::mutex> l(mu_);
    if (!stop_ && appender_.joinable()) {
      barriers_.push_back(std::move(done));
      queued = true;
    }
  }
  if (!queued) return RefuseClosed(std::move(done));
  cv_.notify_one();
}

void DeliveryJournal::RefuseClosed(Done done) {
  std::vector<Completion> out;
  out.push_back({std::move(done), Status::IoError("delivery journal is closed")});
  PostCompletions(std::move(out));
}

void DeliveryJournal::Close(std::function<void()> closed) {
  on_closed_ = std::move(closed);
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_one();
}

void DeliveryJournal::AppenderMain() {
  for (;;) {
    std::vector<std::shared_ptr<Job>> batch;
    std::vector<Done> barriers;
    bool stopping = false;
    {
      std::unique_lock<std::mutex> l(mu_);
      for (;;) {
        if (!queue_.empty() || !barriers_.empty() || stop_) break;
        if (!active_->has_records) {
          cv_.wait(l);
        } else if (cv_.wait_until(l, checkpoint_due_) == std::cv_status::timeout) {
          break;  // time to checkpoint
        }
      }
      uint64_t bytes = 0;
      size_t take = 0;
      while (take < queue_.size() &&
             (take == 0 || bytes + queue_[take]->content.size() <= opts_.max_batch_bytes)) {
        bytes += queue_[take]->content.size();
        ++take;
      }
      batch.assign(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(take));
      queue_.erase(queue_.begin(), queue_.begin() + static_cast<ptrdiff_t>(take));
      // A barrier covers what was submitted before it: only once the queue
      // is empty are all of those in this batch or appended already.
      if (queue_.empty()) {
        barriers.swap(barriers_);
        stopping = stop_;
      }
    }

    if (!batch.empty()) {
      // The publishers write the files into tmp/ while this thread syncs:
      // a job needs its file only once its own sync is over.
      {
        std::lock_guard<std::mutex> l(pub_mu_);
        for (const auto& job : batch) to_seal_.push_back(job);
      }
      pub_cv_.notify_all();
      AppendBatch(&batch);
    }
    if (stopping) {
      // The checkpointer retires what is left (the other file is already
      // queued if busy), removes the files and stops the publishers.
      std::lock_guard<std::mutex> l(cp_mu_);
      Task t;
      if (active_->has_records) {
        active_->busy = true;
        t.file = active_;
      }
      t.barriers = std::move(barriers);
      t.stop = true;
      tasks_.push_back(std::move(t));
      cp_cv_.notify_all();
      return;
    }
    if (!barriers.empty()) {
      if (active_->has_records) {
        Rotate(&barriers, /*wait=*/true);
      } else {
        // Nothing here to retire: answer after the checkpoint under way, if any.
        std::lock_guard<std::mutex> l(cp_mu_);
        tasks_.push_back(Task{nullptr, std::move(barriers), false});
        cp_cv_.notify_all();
      }
    } else if (active_->has_records && (TailOf(active_) >= opts_.checkpoint_bytes ||
                                        std::chrono::steady_clock::now() >= checkpoint_due_)) {
      std::vector<Done> none;
      // Other file still being retired (a slow syncfs): keep appending here
      // and look again shortly.
      if (!Rotate(&none, /*wait=*/false)) checkpoint_due_ += std::chrono::milliseconds(10);
    }
  }
}

bool DeliveryJournal::Rotate(std::vector<Done>* barriers, bool wait) {
  File* other = active_ == files_[0].get() ? files_[1].get() : files_[0].get();
  {
    std::unique_lock<std::mutex> l(cp_mu_);
    if (other->busy) {
      if (!wait) return false;
      cp_cv_.wait(l, [other] { return !other->busy; });
    }
    active_->busy = true;
    tasks_.push_back(Task{active_, std::move(*barriers), false});
  }
  cp_cv_.notify_all();
  active_ = other;
  return true;
}

void DeliveryJournal::AppendBatch(std::vector<std::shared_ptr<Job>>* batch) {
  File* file = active_;
  std::string records;
  for (const std::shared_ptr<Job>& job : *batch) {
    const DeliveryFiles* f = job->files;  // fields the publisher never writes
    std::vector<std::string> names;
    for (const std::string& dir : f->mailbox_dirs) names.push_back(MailboxNameOf(dir));
    WireSizeCounter counted;  // the publisher counts the same octets for the same name
    counted.Add(job->content);
    job->record_name = MakeMaildirFileName(f->id, f->host, job->content.size(), counted.wire());
    EncodeJournalRecord(file->generation, names, job->record_name, job->content, &records);
  }
  // A failed write is retried at the same offset by the next batch (what
  // reached the file may replay after a crash: a duplicate after our 451,
  // never a loss). A failed sync is final: after it the kernel may have
  // dropped dirty pages it reported once, so no later sync can be trusted
  // to cover them (the "fsyncgate" lesson, see SyncFile). Mail then gets
  // 451 until restart.
  // The offset moves on once the write is done, before the sync: a
  // revocation written meanwhile must go after these records (a failed sync
  // breaks the file for good anyway).
  Status s;
  {
    std::lock_guard<std::mutex> l(file->tail_mu);
    s = file->broken;
    if (s.ok()) s = env_->WriteAt(file->fd, file->offset, records.data(), records.size());
    if (s.ok()) file->offset += records.size();
  }
  if (s.ok()) s = SyncFile(file);
  if (s.ok()) {
    if (!file->has_records) {
      file->has_records = true;
      checkpoint_due_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(opts_.checkpoint_ms);
    }
    std::lock_guard<std::mutex> l(pub_mu_);
    file->unfinished += batch->size();
  }
  std::vector<std::shared_ptr<Job>> finish;
  for (const std::shared_ptr<Job>& job : *batch) {
    job->file = file;
    job->synced = s;
    if (StageDone(job.get())) finish.push_back(job);
  }
  if (finish.empty()) return;
  {
    std::lock_guard<std::mutex> l(pub_mu_);
    for (auto& job : finish) to_finish_.push_back(std::move(job));
  }
  pub_cv_.notify_one();
}

void DeliveryJournal::CheckpointerMain() {
  for (;;) {
    Task t;
    {
      std::unique_lock<std::mutex> l(cp_mu_);
      cp_cv_.wait(l, [this] { return !tasks_.empty(); });
      t = std::move(tasks_.front());
      tasks_.pop_front();
    }
    Status s;
    if (t.file) {
      {
        // The syncfs must cover the Maildir file of every record here.
        std::unique_lock<std::mutex> l(pub_mu_);
        File* f = t.file;
        published_cv_.wait(l, [f] { return f->unfinished == 0; });
      }
      s = Checkpoint(t.file);
      if (!s.ok() && !t.stop) {
        // Keep the file (its records are the durable copy); the waiting
        // barriers fail now, the retirement is retried before later tasks.
        std::vector<Completion> out;
        for (Done& b : t.barriers) out.push_back({std::move(b), s});
        PostCompletions(std::move(out));
        std::this_thread::sleep_for(std::chrono::milliseconds(opts_.checkpoint_ms));
        std::lock_guard<std::mutex> l(cp_mu_);
        tasks_.push_front(Task{t.file, {}, false});
        continue;
      }
    }
    std::vector<File*> retired;
    {
      std::lock_guard<std::mutex> l(cp_mu_);
      if (t.file && s.ok()) t.file->busy = false;
      for (auto& f : files_) {
        if (f->busy && s.ok()) s = Status::IoError("a journal file could not be retired: " + f->broken.message());
        if (!f->busy) retired.push_back(f.get());
      }
    }
    cp_cv_.notify_all();
    std::vector<Completion> out;
    for (Done& b : t.barriers) out.push_back({std::move(b), s});
    PostCompletions(std::move(out));
    if (!t.stop) continue;

    // Clean stop: a retired file holds nothing to recover; one that could
    // not be retired stays for the next start's recovery.
    for (File* f : retired) env_->Unlink(f->path);
    env_->SyncDir(JournalDir(opts_.mail_root));
    for (auto& f : files_) {
      env_->Close(f->fd);
      f->fd = -1;
    }
    {
      std::lock_guard<std::mutex> l(pub_mu_);
      pub_stop_ = true;
    }
    pub_cv_.notify_all();
    for (std::thread& p : publishers_) p.join();
    std::lock_guard<std::mutex> l(mu_);
    threads_done_ = true;
    if (waker_) waker_->Wake();
    return;
  }
}

Status DeliveryJournal::SyncFile(File* file) {
  Status s = env_->DataSync(file->fd);
  if (!s.ok()) {
    std::lock_guard<std::mutex> l(file->tail_mu);
    file->broken = Status::IoError("journal unusable since a failed sync: " + s.message());
  }
  return s;
}

void DeliveryJournal::ShrinkToPrealloc(File* file, uint64_t end, uint64_t marker_size) {
  // Records past the zero-filled part appended to the file (a busy second);
  // now retired, they would hold that space until the clean stop. On a full
  // disk it is better back in the filesystem. Best effort: a failure only
  // leaves the file longer, and retired bytes are never read as records.
  const uint64_t keep = std::max<uint64_t>(opts_.prealloc_bytes, marker_size);
  if (end > keep) env_->Truncate(file->fd, keep);
}

Status DeliveryJournal::Revoke(Job* job) {
  // Same file, same generation as the record: the file cannot be
  // checkpointed meanwhile, since this job still counts as unfinished.
  File* file = job->file;
  std::string rec;
  EncodeJournalRevocation(file->generation, job->record_name, &rec);
  Status s;
  {
    std::lock_guard<std::mutex> l(file->tail_mu);
    s = file->broken;
    if (s.ok()) s = env_->WriteAt(file->fd, file->offset, rec.data(), rec.size());
    if (s.ok()) file->offset += rec.size();
  }
  // Durable before the 451: a client that retries must not also get the
  // refused copy back from recovery after a crash.
  if (s.ok()) s = SyncFile(file);
  return s;
}

Status DeliveryJournal::Checkpoint(File* file) {
  // syncfs covers every file and directory entry published so far (they
  // are all on mail_root's filesystem); then a new marker at offset 0
  // retires every record of the file at once.
  Status s;
  {
    std::lock_guard<std::mutex> l(file->tail_mu);
    s = file->broken;
  }
  if (s.ok()) s = env_->SyncFs(opts_.mail_root);
  std::string marker;
  EncodeJournalMarker(file->generation + 1, &marker);
  if (s.ok()) s = env_->WriteAt(file->fd, 0, marker.data(), marker.size());
  if (s.ok()) s = SyncFile(file);
  if (s.ok()) {
    ++file->generation;
    uint64_t end;
    {
      std::lock_guard<std::mutex> l(file->tail_mu);
      end = file->offset;
      file->offset = marker.size();
      file->has_records = false;
    }
    ShrinkToPrealloc(file, end, marker.size());
  }
  return s;
}

void DeliveryJournal::PublisherMain() {
  for (;;) {
    std::shared_ptr<Job> job;
    std::vector<std::shared_ptr<Job>> finish;
    {
      std::unique_lock<std::mutex> l(pub_mu_);
      pub_cv_.wait(l, [this] { return !to_seal_.empty() || !to_finish_.empty() || pub_stop_; });
      if (!to_finish_.empty()) {
        finish.swap(to_finish_);  // replies first: sessions wait on them
      } else if (!to_seal_.empty()) {
        job = std::move(to_seal_.front());
        to_seal_.pop_front();
      } else {
        return;  // stopping, and nothing left
      }
    }
    if (job) {
      Status s = WriteChunk(job->files, job->content);
      if (s.ok()) s = Seal(job->files);
      job->sealed = s;
      if (StageDone(job.get())) finish.push_back(std::move(job));
    }
    std::vector<Completion> out;
    for (const std::shared_ptr<Job>& j : finish) Finish(j.get(), &out);
    PostCompletions(std::move(out));
  }
}

bool DeliveryJournal::StageDone(Job* job) {
  return job->stages.fetch_sub(1, std::memory_order_acq_rel) == 1;
}

void DeliveryJournal::Finish(Job* job, std::vector<Completion>* out) {
  DeliveryFiles* f = job->files;
  Status s = job->synced.ok() ? job->sealed : job->synced;
  if (s.ok()) s = MoveToNew(f);
  if (!s.ok()) RemoveCreated(f);
  // Refused after its record was synced: revoke the record before the 451,
  // or a restart after a crash would deliver what the client was told to
  // send again (a duplicate). If even that fails (the file is broken) the
  // record stays live: a possible duplicate, never a loss.
  if (!s.ok() && job->synced.ok()) {
    if (Status r = Revoke(job); !r.ok()) {
      s = Status::IoError(s.message() + "; its journal record could not be revoked (" + r.message() +
                          "), so a restart after a crash may deliver it");
    }
  }
  out->push_back({std::move(job->done), std::move(s)});
  if (!job->synced.ok()) return;
  bool idle;
  {
    std::lock_guard<std::mutex> l(pub_mu_);
    idle = --job->file->unfinished == 0;
  }
  if (idle) published_cv_.notify_all();
}

void DeliveryJournal::PostCompletions(std::vector<Completion> done) {
  if (done.empty()) return;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (Completion& c : done) results_.push_back(std::move(c));
  }
  // Outside the lock: the woken loop takes mu_ at once.
  if (waker_) waker_->Wake();
}

void DeliveryJournal::RunCompletions() {
  std::vector<Completion> ready;
  bool finished;
  {
    std::lock_guard<std::mutex> l(mu_);
    ready.swap(results_);
    finished = threads_done_;
  }
  for (Completion& c : ready) c.done(std::move(c.status));
  if (!finished || !waker_) return;
  appender_.join();
  checkpointer_.join();
  LoopWaker* w = waker_;
  waker_ = nullptr;
  w->Close([this] {
    if (on_closed_) {
      auto cb = std::move(on_closed_);
      on_closed_ = nullptr;
      cb();
    }
  });
}

}  // namespace mailnest
