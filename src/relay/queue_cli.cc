#include "relay/queue_cli.h"

#include <fmt/format.h>

#include "base/log.h"
#include "relay/queue_control.h"

namespace mailnest {

std::string QueueDirOf(const Config& config) {
  return config.relay.queue_dir.empty() ? config.mail_root + "/.queue" : config.relay.queue_dir;
}

int RunQueueControl(const Config& config, const std::string& action, const std::string& id) {
  QueueFiles q;
  q.dir = QueueDirOf(config);
  q.fsync = config.store.fsync;
  QueueRequest r;
  r.action = action == "flush" ? QueueAction::kFlush : action == "retry" ? QueueAction::kRetry : QueueAction::kDelete;
  r.id = id;
  if (r.action != QueueAction::kFlush && !IsValidQueueId(id)) {
    fmt::print(stderr, "mailnest queue {}: '{}' is not a queue id\n", action, LogSafe(id, 64));
    return 2;
  }
  std::string how;
  Status s = RunQueueRequest(q, r, 10000, &how);
  if (!s.ok()) {
    fmt::print(stderr, "mailnest queue {}: {}\n", action, s.message());
    return s.code() == Status::Code::kNotFound ? 3 : 1;
  }
  fmt::print("{}{}{}: {}\n", action, id.empty() ? "" : " ", id, how);
  return 0;
}

}  // namespace mailnest
