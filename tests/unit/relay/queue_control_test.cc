#include "relay/queue_control.h"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>

namespace mailnest {
namespace {

class TempQueue {
 public:
  TempQueue() {
    char tmpl[] = "/tmp/mailnest-qctl-XXXXXX";
    q.dir = mkdtemp(tmpl);
    q.fsync = false;
  }
  ~TempQueue() { std::system(("rm -rf '" + q.dir + "'").c_str()); }
  QueueFiles q;
};

bool Exists(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0;
}

QueueEnvelope Deferred(const std::string& id) {
  QueueEnvelope e;
  e.id = id;
  e.arrival = 1700000000;
  e.sender = "a@a.test";
  e.size = 2;
  QueueRecipient r;
  r.address = "b@b.test";
  r.attempts = 1;
  r.next_try = 1900000000;
  r.last_reply = "4.4.1 connect to x: refused";
  e.recipients.push_back(r);
  return e;
}

TEST_CASE("queue control: request files round-trip, bad names never count", "[relay][control]") {
  TempQueue t;
  REQUIRE(PostQueueRequest(t.q, {QueueAction::kFlush, ""}).ok());
  REQUIRE(PostQueueRequest(t.q, {QueueAction::kDelete, "1700000000.M1P2Q3"}).ok());
  REQUIRE(PostQueueRequest(t.q, {QueueAction::kRetry, "1700000000.M1P2Q4"}).ok());
  CHECK(PostQueueRequest(t.q, {QueueAction::kDelete, "../../etc/passwd"}).code() == Status::Code::kInvalid);
  CHECK(PostQueueRequest(t.q, {QueueAction::kRetry, ""}).code() == Status::Code::kInvalid);
  std::ofstream(QueueControlDir(t.q) + "/junk") << "x";
  std::ofstream(QueueControlDir(t.q) + "/delete.a b") << "x";
  std::vector<QueueRequest> got;
  REQUIRE(ListQueueRequests(t.q, &got).ok());
  REQUIRE(got.size() == 3);
  int flush = 0, del = 0, retry = 0;
  for (const QueueRequest& r : got) {
    if (r.action == QueueAction::kFlush) ++flush;
    if (r.action == QueueAction::kDelete && r.id == "1700000000.M1P2Q3") ++del;
    if (r.action == QueueAction::kRetry && r.id == "1700000000.M1P2Q4") ++retry;
  }
  CHECK((flush == 1 && del == 1 && retry == 1));
  CHECK_FALSE(Exists(QueueControlDir(t.q) + "/junk"));  // removed, not acted on
  RemoveQueueRequest(t.q, got[0]);
  got.clear();
  REQUIRE(ListQueueRequests(t.q, &got).ok());
  CHECK(got.size() == 2);
}

TEST_CASE("queue control: the lock tells whether an instance runs", "[relay][control]") {
  TempQueue t;
  int fd = -1;
  REQUIRE(LockQueue(t.q, &fd).ok());
  int fd2 = -1;
  CHECK(LockQueue(t.q, &fd2).code() == Status::Code::kBusy);  // another open file: refused
  std::string how;
  // An instance "runs" (we hold the lock): the request is posted, not done.
  CHECK(RunQueueRequest(t.q, {QueueAction::kFlush, ""}, 50, &how).ok());
  CHECK(how.find("has not taken it yet") != std::string::npos);
  CHECK(Exists(QueueControlDir(t.q) + "/flush"));
  ::close(fd);
  REQUIRE(LockQueue(t.q, &fd2).ok());
  ::close(fd2);
}

TEST_CASE("queue control: with no instance, delete and flush act on the files", "[relay][control]") {
  TempQueue t;
  REQUIRE(WriteQueued(t.q, Deferred("1700000000.M1P2Q3"), "hi").ok());
  REQUIRE(WriteQueued(t.q, Deferred("1700000000.M1P2Q4"), "hi").ok());
  std::string how;
  REQUIRE(RunQueueRequest(t.q, {QueueAction::kFlush, ""}, 50, &how).ok());
  CHECK(how == "done (no instance running)");
  QueueEnvelope e;
  REQUIRE(ReadQueuedEnvelope(t.q, "1700000000.M1P2Q3", &e).ok());
  CHECK(e.recipients[0].next_try == 0);
  CHECK(e.recipients[0].attempts == 1);
  REQUIRE(RunQueueRequest(t.q, {QueueAction::kDelete, "1700000000.M1P2Q4"}, 50, &how).ok());
  CHECK_FALSE(Exists(t.q.dir + "/1700000000.M1P2Q4.env"));
  CHECK_FALSE(Exists(t.q.dir + "/1700000000.M1P2Q4.msg"));
  CHECK(RunQueueRequest(t.q, {QueueAction::kDelete, "1700000000.M1P2Q4"}, 50, &how).code() ==
        Status::Code::kNotFound);
  CHECK(RunQueueRequest(t.q, {QueueAction::kDelete, "a/b"}, 50, &how).code() == Status::Code::kInvalid);
}

TEST_CASE("queue load: scan keeps this process's writes, removes others' debris", "[relay][control]") {
  TempQueue t;
  REQUIRE(WriteQueued(t.q, Deferred("1700000000.M1P2Q3"), "hi").ok());
  std::ofstream(t.q.dir + "/1700000000.M1P2Q9.msg") << "orphan";
  std::ofstream(t.q.dir + "/1700000100.M1P77Q1.msg") << "being queued by us";
  REQUIRE(WriteQueued(t.q, Deferred("1700000100.M1P77Q4"), "hi").ok());  // queued by us: in memory already
  std::ofstream(t.q.dir + "/1700000100.M1P77Q2.qf.new") << "being written by us";
  std::ofstream(t.q.dir + "/1700000000.M1P2Q7.qf.new") << "debris";
  std::ofstream(t.q.dir + "/1600000000.M1P77Q3.msg") << "an orphan of an earlier process with our pid";
  std::ofstream(t.q.dir + "/1700000000.M1P2Q5.env.new") << "debris";
  std::ofstream(t.q.dir + "/1700000000.M1P2Q6.env") << "mailnest-queue 1\nid 1700000000.M1P2Q6\nend\n";  // no .msg
  std::vector<std::string> ids;
  REQUIRE(ScanQueue(t.q, "P77Q", 1700000050, &ids).ok());
  CHECK_FALSE(Exists(t.q.dir + "/1700000000.M1P2Q9.msg"));
  CHECK_FALSE(Exists(t.q.dir + "/1700000000.M1P2Q5.env.new"));
  CHECK(Exists(t.q.dir + "/1700000100.M1P77Q1.msg"));
  CHECK(Exists(t.q.dir + "/1700000100.M1P77Q2.qf.new"));
  CHECK_FALSE(Exists(t.q.dir + "/1700000000.M1P2Q7.qf.new"));
  CHECK_FALSE(Exists(t.q.dir + "/1600000000.M1P77Q3.msg"));
  std::vector<QueueEnvelope> out;
  std::vector<std::string> problems;
  LoadEnvelopes(t.q, ids, 0, ids.size(), &out, &problems);
  REQUIRE(out.size() == 1);
  CHECK(out[0].id == "1700000000.M1P2Q3");
  REQUIRE(problems.size() == 1);
  CHECK(problems[0].find("message file missing") != std::string::npos);
  CHECK(Exists(t.q.dir + "/1700000000.M1P2Q6.env.bad"));
}

TEST_CASE("queue record: the delay warning's time survives a rewrite", "[relay][control]") {
  QueueEnvelope e = Deferred("1700000000.M1P2Q3");
  std::string plain = EncodeEnvelope(e);
  CHECK(plain.find("warned") == std::string::npos);  // unchanged files until a warning is sent
  e.warned = 1700000500;
  QueueEnvelope back;
  REQUIRE(DecodeEnvelope(EncodeEnvelope(e), &back).ok());
  CHECK(back.warned == 1700000500);
  CHECK(DecodeEnvelope("mailnest-queue 1\nid 1700000000.M1P2Q3\nwarned x\nend\n", &back).code() ==
        Status::Code::kInvalid);
}

}  // namespace
}  // namespace mailnest
