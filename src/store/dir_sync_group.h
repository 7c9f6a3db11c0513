// Group commit for directory fsyncs: many deliveries renaming into the same
// new/ at about the same time share one fsync of that directory.
//
// Contract: call SyncCovering(env, dir) AFTER your rename into dir. It
// returns only once an fsync of dir that STARTED after the call has
// finished, so that fsync covers the rename. If one is already running
// (it may have started before our rename), the caller waits for it and
// then for the next one; a single caller runs each fsync (the "leader")
// while the others wait, so N concurrent callers cost ~2 fsyncs, not N.
//
// Thread-safe; blocks the calling thread (a thread-pool worker, never the
// loop thread). Process-wide, keyed by (env, dir).
#pragma once

#include <string>

#include "base/status.h"

namespace mailnest {

class FsEnv;

// The result is that of the fsync which covered the caller's request.
Status SyncDirCovering(FsEnv* env, const std::string& dir);

}  // namespace mailnest
