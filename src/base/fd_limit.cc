#include "base/fd_limit.h"

#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>

namespace mailnest {

bool NearFdLimit(int accepted_fd) {
  rlimit rl{};  // read each time: the limit may be changed from outside (prlimit)
  if (accepted_fd < 0 || getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY) return false;
  return static_cast<uint64_t>(accepted_fd) + kAcceptFdMargin >= rl.rlim_cur;
}

uint64_t FdReserve(const Config& config) { return 32 + 2 * uint64_t{config.store.io_threads}; }

FdBudget FitConnectionsToFdLimit(Config* config) {
  FdBudget b;
  rlimit rl{};
  if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return b;  // nothing known: leave the limits alone
  b.soft_before = rl.rlim_cur;
  if (rl.rlim_cur != rl.rlim_max) {
    rlimit raised = rl;
    raised.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) rl = raised;
  }
  b.limit = rl.rlim_cur == RLIM_INFINITY ? UINT64_MAX : rl.rlim_cur;

  uint64_t smtp = config->smtp.listen.enabled ? config->smtp.max_connections : 0;
  uint64_t pop3 = config->pop3.listen.enabled ? config->pop3.max_connections : 0;
  uint64_t reserve = FdReserve(*config);
  b.needed = smtp * kFdsPerSmtpConnection + pop3 * kFdsPerPop3Connection + reserve;
  if (b.needed <= b.limit) return b;

  // Each enabled listener may use half the room; what one does not need
  // goes to the other (scaling both by one factor would cut a small limit,
  // e.g. smtp 2 next to pop3 10000, to nothing).
  uint64_t room = b.limit > reserve ? b.limit - reserve : 0;
  uint64_t smtp_fds = smtp * kFdsPerSmtpConnection, pop3_fds = pop3 * kFdsPerPop3Connection;
  uint64_t smtp_room = room, pop3_room = room;
  if (smtp > 0 && pop3 > 0) {
    if (smtp_fds <= room / 2) {
      pop3_room = room - smtp_fds;
    } else if (pop3_fds <= room / 2) {
      smtp_room = room - pop3_fds;
    } else {
      smtp_room = room / 2;
      pop3_room = room - room / 2;
    }
  }
  auto fit = [](uint64_t want, uint64_t fds_room, uint64_t per) {
    return static_cast<uint32_t>(std::max<uint64_t>(1, std::min(want, fds_room / per)));
  };
  b.lowered = true;
  std::string what;
  if (smtp > 0 && smtp_fds > smtp_room) {
    config->smtp.max_connections = fit(smtp, smtp_room, kFdsPerSmtpConnection);
    what += fmt::format(" smtp.max_connections {} -> {}", smtp, config->smtp.max_connections);
  }
  if (pop3 > 0 && pop3_fds > pop3_room) {
    config->pop3.max_connections = fit(pop3, pop3_room, kFdsPerPop3Connection);
    what += fmt::format(" pop3.max_connections {} -> {}", pop3, config->pop3.max_connections);
  }
  b.warning = fmt::format(
      "descriptor limit {} (RLIMIT_NOFILE, hard limit) is below the {} the connection limits need "
      "({}/SMTP and {}/POP3 connection + {} reserve); lowered:{}",
      b.limit, b.needed, kFdsPerSmtpConnection, kFdsPerPop3Connection, reserve, what);
  return b;
}

}  // namespace mailnest
