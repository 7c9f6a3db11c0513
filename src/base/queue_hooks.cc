#include "base/queue_hooks.h"

namespace mailnest {

QueueHooks& GlobalQueueHooks() {
  static QueueHooks hooks;
  return hooks;
}

}  // namespace mailnest
