// queue-fill DIR N [DEFER_S]: writes N deferred messages into the relay
// queue directory DIR with the server's own code (relay/queue_store.h
// WriteQueued: message then envelope, each tmp → rename; fsync off, the
// bench syncs once after), for scripts/bench-relay-queue. Each message is
// 1 KiB in the store's form with one recipient, attempts 1, next try
// DEFER_S (default 3600) seconds from now and a 4xx last reply, as a
// refusing next hop would have left it. Ids are MakeUniqueBase's.
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>

#include "relay/queue_store.h"
#include "store/maildir_name.h"

int main(int argc, char** argv) {
  using namespace mailnest;
  if (argc < 3) {
    std::fprintf(stderr, "usage: queue-fill DIR N [DEFER_S]\n");
    return 2;
  }
  QueueFiles q;
  q.dir = argv[1];
  q.fsync = false;
  const long n = std::atol(argv[2]);
  const long defer = argc > 3 ? std::atol(argv[3]) : 3600;
  if (Status s = EnsureQueueDir(q); !s.ok()) {
    std::fprintf(stderr, "queue-fill: %s\n", s.message().c_str());
    return 1;
  }
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  std::string body;
  for (int i = 0; i < 13; ++i) body += std::string(70, 'x') + "\n";
  for (long i = 0; i < n; ++i) {
    QueueEnvelope env;
    env.id = MakeUniqueBase();
    env.arrival = now - 60;
    env.sender = "alice@example.test";
    std::string msg = "Return-Path: <alice@example.test>\nReceived: from bench by mailnest id " + env.id +
                      "\nSubject: queued " + std::to_string(i) + "\nFrom: <alice@example.test>\n\n" + body;
    env.size = msg.size();
    QueueRecipient r;
    r.address = "user" + std::to_string(i) + "@b.test";
    r.attempts = 1;
    r.next_try = now + defer;
    r.last_attempt = now - 59;
    r.remote_mta = "127.0.0.1";
    r.last_reply = "451 4.3.0 try again later";
    env.recipients.push_back(r);
    if (Status s = WriteQueued(q, env, msg); !s.ok()) {
      std::fprintf(stderr, "queue-fill: %s\n", s.message().c_str());
      return 1;
    }
  }
  return 0;
}
