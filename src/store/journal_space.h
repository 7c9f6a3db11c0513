// How big the delivery journal's files may be on the space the mail
// filesystem has left (store/delivery_journal.h, JournalOptions::prealloc_bytes).
//
// Why: the journal zero-fills two files at start (4 MiB each by default).
// On a nearly full disk that failed and mailnest did not start at all,
// which also took POP3 down, the one way users free space. So main sizes
// the files to a share of what is free, and below a floor runs without the
// journal (every message made durable by its own fsyncs, as with
// store.journal false), logging which it chose.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"

namespace mailnest {

// Of the free space, the two journal files together take at most a quarter.
constexpr uint64_t kJournalShareOfFree = 8;  // per file: free / 8
// Smaller files would be grown by appends at once (no gain over per-file
// fsync) and leave too little room for the messages themselves.
constexpr uint64_t kJournalMinPrealloc = 256 * 1024;

// min(wanted, free_bytes / 8) rounded down to 64 KiB; 0 when that is below
// kJournalMinPrealloc (run without the journal then).
uint64_t JournalPreallocFor(uint64_t free_bytes, uint64_t wanted);

// Bytes an unprivileged user could still write on path's filesystem
// (statvfs f_bavail × f_frsize). Blocking.
Status FreeBytes(const std::string& path, uint64_t* out);

}  // namespace mailnest
