// QueueInodePool: removed queue files become empty spares whose inodes the
// next created files take; the queue's files behave as with plain unlink
// and O_EXCL create (docs/PERFORMANCE.md says why).
#include "relay/queue_inode_pool.h"

#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include "relay/queue_store.h"
#include "store/store_test_util.h"

namespace mailnest {
namespace {

using testing::TempDir;  // store/store_test_util.h

ino_t InodeOf(const std::string& p) {
  struct stat st;
  return ::stat(p.c_str(), &st) == 0 ? st.st_ino : 0;
}

QueueEnvelope Envelope(const std::string& id) {
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

TEST_CASE("inode pool: a removed queue file's inode serves the next message", "[relay][queue][inodes]") {
  TempDir t;
  QueueInodePool pool(DefaultFsEnv(), t.path() + "/.spare", 4);
  REQUIRE(pool.Init().ok());
  QueueFiles q{&pool, t.path(), true};
  const std::string a = "1700000000.M1P1Q1", b = "1700000000.M1P1Q2";
  REQUIRE(WriteQueued(q, Envelope(a), "first message\n").ok());
  ino_t qf_inode = InodeOf(t.path() + "/" + a + ".qf");
  REQUIRE(qf_inode != 0);
  REQUIRE(RemoveQueued(q, a).ok());
  CHECK(InodeOf(t.path() + "/" + a + ".qf") == 0);
  CHECK(pool.spares() == 1);
  REQUIRE(WriteQueued(q, Envelope(b), "second\n").ok());
  CHECK(pool.spares() == 0);
  CHECK(InodeOf(t.path() + "/" + b + ".qf") == qf_inode);
  std::string got;
  REQUIRE(ReadQueuedMessage(q, b, 1 << 20, &got).ok());
  CHECK(got == "second\n");  // nothing of the longer first message is left
  std::vector<QueueEnvelope> loaded;
  std::vector<std::string> problems;
  REQUIRE(LoadQueue(q, &loaded, &problems).ok());  // the .spare directory is not a queue file
  CHECK(problems.empty());
  REQUIRE(loaded.size() == 1);
  CHECK(loaded[0].id == b);
}

TEST_CASE("inode pool: bounded, reused spares truncated, the O_EXCL contract kept", "[relay][queue][inodes]") {
  TempDir t;
  QueueInodePool pool(DefaultFsEnv(), t.path() + "/.spare", 2);
  REQUIRE(pool.Init().ok());
  for (int i = 0; i < 3; ++i) {
    int fd = -1;
    REQUIRE(pool.OpenExclusive(t.path() + "/f" + std::to_string(i), &fd).ok());
    REQUIRE(pool.WriteAll(fd, "secret body", 11).ok());
    pool.Close(fd);
  }
  for (int i = 0; i < 3; ++i) REQUIRE(pool.Unlink(t.path() + "/f" + std::to_string(i)).ok());
  for (int i = 0; i < 3; ++i) CHECK(InodeOf(t.path() + "/f" + std::to_string(i)) == 0);
  CHECK(pool.spares() == 2);  // the third was unlinked
  std::vector<std::string> names;
  REQUIRE(DefaultFsEnv()->ListDir(t.path() + "/.spare", &names).ok());
  CHECK(names.size() == 2);
  {  // a reused spare starts empty
    int fd = -1;
    REQUIRE(pool.OpenExclusive(t.path() + "/reused", &fd).ok());
    pool.Close(fd);
    struct stat st;
    REQUIRE(::stat((t.path() + "/reused").c_str(), &st) == 0);
    CHECK(st.st_size == 0);
    CHECK(pool.spares() == 1);
    REQUIRE(pool.Unlink(t.path() + "/reused").ok());
    CHECK(pool.spares() == 2);
  }
  // An existing name still fails with EEXIST, and the spare stays.
  int fd = -1;
  REQUIRE(pool.OpenExclusive(t.path() + "/taken", &fd).ok());
  pool.Close(fd);
  int err = 0;
  CHECK_FALSE(pool.OpenExclusive(t.path() + "/taken", &fd, &err).ok());
  CHECK(err == EEXIST);
  CHECK(pool.spares() == 1);
  // Unlinking what is not there answers as unlink does.
  CHECK_FALSE(pool.Unlink(t.path() + "/missing").ok());
  // A restart empties the spare directory.
  QueueInodePool again(DefaultFsEnv(), t.path() + "/.spare", 2);
  REQUIRE(again.Init().ok());
  names.clear();
  REQUIRE(DefaultFsEnv()->ListDir(t.path() + "/.spare", &names).ok());
  CHECK(names.empty());
}

}  // namespace
}  // namespace mailnest
