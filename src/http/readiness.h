// What /readyz reports: 200 only once journal recovery is done and every
// enabled listener is bound (and, from the index on, its first scan is
// done); otherwise 503 with the first reason found. Loop-thread only.
#pragma once

#include <functional>
#include <string>

namespace mailnest {

struct Readiness {
  bool recovery_done = false;
  // Set when the start-up recovery failed (a full disk) and is retried in
  // the background (store/store_startup.h): true until a retry succeeds.
  std::function<bool()> recovery_retrying;
  bool smtp_pending = false;  // enabled but not bound yet
  bool pop3_pending = false;
  bool http_pending = false;
  bool index_pending = false;  // message index not built yet

  // "" when ready.
  std::string Reason() const {
    if (!recovery_done) return "journal recovery not done";
    if (recovery_retrying && recovery_retrying()) return "journal recovery failed, retrying in the background";
    if (smtp_pending) return "smtp listener not bound";
    if (pop3_pending) return "pop3 listener not bound";
    if (http_pending) return "http listener not bound";
    if (index_pending) return "message index building";
    return "";
  }
};

}  // namespace mailnest
