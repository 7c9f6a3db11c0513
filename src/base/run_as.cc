#include "base/run_as.h"

#include <grp.h>
#include <pwd.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include <fmt/format.h>

namespace mailnest {

namespace {

Status Errno(const char* what) { return Status::IoError(fmt::format("{}: {}", what, std::strerror(errno))); }

std::string UserName(uid_t uid) {
  std::vector<char> buf(16384);
  struct passwd pw, *res = nullptr;
  if (::getpwuid_r(uid, &pw, buf.data(), buf.size(), &res) == 0 && res) return pw.pw_name;
  return "?";
}

std::string GroupName(gid_t gid) {
  std::vector<char> buf(16384);
  struct group gr, *res = nullptr;
  if (::getgrgid_r(gid, &gr, buf.data(), buf.size(), &res) == 0 && res) return gr.gr_name;
  return "?";
}

}  // namespace

Status ResolveRunAs(const RunAsConfig& config, RunAsIds* out) {
  std::vector<char> buf(16384);
  struct passwd pw, *pres = nullptr;
  if (::getpwnam_r(config.user.c_str(), &pw, buf.data(), buf.size(), &pres) != 0 || !pres) {
    return Status::Invalid(fmt::format("run_as.user: no user '{}'", config.user));
  }
  out->user = config.user;
  out->uid = pw.pw_uid;
  out->gid = pw.pw_gid;
  if (!config.group.empty()) {
    struct group gr, *gres = nullptr;
    if (::getgrnam_r(config.group.c_str(), &gr, buf.data(), buf.size(), &gres) != 0 || !gres) {
      return Status::Invalid(fmt::format("run_as.group: no group '{}'", config.group));
    }
    out->gid = gr.gr_gid;
  }
  out->group = GroupName(out->gid);
  return Status::Ok();
}

Status ActAs(const RunAsIds& ids) {
  // The user's own supplementary groups, with the chosen group first.
  if (::initgroups(ids.user.c_str(), ids.gid) != 0) return Errno("initgroups");
  if (::setegid(ids.gid) != 0) return Errno("setegid");
  if (::seteuid(ids.uid) != 0) return Errno("seteuid");
  return Status::Ok();
}

Status ActAsRoot() {
  if (::seteuid(0) != 0) return Errno("seteuid(0)");
  if (::setegid(0) != 0) return Errno("setegid(0)");
  return Status::Ok();
}

Status DropPrivileges(const RunAsIds& ids) {
  if (::geteuid() != 0 && ::seteuid(0) != 0) return Errno("seteuid(0)");
  if (::setgid(ids.gid) != 0) return Errno("setgid");
  if (::setuid(ids.uid) != 0) return Errno("setuid");
  if (ids.uid != 0 && (::setuid(0) == 0 || ::seteuid(0) == 0)) {
    return Status::IoError("privileges could be regained after setuid");
  }
  return Status::Ok();
}

std::string DescribeEffectiveUser() {
  uid_t uid = ::geteuid();
  gid_t gid = ::getegid();
  return fmt::format("user {} (uid {}), group {} (gid {})", UserName(uid), uid, GroupName(gid), gid);
}

}  // namespace mailnest
