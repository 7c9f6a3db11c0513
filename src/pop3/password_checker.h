// crypt(3) checks on a few dedicated threads, apart from libuv's pool.
//
// Why not the pool: a yescrypt check costs tens of milliseconds of CPU and
// ~16 MiB of memory, and the pool also runs every file operation of SMTP
// deliveries and POP3 reads. A flood of bad logins queued there made a
// 400 kB delivery wait 40-56 s and memory climb by hundreds of MiB. Here
// at most `threads` checks run at once (memory bounded by that), at most
// `max_queued` wait, and a full queue is refused at once: the disk work of
// other sessions never waits behind a password.
//
// Threads: Submit() and the done callbacks run on the loop thread; the
// checks run on the checker's threads and report through a LoopWaker.
// Close() (loop thread) joins the threads; callbacks of checks still queued
// then are dropped, so close only once no session waits (server shutdown).
#pragma once

#include <uv.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "base/status.h"

namespace mailnest {

class LoopWaker;

class PasswordChecker {
 public:
  using Done = std::function<void(bool match)>;

  PasswordChecker(uv_loop_t* loop, unsigned threads, size_t max_queued);
  ~PasswordChecker();  // Close()s if still open
  PasswordChecker(const PasswordChecker&) = delete;
  PasswordChecker& operator=(const PasswordChecker&) = delete;

  Status Start();
  // Queues crypt(password, hash) == hash. false (and done never runs) when
  // max_queued checks are already waiting. The password is wiped after use.
  bool Submit(std::string password, std::string hash, Done done);
  void Close();

  size_t queued() const;

 private:
  struct Job {
    std::string password;
    std::string hash;
    Done done;
    bool match = false;
  };
  void Work();
  void Deliver();  // loop thread: runs the done callbacks of finished checks

  uv_loop_t* loop_;
  unsigned threads_;
  size_t max_queued_;
  LoopWaker* waker_ = nullptr;
  std::vector<std::thread> workers_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Job>> waiting_;   // guarded by mu_
  std::vector<std::unique_ptr<Job>> finished_;  // guarded by mu_
  bool stopping_ = false;                       // guarded by mu_
};

}  // namespace mailnest
