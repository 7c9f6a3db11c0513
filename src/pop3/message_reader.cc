#include "pop3/message_reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "store/maildir_lookup.h"
#include "uv/pool_job.h"

namespace mailnest {

// Shared by the reader and its jobs. Fields are touched by one side at a
// time: the loop thread only while no job is in flight.
struct MessageReader::State {
  std::string path;
  std::string unique;  // to find the message again if renamed; may be empty
  size_t chunk;
  int fd = -1;
  bool opened = false;
  uint64_t file_size = 0;
  uint64_t offset = 0;
  std::string buf;
  Status status;
  bool eof = false;
  bool owner_gone = false;  // set on the loop thread, read only there

  ~State() { CloseFile(); }

  // Pool thread (or the destructor, when no job can run any more).
  void CloseFile() {
    if (fd >= 0) ::close(fd);
    fd = -1;
  }

  void Fail(Status s) {
    status = std::move(s);
    eof = true;
    CloseFile();
  }

  // Pool thread.
  void ReadChunk() {
    buf.clear();
    if (!opened) {
      opened = true;
      fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
      int e = fd < 0 ? errno : 0;
      if (e == ENOENT && !unique.empty()) {
        const std::string dir = path.substr(0, path.find_last_of('/'));
        std::string now;
        if (FindByUnique(dir, unique, &now).ok()) {
          fd = ::open((dir + "/" + now).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
          e = fd < 0 ? errno : 0;
        }
      }
      if (fd < 0) {
        Fail(e == ENOENT ? Status::NotFound("message file vanished")
                         : Status::IoError(fmt::format("open: {}", strerror(e))));
        return;
      }
      struct stat st;
      if (::fstat(fd, &st) != 0) {
        Fail(Status::IoError(fmt::format("fstat: {}", strerror(errno))));
        return;
      }
      file_size = static_cast<uint64_t>(st.st_size);
    }
    size_t want = chunk;
    if (file_size - offset < want) want = static_cast<size_t>(file_size - offset);
    buf.resize(want);
    size_t got = 0;
    while (got < want) {
      ssize_t n = ::pread(fd, buf.data() + got, want - got, static_cast<off_t>(offset + got));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        Fail(Status::IoError(fmt::format("read: {}", strerror(errno))));
        buf.clear();
        return;
      }
      if (n == 0) break;  // the file shrank under us: send what it has
      got += static_cast<size_t>(n);
    }
    buf.resize(got);
    offset += got;
    if (got < want || offset >= file_size) {
      eof = true;
      CloseFile();
    }
  }
};

MessageReader::MessageReader(uv_loop_t* loop, std::string path, size_t chunk, std::string unique)
    : loop_(loop), state_(std::make_shared<State>()) {
  state_->path = std::move(path);
  state_->unique = std::move(unique);
  state_->chunk = chunk;
}

namespace {
// Closing is file I/O too: hand an open fd to a job.
void CloseInJob(uv_loop_t* loop, const std::shared_ptr<MessageReader::State>& st);
}  // namespace

MessageReader::~MessageReader() {
  state_->owner_gone = true;
  if (!reading_) CloseInJob(loop_, state_);
  // else: the read's completion sees owner_gone and closes it.
}

uint64_t MessageReader::offset() const { return state_->offset; }

void MessageReader::Read(Done done) {
  auto st = state_;
  if (st->eof) {  // nothing left (or failed before): answer without a job
    done(st->status, {}, true);
    return;
  }
  reading_ = true;
  QueuePoolJob(
      loop_, [st] { st->ReadChunk(); },
      [this, loop = loop_, st, done = std::move(done)] {
        if (st->owner_gone) {  // `this` is gone: only the fd is left to release
          CloseInJob(loop, st);
          return;
        }
        reading_ = false;
        done(st->status, st->buf, st->eof);
      });
}

namespace {
void CloseInJob(uv_loop_t* loop, const std::shared_ptr<MessageReader::State>& st) {
  if (st->fd < 0) return;
  QueuePoolJob(
      loop, [st] { st->CloseFile(); }, [st] {});
}
}  // namespace

}  // namespace mailnest
