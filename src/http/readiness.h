// What /readyz reports: 200 only once journal recovery is done and every
// enabled listener is bound (and, from the index on, its first scan is
// done); otherwise 503 with the first reason found. Loop-thread only.
#pragma once

#include <string>

namespace mailnest {

struct Readiness {
  bool recovery_done = false;
  bool smtp_pending = false;  // enabled but not bound yet
  bool pop3_pending = false;
  bool http_pending = false;
  bool index_pending = false;  // message index not built yet

  // "" when ready.
  std::string Reason() const {
    if (!recovery_done) return "journal recovery not done";
    if (smtp_pending) return "smtp listener not bound";
    if (pop3_pending) return "pop3 listener not bound";
    if (http_pending) return "http listener not bound";
    if (index_pending) return "message index building";
    return "";
  }
};

}  // namespace mailnest
