#include "base/fd_limit.h"

#include <fmt/format.h>
#include <sys/resource.h>

#include <algorithm>

namespace mailnest {

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

  // Scale both limits by the same factor, so each listener keeps its share.
  uint64_t room = b.limit > reserve ? b.limit - reserve : 0;
  uint64_t demand = b.needed - reserve;
  auto scaled = [&](uint64_t n) { return static_cast<uint32_t>(std::max<uint64_t>(1, n * room / demand)); };
  b.lowered = true;
  std::string what;
  if (smtp > 0) {
    config->smtp.max_connections = scaled(smtp);
    what += fmt::format(" smtp.max_connections {} -> {}", smtp, config->smtp.max_connections);
  }
  if (pop3 > 0) {
    config->pop3.max_connections = scaled(pop3);
    what += fmt::format(" pop3.max_connections {} -> {}", pop3, config->pop3.max_connections);
  }
  b.warning = fmt::format(
      "descriptor limit {} (RLIMIT_NOFILE, hard limit) is below the {} the connection limits need "
      "({}/SMTP and {}/POP3 connection + {} reserve); lowered:{}",
      b.limit, b.needed, kFdsPerSmtpConnection, kFdsPerPop3Connection, reserve, what);
  return b;
}

}  // namespace mailnest
