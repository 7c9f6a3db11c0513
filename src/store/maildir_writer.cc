#include "store/maildir_writer.h"

#include <utility>

#include "store/delivery_journal.h"
#include "store/fs_env.h"
#include "store/mailbox_fs.h"
#include "store/maildir_files.h"
#include "uv/pool_job.h"

namespace mailnest {

namespace {

// Once spilling, hand the buffer to a job when at least this much waits
// (or at Commit), so a job never writes a few bytes at a time.
constexpr size_t kMinSpillChunk = 64 * 1024;

enum class JobKind { kSpill, kCommit, kCleanup, kReport };

}  // namespace

// Loop-thread fields are touched only on the loop thread. `files` is used
// by the single job in flight and otherwise by the loop thread; uv's
// queue/after-work handoff orders those accesses.
struct MaildirDelivery::State : std::enable_shared_from_this<MaildirDelivery::State> {
  uv_loop_t* loop = nullptr;
  StoreOptions opts;
  FsEnv* env = nullptr;

  DeliveryFiles files;
  Status begin_status = Status::Invalid("Begin() was not called");

  std::string buffer;          // bytes not yet handed to a job
  size_t in_flight = 0;        // bytes held by the running job
  bool job_running = false;
  bool spilling = false;       // past kSpillThreshold: data goes to tmp/ as it comes
  bool above = false;          // backlog went over the threshold: owe on_drained
  bool committed = false;
  bool aborted = false;
  bool cancelled = false;      // Done must not be called (aborted or owner gone)
  bool finished = false;       // the commit job completed
  Status failure;              // first failure of a spill job
  std::function<void()> on_drained;
  Done done;

  size_t backlog() const { return buffer.size() + in_flight; }

  void Append(const char* data, size_t len);
  void StartSpill();
  void StartCommit();
  void StartCleanup();
  void Queue(JobKind kind, std::string data, Status report = Status::Ok());
  void AfterSpill(Status s);
  void AfterCommit(Status s);
  void MaybeDrained();
};

namespace {

// What one thread-pool job does with the delivery's files. Runs on a pool
// thread; returns the verdict the loop thread acts on.
Status RunJob(JobKind kind, DeliveryFiles* f, const std::string& data, Status report) {
  Status result = std::move(report);
  switch (kind) {
    case JobKind::kSpill:
      result = WriteChunk(f, data);
      if (!result.ok()) RemoveCreated(f);
      break;
    case JobKind::kCommit:
      result = WriteChunk(f, data);
      if (result.ok()) result = Publish(f);
      if (!result.ok()) RemoveCreated(f);
      break;
    case JobKind::kCleanup:
      RemoveCreated(f);
      break;
    case JobKind::kReport:  // no I/O: carries an earlier verdict to the loop
      break;
  }
  return result;
}

}  // namespace

void MaildirDelivery::State::Queue(JobKind kind, std::string data, Status report) {
  // Shared by the pool-thread half and the loop-thread half of the job; the
  // State stays alive through both (the owner may be gone by then).
  struct Job {
    std::shared_ptr<MaildirDelivery::State> st;
    JobKind kind;
    std::string data;
    Status result;
  };
  auto job = std::make_shared<Job>(Job{shared_from_this(), kind, std::move(data), std::move(report)});
  in_flight = job->data.size();
  job_running = true;
  QueuePoolJob(
      loop,
      [job] {
        job->result = RunJob(job->kind, &job->st->files, job->data, job->result);
        // A mailbox not yet known to be on the journal's filesystem took
        // this per-file fsync path; find out for the next delivery.
        if (job->kind == JobKind::kCommit && job->st->opts.journal && job->result.ok()) {
          const DeliveryFiles& f = job->st->files;
          for (const std::string& dir : f.mailbox_dirs) CheckMailboxFs(f.env, f.mail_root, dir);
        }
        std::string().swap(job->data);  // the bytes are on disk (or dropped): free them here
      },
      [job] {
        switch (job->kind) {
          case JobKind::kSpill:
            job->st->AfterSpill(job->result);
            break;
          case JobKind::kCommit:
          case JobKind::kReport:
            job->st->AfterCommit(job->result);
            break;
          case JobKind::kCleanup:
            job->st->job_running = false;
            break;
        }
      });
}

void MaildirDelivery::State::Append(const char* data, size_t len) {
  if (committed || aborted || !failure.ok() || !begin_status.ok()) return;
  buffer.append(data, len);
  if (!spilling && buffer.size() > kSpillThreshold) spilling = true;
  if (spilling && !job_running && buffer.size() >= kMinSpillChunk) StartSpill();
  if (backlog() > kSpillThreshold) above = true;
}

void MaildirDelivery::State::StartSpill() {
  std::string chunk;
  chunk.swap(buffer);
  Queue(JobKind::kSpill, std::move(chunk));
}

void MaildirDelivery::State::StartCommit() {
  if (!begin_status.ok()) {
    Queue(JobKind::kReport, {}, begin_status);
  } else if (!failure.ok()) {
    Queue(JobKind::kReport, {}, failure);
  } else if (opts.journal && opts.fsync && !spilling && !files.opened && AllOnJournalFs(files.mailbox_dirs)) {
    std::string whole;
    whole.swap(buffer);
    in_flight = whole.size();
    job_running = true;
    // The journal uses `files` on its thread until the callback, which
    // keeps this State (and so `files`) alive.
    opts.journal->Submit(&files, std::move(whole),
                         [st = shared_from_this()](Status s) { st->AfterCommit(std::move(s)); });
  } else {
    std::string rest;
    rest.swap(buffer);
    Queue(JobKind::kCommit, std::move(rest));
  }
}

void MaildirDelivery::State::StartCleanup() {
  buffer.clear();
  if (files.opened || files.fd >= 0 || !files.created.empty()) Queue(JobKind::kCleanup, {});
}

void MaildirDelivery::State::AfterSpill(Status s) {
  job_running = false;
  in_flight = 0;
  if (!s.ok() && failure.ok()) {
    failure = std::move(s);
    buffer.clear();  // nothing more will be written; let the session drain
  }
  if (aborted) {
    if (failure.ok()) StartCleanup();
    return;
  }
  if (committed) {
    StartCommit();
  } else if (failure.ok() && buffer.size() >= kMinSpillChunk) {
    StartSpill();
  }
  MaybeDrained();
}

void MaildirDelivery::State::AfterCommit(Status s) {
  job_running = false;
  in_flight = 0;
  finished = true;
  if (cancelled) return;
  Done d = std::move(done);
  done = nullptr;
  if (d) d(std::move(s), files.id);
}

void MaildirDelivery::State::MaybeDrained() {
  if (!above || backlog() > kSpillThreshold) return;
  above = false;
  std::function<void()> cb = on_drained;  // the callback may replace or destroy it
  if (cb) cb();
}

MaildirDelivery::MaildirDelivery(uv_loop_t* loop, const StoreOptions& opts, FsEnv* env)
    : state_(std::make_shared<State>()) {
  state_->loop = loop;
  state_->opts = opts;
  state_->env = env ? env : DefaultFsEnv();
}

MaildirDelivery::~MaildirDelivery() {
  if (!state_->committed) {
    Abort();
  } else {
    // Jobs finish the delivery (the message may land without a 250: a
    // possible duplicate, never a loss) but nobody is told.
    state_->cancelled = true;
  }
  state_->on_drained = nullptr;
  state_->done = nullptr;
}

void MaildirDelivery::Begin(std::vector<std::string> mailboxes) {
  state_->begin_status = PrepareDelivery(state_->env, state_->opts, mailboxes, &state_->files);
}

const std::string& MaildirDelivery::id() const { return state_->files.id; }

const std::string& MaildirDelivery::final_name() const { return state_->files.final_name; }

void MaildirDelivery::AppendHeader(std::string header) {
  state_->Append(header.data(), header.size());
}

void MaildirDelivery::Append(const char* data, size_t len) { state_->Append(data, len); }

size_t MaildirDelivery::backlog() const { return state_->backlog(); }

void MaildirDelivery::SetOnDrained(std::function<void()> cb) { state_->on_drained = std::move(cb); }

void MaildirDelivery::Commit(Done done) {
  State* st = state_.get();
  if (st->committed || st->aborted) return;
  st->committed = true;
  st->done = std::move(done);
  if (!st->job_running) st->StartCommit();
  // else AfterSpill starts the commit job when the running spill ends.
}

void MaildirDelivery::Abort() {
  State* st = state_.get();
  if (st->aborted || st->finished) return;
  st->aborted = true;
  st->cancelled = true;
  st->done = nullptr;
  st->on_drained = nullptr;
  if (st->committed) return;  // the commit job owns cleanup on failure
  st->buffer.clear();
  if (!st->job_running) st->StartCleanup();
  // else AfterSpill queues the cleanup once the running job is done.
}

}  // namespace mailnest
