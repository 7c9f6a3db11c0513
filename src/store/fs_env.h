// The filesystem operations the Maildir writer needs, behind an interface
// (after LevelDB's Env) so tests can inject failures and simulate crashes.
//
// Threading: every method may be called from any thread at the same time
// (the writer calls them from libuv thread-pool jobs); implementations must
// be thread-safe. None of them may be called on the event-loop thread in
// server code.
//
// Errors: a failed call returns Status::IoError whose message names the
// operation and the path and includes strerror(errno). Where the caller
// must react to a specific errno (EXDEV, ENOENT, EEXIST), the method takes
// an optional `int* err` that receives errno on failure and 0 on success.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace mailnest {

struct FileInfo {
  uint64_t size = 0;
  bool is_dir = false;
  uint32_t mode = 0;  // permission bits (st_mode & 07777)
  uint64_t dev = 0;   // st_dev: which filesystem holds it
};

class FsEnv {
 public:
  FsEnv() = default;
  FsEnv(const FsEnv&) = delete;
  FsEnv& operator=(const FsEnv&) = delete;
  virtual ~FsEnv();

  // Creates `path` with O_WRONLY|O_CREAT|O_EXCL|O_CLOEXEC, mode
  // store.file_mode (0600 unless SetStoreModes said otherwise).
  // OK: *fd is a new descriptor the caller must Close(); the file is empty
  // and did not exist before. Failure: *fd is -1, nothing was created.
  virtual Status OpenExclusive(const std::string& path, int* fd, int* err = nullptr) = 0;

  // Opens an existing file read-only. OK: *fd must be Close()d. Failure: *fd = -1.
  virtual Status OpenRead(const std::string& path, int* fd) = 0;

  // Writes all `len` bytes at the current offset (retries short writes and
  // EINTR). Failure: an unknown prefix may have been written.
  virtual Status WriteAll(int fd, const char* data, size_t len) = 0;

  // Reads up to `len` bytes. OK: *got is the count, 0 at end of file.
  virtual Status Read(int fd, char* buf, size_t len, size_t* got) = 0;

  // fsync(fd). OK: data and metadata written so far are durable. Failure:
  // durability of the file's contents is unknown (treat as lost).
  virtual Status Sync(int fd) = 0;

  // close(fd). The descriptor is released in every case (POSIX leaves it
  // unspecified on EINTR; Linux always releases it). Failure may mean a
  // delayed write error: treat the file's contents as unreliable.
  virtual Status Close(int fd) = 0;

  // link(from, to). OK: both names refer to one inode. Failure: `to` does
  // not exist; *err is EXDEV when the two are on different filesystems.
  virtual Status Link(const std::string& from, const std::string& to, int* err = nullptr) = 0;

  // rename(from, to), atomic replace. OK: only `to` names the file.
  // Failure: `from` still names it.
  virtual Status Rename(const std::string& from, const std::string& to) = 0;

  // unlink(path). Failure (including ENOENT): reported, nothing else changed.
  virtual Status Unlink(const std::string& path) = 0;

  // mkdir(path, store.dir_mode: 0700 unless SetStoreModes said otherwise). OK when it was created (*created = true) or already
  // exists as a directory (*created = false). Failure: no directory exists.
  virtual Status MakeDir(const std::string& path, bool* created) = 0;

  // Opens the directory and fsyncs it. OK: entries created, renamed or
  // removed in it before the call are durable.
  virtual Status SyncDir(const std::string& path) = 0;

  // stat(path). OK: *info filled. Failure: *err = errno (ENOENT when absent).
  virtual Status Stat(const std::string& path, FileInfo* info, int* err = nullptr) = 0;

  // --- used by the delivery journal (store/delivery_journal.h) ---

  // fdatasync(fd): the data written so far (and the size) is durable;
  // other metadata such as mtime may not be.
  virtual Status DataSync(int fd) = 0;

  // Writes all `len` bytes at `offset` (pwrite; retries short writes and
  // EINTR), leaving the file offset alone. Failure: an unknown part of the
  // range may have been written.
  virtual Status WriteAt(int fd, uint64_t offset, const char* data, size_t len) = 0;

  // syncfs() on the filesystem holding `path`: every file and directory
  // change made on it before the call is durable when it returns OK.
  virtual Status SyncFs(const std::string& path) = 0;

  // The names in directory `path` (without "." and ".."), unsorted.
  virtual Status ListDir(const std::string& path, std::vector<std::string>* names, int* err = nullptr) = 0;

  // flock(fd, LOCK_EX|LOCK_NB). OK with *held_elsewhere = true when another
  // open file description holds the lock (a live process owns the file).
  virtual Status TryLock(int fd, bool* held_elsewhere) = 0;

  // ftruncate(fd, size): the file ends at `size` (its blocks past it are
  // freed). Not durable until a later sync.
  virtual Status Truncate(int fd, uint64_t size) = 0;
};

// The process-wide POSIX implementation; never null, never freed.
FsEnv* DefaultFsEnv();

// The permission bits the POSIX env gives the message files and the
// directories it creates (store.file_mode / store.dir_mode, e.g. 0640 /
// 0750 to share a mail root with a reader in the same group). Call once at
// start, before any store I/O; the umask still applies (main loosens it by
// exactly these bits).
void SetStoreModes(uint32_t file_mode, uint32_t dir_mode);

}  // namespace mailnest
