// `mailnest messages [--config FILE] [--mailbox M] [--limit N]`: the newest
// messages (id, mailbox, date, size, flags) as the HTTP API lists them, for
// people without a browser. Built on the same index code: a MessageIndex
// filled by the IndexWatcher's own first scan (names only, on a private
// loop), then MessageIndex::List. No server needs to run.
#pragma once

namespace mailnest {

// argv[1] is "messages". Returns the process exit code (0, 1 error, 2 usage).
int RunMessagesCommand(int argc, char** argv);

}  // namespace mailnest
