// Removes what crashed mailnest processes left in the mailboxes' tmp/.
//
// A delivery writes its file into tmp/ and renames it into new/; a crash in
// between leaves the tmp/ file behind: a whole message the journal has
// already restored (an orphan beside it in new/), or part of a large
// message that was still arriving (a spill file, up to the size limit).
// The Maildir convention removes tmp/ files after 36 hours (POP3 does that
// at login); after 30-50 crashes of large messages that was tens of MiB on
// a disk that may be full. So at start, before any delivery of its own,
// mailnest removes every tmp/ file that carries its own host name and the
// pid of a process that no longer runs (names are
// "<sec>.M<usec>P<pid>Q<seq>.<host>..." as store/maildir_name.h makes them).
// A file of a running process (another mailnest on the same mail root) is
// kept; so is a file whose pid now belongs to another running program (a
// reused pid after a reboot), which the 36-hour rule still catches. Our own
// pid counts as dead only for files named before this process started (a
// restarted container often gets the same pid). A process in another pid
// namespace (a container sharing the mail root) is invisible to kill(), so
// a pid whose journal file (.journal/…P<pid>Q…) is locked counts as running
// too. Gap: such a process running with the journal off has no lock to show,
// and its tmp/ files may be taken for debris if the pid is free here.
//
// Blocking; runs on the main thread before the loop starts (or any thread).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace mailnest {

class FsEnv;

struct TmpDebrisOptions {
  std::string mail_root;
  std::string host;          // sanitized (SanitizeMaildirHost), as in the names we make
  int64_t self_pid = 0;      // getpid()
  int64_t started_sec = 0;   // when this process started (gettimeofday)
  int64_t started_usec = 0;
  // Whether a process with this pid runs now; default: kill(pid, 0).
  std::function<bool(int64_t pid)> alive;
};

struct TmpDebrisReport {
  uint64_t removed = 0;  // files
  uint64_t bytes = 0;    // their sizes
  uint64_t kept = 0;     // tmp/ files left alone (live, foreign or not ours)
};

// The parts of a tmp/ name that say who made it. False for other names.
struct TmpNameParts {
  int64_t sec = 0, usec = 0, pid = 0;
  std::string host;  // up to ',' (",S=...") or a ".recovered" suffix
};
bool ParseTmpName(std::string_view name, TmpNameParts* out);

// Best effort per file: a file that cannot be removed is counted as kept.
// Fails only when mail_root cannot be listed.
Status RemoveTmpDebris(const TmpDebrisOptions& opts, FsEnv* env, TmpDebrisReport* report);

// The tmp/ name a message with this final name had while it was written
// ("<id>.<host>,S=<size>" → "<id>.<host>").
std::string TmpNameOf(std::string_view final_name);

}  // namespace mailnest
