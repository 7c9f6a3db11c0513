#include "relay/queue_store.h"
#include "store/fault_fs_env.h"
#include "store/store_test_util.h"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace mailnest {
namespace {

using testing::TempDir;  // store/store_test_util.h

bool Exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

QueueEnvelope Env(const std::string& id) {
  QueueEnvelope e;
  e.id = id;
  e.arrival = 1700000000;
  e.sender = "a@a.test";
  e.size = 6;
  QueueRecipient r;
  r.address = "b@b.test";
  e.recipients.push_back(r);
  return e;
}

TEST_CASE("queue store: written, re-read, rewritten, removed", "[relay][queue]") {
  TempDir tmp;
  QueueFiles q;
  q.dir = tmp.path() + "/.queue";
  REQUIRE(EnsureQueueDir(q).ok());
  REQUIRE(WriteQueued(q, Env("1.M1P1Q1"), "hello\n").ok());
  CHECK(Exists(q.dir + "/1.M1P1Q1.qf"));  // one file: envelope, then message
  CHECK_FALSE(Exists(q.dir + "/1.M1P1Q1.qf.new"));
  CHECK_FALSE(Exists(q.dir + "/1.M1P1Q1.qe"));

  std::string body;
  REQUIRE(ReadQueuedMessage(q, "1.M1P1Q1", 1000, &body).ok());
  CHECK(body == "hello\n");
  CHECK_FALSE(ReadQueuedMessage(q, "1.M1P1Q1", 3, &body).ok());  // bounded

  QueueEnvelope e = Env("1.M1P1Q1");
  e.recipients[0].attempts = 2;
  REQUIRE(RewriteEnvelope(q, e).ok());
  CHECK(Exists(q.dir + "/1.M1P1Q1.qe"));  // the .qf's head is stale from now on
  REQUIRE(ReadQueuedMessage(q, "1.M1P1Q1", 1000, &body).ok());
  CHECK(body == "hello\n");
  QueueEnvelope read;
  REQUIRE(ReadQueuedEnvelope(q, "1.M1P1Q1", &read).ok());
  CHECK(read.recipients[0].attempts == 2);
  std::vector<QueueEnvelope> loaded;
  std::vector<std::string> problems;
  REQUIRE(LoadQueue(q, &loaded, &problems).ok());
  REQUIRE(loaded.size() == 1);
  CHECK(loaded[0].recipients[0].attempts == 2);
  CHECK(problems.empty());

  REQUIRE(RemoveQueued(q, "1.M1P1Q1").ok());
  CHECK_FALSE(Exists(q.dir + "/1.M1P1Q1.qf"));
  CHECK_FALSE(Exists(q.dir + "/1.M1P1Q1.qe"));
  CHECK(ReadQueuedEnvelope(q, "1.M1P1Q1", &read).code() == Status::Code::kNotFound);
}

// Queues written by earlier releases (.msg + .env) are read, rewritten and
// removed in their own layout.
TEST_CASE("queue store: the two-file layout of earlier releases still works", "[relay][queue]") {
  TempDir tmp;
  QueueFiles q;
  q.dir = tmp.path() + "/.queue";
  REQUIRE(EnsureQueueDir(q).ok());
  std::ofstream(q.dir + "/7.M1P1Q7.msg") << "old body\n";
  std::ofstream(q.dir + "/7.M1P1Q7.env") << EncodeEnvelope(Env("7.M1P1Q7"));
  std::string body;
  REQUIRE(ReadQueuedMessage(q, "7.M1P1Q7", 1000, &body).ok());
  CHECK(body == "old body\n");
  QueueEnvelope e = Env("7.M1P1Q7");
  e.recipients[0].attempts = 3;
  REQUIRE(RewriteEnvelope(q, e).ok());
  CHECK_FALSE(Exists(q.dir + "/7.M1P1Q7.qe"));
  std::vector<QueueEnvelope> listed;
  REQUIRE(ListQueued(q, &listed).ok());
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].recipients[0].attempts == 3);
  REQUIRE(RemoveQueued(q, "7.M1P1Q7").ok());
  CHECK_FALSE(Exists(q.dir + "/7.M1P1Q7.env"));
  CHECK_FALSE(Exists(q.dir + "/7.M1P1Q7.msg"));
}

TEST_CASE("queue store: start-up removes debris and keeps bad envelopes aside", "[relay][queue]") {
  TempDir tmp;
  QueueFiles q;
  q.dir = tmp.path() + "/.queue";
  REQUIRE(EnsureQueueDir(q).ok());
  REQUIRE(WriteQueued(q, Env("1.M1P1Q1"), "good\n").ok());
  std::ofstream(q.dir + "/2.M1P1Q2.msg") << "orphan\n";          // its envelope never landed
  std::ofstream(q.dir + "/3.M1P1Q3.env.new") << "half";          // never renamed
  std::ofstream(q.dir + "/4.M1P1Q4.msg") << "x\n";
  std::ofstream(q.dir + "/4.M1P1Q4.env") << "mailnest-queue 1\nid 4.M1P1Q4\n";  // torn
  std::ofstream(q.dir + "/6.M1P1Q6.qe") << EncodeEnvelope(Env("6.M1P1Q6"));  // its .qf left: orphan
  std::ofstream(q.dir + "/8.M1P1Q8.qf.new") << "half";                        // never renamed
  REQUIRE(WriteQueued(q, Env("9.M1P1Q9"), "nine\n").ok());
  std::ofstream(q.dir + "/9.M1P1Q9.qe") << "mailnest-queue 1\nid 9.M1P1Q9\n";  // torn rewrite
  std::vector<QueueEnvelope> loaded;
  std::vector<std::string> problems;
  REQUIRE(LoadQueue(q, &loaded, &problems).ok());
  REQUIRE(loaded.size() == 1);
  CHECK(loaded[0].id == "1.M1P1Q1");
  CHECK_FALSE(Exists(q.dir + "/2.M1P1Q2.msg"));
  CHECK_FALSE(Exists(q.dir + "/3.M1P1Q3.env.new"));
  CHECK_FALSE(Exists(q.dir + "/6.M1P1Q6.qe"));
  CHECK_FALSE(Exists(q.dir + "/8.M1P1Q8.qf.new"));
  REQUIRE(problems.size() == 2);
  CHECK(problems[0].find("4.M1P1Q4.env") != std::string::npos);
  CHECK(problems[1].find("9.M1P1Q9.qe") != std::string::npos);
  CHECK(Exists(q.dir + "/4.M1P1Q4.env.bad"));
  // A torn rewrite keeps the whole message aside: the .qf's head is stale.
  CHECK(Exists(q.dir + "/9.M1P1Q9.qe.bad"));
  CHECK(Exists(q.dir + "/9.M1P1Q9.qf.bad"));
}

// Every step of queueing can fail (disk full, EIO): the message is then not
// queued and nothing of it is left; once WriteQueued said OK, a power cut
// keeps it whole. The .msg is written in place (no tmp → rename), so these
// are the cases that show a torn one never counts.
TEST_CASE("queue store: a failed step leaves nothing, an acknowledged message survives a crash",
          "[relay][queue][faults]") {
  const std::string body = "Subject: x\n\nqueued body\n";
  for (FsOp op : {FsOp::kOpen, FsOp::kWrite, FsOp::kSync, FsOp::kClose, FsOp::kRename, FsOp::kSyncDir}) {
    for (int nth = 1; nth <= 3; ++nth) {
      DYNAMIC_SECTION(FsOpName(op) << " #" << nth) {
        TempDir tmp;
        FaultInjectingFsEnv fault;
        QueueFiles q;
        q.env = &fault;
        q.dir = tmp.path() + "/.queue";
        REQUIRE(EnsureQueueDir(q).ok());
        fault.FailNth(op, nth);
        Status s = WriteQueued(q, Env("5.M1P1Q5"), body);
        if (!s.ok()) {
          CHECK_FALSE(Exists(q.dir + "/5.M1P1Q5.env"));
          CHECK_FALSE(Exists(q.dir + "/5.M1P1Q5.env.new"));
          CHECK_FALSE(Exists(q.dir + "/5.M1P1Q5.msg"));
          continue;
        }
        fault.Crash();
        std::vector<QueueEnvelope> loaded;
        std::vector<std::string> problems;
        REQUIRE(LoadQueue(q, &loaded, &problems).ok());
        CHECK(problems.empty());
        REQUIRE(loaded.size() == 1);
        std::string got;
        REQUIRE(ReadQueuedMessage(q, "5.M1P1Q5", 1000, &got).ok());
        CHECK(got == body);
      }
    }
  }
}

}  // namespace
}  // namespace mailnest
