#include "base/live_hooks.h"

namespace mailnest {

LiveHooks& GlobalLiveHooks() {
  static LiveHooks hooks;
  return hooks;
}

}  // namespace mailnest
