// `mailnest queue flush | retry ID | delete ID` (docs/RELAY.md "Control"):
// safe beside a running instance (relay/queue_control.h).
#pragma once

#include <string>

#include "base/config.h"

namespace mailnest {

std::string QueueDirOf(const Config& config);
// action: "flush", "retry" or "delete"; returns the process exit code.
int RunQueueControl(const Config& config, const std::string& action, const std::string& id);

}  // namespace mailnest
