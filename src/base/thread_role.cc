#include "base/thread_role.h"

#include <pthread.h>
#include <sched.h>

namespace mailnest {

void BecomeHelperThread(const char* name) {
  pthread_setname_np(pthread_self(), name);
  sched_param param{};
  param.sched_priority = 0;  // the only priority SCHED_BATCH has
  pthread_setschedparam(pthread_self(), SCHED_BATCH, &param);
}

}  // namespace mailnest
