#include "store/tmp_debris.h"

#include <signal.h>

#include <cerrno>
#include <set>
#include <vector>

#include "store/delivery_journal.h"
#include "store/fs_env.h"
#include "store/mailbox_path.h"

namespace mailnest {

namespace {

constexpr std::string_view kRecoveredSuffix = ".recovered";  // journal_recovery's tmp/ files

// Reads decimal digits at *i (at most 18); false if there are none.
bool Digits(std::string_view s, size_t* i, int64_t* out) {
  int64_t v = 0;
  size_t start = *i;
  while (*i < s.size() && s[*i] >= '0' && s[*i] <= '9' && *i - start < 18) {
    v = v * 10 + (s[*i] - '0');
    ++*i;
  }
  *out = v;
  return *i > start;
}

bool Expect(std::string_view s, size_t* i, char c) {
  if (*i >= s.size() || s[*i] != c) return false;
  ++*i;
  return true;
}

// Pids in the names of journal files some process holds locked: those
// processes run, maybe in another pid namespace (containers sharing the mail
// root, where kill() cannot see them). Journal files are named
// "<sec>.M<usec>P<pid>Q<seq>-a.journal" (store/delivery_journal.h).
std::set<int64_t> PidsHoldingJournals(const std::string& mail_root, FsEnv* env) {
  std::set<int64_t> out;
  const std::string dir = JournalDir(mail_root);
  std::vector<std::string> names;
  if (!env->ListDir(dir, &names).ok()) return out;
  for (const std::string& name : names) {
    if (!name.ends_with(".journal")) continue;
    size_t i = name.find(".M");
    if (i == std::string::npos || (i = name.find('P', i)) == std::string::npos) continue;
    ++i;
    int64_t pid = 0;
    if (!Digits(name, &i, &pid) || !Expect(name, &i, 'Q')) continue;
    int fd = -1;
    if (!env->OpenRead(dir + "/" + name, &fd).ok()) continue;
    bool held = false;
    if (env->TryLock(fd, &held).ok() && held) out.insert(pid);
    env->Close(fd);  // drops our lock if we got it
  }
  return out;
}

bool ProcessRuns(int64_t pid) {
  if (pid <= 0 || pid > INT32_MAX) return true;  // not a pid we can check: keep its files
  return ::kill(static_cast<pid_t>(pid), 0) == 0 || errno != ESRCH;  // EPERM: runs, not ours
}

}  // namespace

bool ParseTmpName(std::string_view name, TmpNameParts* out) {
  size_t i = 0;
  int64_t seq = 0;
  if (!Digits(name, &i, &out->sec) || !Expect(name, &i, '.') || !Expect(name, &i, 'M') ||
      !Digits(name, &i, &out->usec) || !Expect(name, &i, 'P') || !Digits(name, &i, &out->pid) ||
      !Expect(name, &i, 'Q') || !Digits(name, &i, &seq) || !Expect(name, &i, '.')) {
    return false;
  }
  std::string_view host = name.substr(i);
  if (host.ends_with(kRecoveredSuffix)) host.remove_suffix(kRecoveredSuffix.size());
  host = host.substr(0, host.find(','));
  if (host.empty()) return false;
  out->host.assign(host);
  return true;
}

std::string TmpNameOf(std::string_view final_name) {
  return std::string(final_name.substr(0, final_name.find(',')));
}

Status RemoveTmpDebris(const TmpDebrisOptions& opts, FsEnv* env, TmpDebrisReport* report) {
  if (!env) env = DefaultFsEnv();
  *report = TmpDebrisReport{};
  auto alive = opts.alive ? opts.alive : ProcessRuns;
  const std::set<int64_t> journal_pids = PidsHoldingJournals(opts.mail_root, env);
  std::vector<std::string> boxes;
  int err = 0;
  Status s = env->ListDir(opts.mail_root, &boxes, &err);
  if (!s.ok()) return err == ENOENT ? Status::Ok() : s;
  for (const std::string& box : boxes) {
    std::string dir;
    if (!MailboxDir(opts.mail_root, box, &dir).ok()) continue;  // ".journal", stray names
    const std::string tmp = dir + "/tmp";
    std::vector<std::string> names;
    if (!env->ListDir(tmp, &names).ok()) continue;  // not a mailbox (a file, no tmp/)
    for (const std::string& name : names) {
      TmpNameParts parts;
      bool dead = ParseTmpName(name, &parts) && parts.host == opts.host &&
                  (parts.pid == opts.self_pid
                       ? (parts.sec < opts.started_sec ||
                          (parts.sec == opts.started_sec && parts.usec < opts.started_usec))
                       : !alive(parts.pid)) &&
                  !journal_pids.count(parts.pid);
      FileInfo info;
      const std::string path = tmp + "/" + name;
      if (dead && env->Stat(path, &info).ok() && !info.is_dir && env->Unlink(path).ok()) {
        ++report->removed;
        report->bytes += info.size;
      } else {
        ++report->kept;
      }
    }
  }
  return Status::Ok();
}

}  // namespace mailnest
