// Names and schedules the process's helper threads.
//
// The event loop thread answers every client; the helper threads (journal,
// publishers, checkpointer, log writer) only feed it. On a small machine a
// helper that wakes up would otherwise preempt the loop thread in the middle
// of a burst of replies (measured: ~0.8 involuntary context switches of the
// loop thread per delivered message at 20 SMTP sessions on two cores).
// SCHED_BATCH tells the kernel's fair scheduler that a woken helper must
// not preempt the running thread; it still gets its fair share of CPU.
#pragma once

namespace mailnest {

// Call first thing on a helper thread. name: at most 15 characters, shown
// by `top -H`, `ps -L` and perf. Scheduling failures are ignored (the
// thread then runs as an ordinary thread, which is only slower).
void BecomeHelperThread(const char* name);

}  // namespace mailnest
