#include "pop3/password_checker.h"

#include <string.h>

#include <utility>

#include "base/password.h"
#include "base/thread_role.h"
#include "uv/loop_waker.h"

namespace mailnest {

PasswordChecker::PasswordChecker(uv_loop_t* loop, unsigned threads, size_t max_queued)
    : loop_(loop), threads_(threads), max_queued_(max_queued) {}

PasswordChecker::~PasswordChecker() { Close(); }

Status PasswordChecker::Start() {
  Status s = LoopWaker::Open(loop_, [this] { Deliver(); }, &waker_);
  if (!s.ok()) return s;
  for (unsigned i = 0; i < threads_; ++i) workers_.emplace_back([this] { Work(); });
  return Status::Ok();
}

bool PasswordChecker::Submit(std::string password, std::string hash, Done done) {
  auto job = std::make_unique<Job>();
  job->password = std::move(password);
  job->hash = std::move(hash);
  job->done = std::move(done);
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || waiting_.size() >= max_queued_) {
      explicit_bzero(job->password.data(), job->password.size());
      return false;
    }
    waiting_.push_back(std::move(job));
  }
  cv_.notify_one();
  return true;
}

size_t PasswordChecker::queued() const {
  std::lock_guard<std::mutex> lock(mu_);
  return waiting_.size();
}

void PasswordChecker::Work() {
  BecomeHelperThread("mn-passwd");
  for (;;) {
    std::unique_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mu_);
      cv_.wait(lock, [this] { return stopping_ || !waiting_.empty(); });
      if (stopping_) return;
      job = std::move(waiting_.front());
      waiting_.pop_front();
    }
    job->match = VerifyPassword(job->password, job->hash);
    explicit_bzero(job->password.data(), job->password.size());
    {
      std::lock_guard<std::mutex> lock(mu_);
      finished_.push_back(std::move(job));
    }
    waker_->Wake();
  }
}

void PasswordChecker::Deliver() {
  std::vector<std::unique_ptr<Job>> done;
  {
    std::lock_guard<std::mutex> lock(mu_);
    done.swap(finished_);
  }
  for (auto& job : done) job->done(job->match);
}

void PasswordChecker::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_) return;
    stopping_ = true;
    for (auto& job : waiting_) explicit_bzero(job->password.data(), job->password.size());
    waiting_.clear();
  }
  cv_.notify_all();
  for (auto& t : workers_) t.join();
  workers_.clear();
  finished_.clear();
  if (waker_) std::exchange(waker_, nullptr)->Close(nullptr);
}

}  // namespace mailnest
