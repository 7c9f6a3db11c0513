// Reads one message file in chunks on the thread pool, for RETR and TOP.
//
// The first Read() opens the file (O_RDONLY|O_CLOEXEC) and fstat()s it; the
// job that reaches the end closes it, so a message that fits one chunk costs
// one pool job. The fd stays open between chunks: once a read began, the
// bytes sent are those of that file even if it is unlinked meanwhile.
//
// Threads: every method on the loop thread; done runs on the loop thread.
// At most one Read() in flight. Destroying the reader with a read in flight
// is allowed: that done is then not called and the fd is closed by the job.
//
// Shared Maildirs: when `unique` is given and the file is not at `path` any
// more, the reader looks in the same directory for the message with that
// unique part (another program, e.g. Dovecot setting \Seen, renamed it to
// other flags). Only when no such file exists is it NotFound.
#pragma once

#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/status.h"

namespace mailnest {

class MessageReader {
 public:
  // chunk: read(2) size per job.
  // status: NotFound if the message vanished before it could be opened,
  // IoError for any other failure. chunk is valid until the next Read() or
  // the reader's destruction; eof means no more bytes follow.
  using Done = std::function<void(Status status, std::string_view chunk, bool eof)>;

  MessageReader(uv_loop_t* loop, std::string path, size_t chunk, std::string unique = {});
  ~MessageReader();
  MessageReader(const MessageReader&) = delete;
  MessageReader& operator=(const MessageReader&) = delete;

  void Read(Done done);
  bool reading() const { return reading_; }
  uint64_t offset() const;  // bytes handed out so far

  struct State;

 private:
  uv_loop_t* loop_;
  std::shared_ptr<State> state_;
  bool reading_ = false;
};

}  // namespace mailnest
