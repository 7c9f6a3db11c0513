// Runs a function on libuv's thread pool and a completion on the loop
// thread: the one way the POP3 maildrop and the Maildir writer touch the
// disk (the design rule "no disk I/O on the loop thread").
//
// Contract: work() runs on a pool thread and must not touch loop-owned
// state; after() runs afterwards on the loop thread. Whatever both share
// must be owned by the closures (e.g. a shared_ptr), because the caller may
// have moved on by then. Jobs are never cancelled, so after() always runs.
#pragma once

#include <uv.h>

#include <functional>

namespace mailnest {

void QueuePoolJob(uv_loop_t* loop, std::function<void()> work, std::function<void()> after);

}  // namespace mailnest
