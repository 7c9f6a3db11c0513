// Keeps a MessageIndex equal to what is on disk: a first scan of
// mail_root/*/{new,cur} (names only), then inotify (uv_fs_event) on
// mail_root, on each mailbox directory and on its new/ and cur/. Changes
// by anyone count the same way: our own deliveries and POP3 deletions,
// other mailnest processes on the same root, Dovecot, a person's rm.
//
// Every disk look (readdir, stat) runs on the thread pool, one batch at a
// time; events arriving meanwhile are collected into the next batch. A
// batch re-checks each named file and re-lists each whole directory, so
// the index ends equal to the disk whatever order events came in.
// Loop-thread only, except the batch's disk work.
#pragma once

#include <uv.h>

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <deque>
#include <unordered_set>

#include "http/message_index.h"

namespace mailnest {

class IndexWatcher {
 public:
  // on_change runs after a batch changed the index; on_ready once, after
  // the first scan is in the index.
  // rescan_ms > 0: every so often, list everything again (the kernel
  // drops events when its inotify queue overflows, and says so to no one:
  // libuv ignores IN_Q_OVERFLOW).
  IndexWatcher(uv_loop_t* loop, std::string mail_root, MessageIndex* index, std::function<void()> on_change,
               std::function<void()> on_ready, uint64_t rescan_ms = 0);
  ~IndexWatcher();  // Close's done must have run (or Start never did)

  void Start();
  // Stops watching; done runs once every handle is closed and no batch runs.
  void Close(std::function<void()> done);

  size_t watches() const { return watches_.size(); }

  // The index already has mailbox/new/file_name (SMTP told it directly):
  // the one inotify event its arrival raises is dropped instead of costing
  // a thread-pool lstat. An event that was already collected into a batch
  // cancels the expectation when the batch applies, so a later event for
  // that name (its move to cur/, an rm) is not dropped. Bounded: the
  // oldest expectations are forgotten.
  void Expect(const std::string& mailbox, const std::string& file_name);
  static constexpr size_t kMaxExpected = 4096;

 private:
  enum class Kind { kRoot, kMailbox, kNew, kCur };
  struct Watched {
    uv_fs_event_t handle;  // first: callbacks get &handle
    IndexWatcher* owner;
    std::string mailbox;
    Kind kind;
  };
  struct Batch {
    bool scan_root = false;
    std::set<std::string> discover;                             // mailboxes to look at
    std::set<std::pair<std::string, bool>> list;                // (mailbox, in_new)
    std::set<std::tuple<std::string, bool, std::string>> check;  // (mailbox, in_new, file)
    bool empty() const { return !scan_root && discover.empty() && list.empty() && check.empty(); }
  };
  struct Outcome;
  struct RescanTimer {
    uv_timer_t timer;  // first: the callback gets &timer
    IndexWatcher* owner;
  };
  void Rescan();

  static void OnEvent(uv_fs_event_t* h, const char* filename, int events, int status);
  void Watch(const std::string& path, const std::string& mailbox, Kind kind);
  void Kick();  // runs the pending batch if none runs
  // listed_at_seq: the index's last seq when the batch was taken.
  void Apply(Outcome& out, uint64_t listed_at_seq);
  void MaybeClosed();
  static void RunBatch(const std::string& root, const Batch& batch, Outcome* out);

  uv_loop_t* loop_;
  std::string root_;
  MessageIndex* index_;
  std::function<void()> on_change_, on_ready_;
  std::map<std::string, Watched*> watches_;  // by path; freed in their close callbacks
  Batch pending_;
  bool running_ = false;  // a batch is on the thread pool
  bool ready_ = false;
  bool closing_ = false;
  int open_handles_ = 0;
  std::function<void()> closed_;
  uint64_t rescan_ms_;
  std::unordered_set<std::string> expected_;  // "mailbox/file" in new/
  std::deque<std::string> expected_order_;    // oldest first, for the bound
  RescanTimer* rescan_ = nullptr;  // freed in its close callback
};

}  // namespace mailnest
