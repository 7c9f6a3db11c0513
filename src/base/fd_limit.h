// The descriptor budget. Every connection costs descriptors, and under the
// common `ulimit -n 1024` the fd limit, not max_connections, used to be the
// real cap: accepts past it failed (libuv closes such connections without a
// word) and deliveries on open sessions failed with EMFILE. At start the
// soft RLIMIT_NOFILE is raised to the hard limit, and the connection limits
// are lowered to what fits, so the over-limit replies (421 4.3.2 / -ERR
// [SYS/TEMP]) are what a client sees instead.
#pragma once

#include <cstdint>
#include <string>

#include "base/config.h"

namespace mailnest {

// Descriptors one session may hold at once: SMTP the socket and the message
// file being written; POP3 the socket, the maildrop lock and the message
// being read.
inline constexpr uint64_t kFdsPerSmtpConnection = 2;
inline constexpr uint64_t kFdsPerPop3Connection = 3;
// Kept free for everything else: stdio, logs, the loop's own descriptors,
// listeners, the journal, turning an over-limit client away, and the
// directories and links of up to io_threads pool jobs at once.
uint64_t FdReserve(const Config& config);

struct FdBudget {
  uint64_t soft_before = 0;  // soft limit found at start
  uint64_t limit = 0;        // soft limit now (raised to the hard one if it could)
  uint64_t needed = 0;       // what the configured limits would need
  bool lowered = false;      // max_connections were reduced to fit
  std::string warning;       // set when lowered (for the log)
};

// Descriptors an accepted connection must leave free, or it is turned
// away at once. accept(2) returns the lowest free descriptor, so a new
// socket numbered within this margin of the soft limit means every one
// below is taken: the next accepts would fail with EMFILE, which libuv
// answers by closing the pending connections without a word, and open
// sessions could not open their message files.
inline constexpr int kAcceptFdMargin = 8;
bool NearFdLimit(int accepted_fd);

// Raises the soft limit and, if the enabled listeners' max_connections do
// not fit, lowers them: each listener may use half of what the reserve
// leaves, plus what the other does not need (at least 1 connection each).
FdBudget FitConnectionsToFdLimit(Config* config);

}  // namespace mailnest
