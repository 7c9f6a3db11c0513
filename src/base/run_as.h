// Running as an unprivileged user (config `run_as`), so a mail root can be
// shared with Dovecot running as that user, and ports 25/110 can still be
// bound by a server started as root (as in a Mininet lab).
//
// The sequence main follows when run_as is set and the process is root:
//   ResolveRunAs            names → ids (before anything else)
//   ActAs(ids)              supplementary groups, then effective gid/uid: every
//                           file made from here on (journal recovery, the
//                           journal, mailboxes) belongs to the run_as user
//   ActAsRoot()             effective uid 0 again, only to bind the listeners
//   DropPrivileges(ids)     real, effective and saved ids all become the
//                           user's; checked by trying to get root back
// glibc applies set*id calls to every thread of the process, so threads
// started earlier (log writers, the journal's) change with it.
#pragma once

#include <sys/types.h>

#include <string>

#include "base/config.h"
#include "base/status.h"

namespace mailnest {

struct RunAsIds {
  std::string user, group;
  uid_t uid = 0;
  gid_t gid = 0;
};

// Invalid naming the key when the user or group does not exist.
Status ResolveRunAs(const RunAsConfig& config, RunAsIds* out);
Status ActAs(const RunAsIds& ids);
Status ActAsRoot();
Status DropPrivileges(const RunAsIds& ids);

// "user mail (uid 8), group mail (gid 8)" for the effective ids.
std::string DescribeEffectiveUser();

}  // namespace mailnest
