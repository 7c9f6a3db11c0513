// Maildrop (the locked snapshot) and MessageReader on a temp dir, driven by
// a real uv loop with bounded runs.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "../store/fault_fs_env.h"
#include "../store/store_test_util.h"
#include "pop3/maildrop.h"
#include "pop3/message_reader.h"
#include "uv/loop.h"

using namespace mailnest;
using mailnest::testing::ListDir;
using mailnest::testing::ReadFile;
using mailnest::testing::RunUntil;
using mailnest::testing::TempDir;

namespace {

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream(path, std::ios::binary) << data;
}

struct Box {
  TempDir tmp;
  std::string root = tmp.path();
  std::string dir = root + "/alice";

  Box() {
    for (const char* sub : {"", "/tmp", "/new", "/cur"}) ::mkdir((dir + sub).c_str(), 0700);
  }
  // A delivered message in new/ named as MaildirDelivery names them.
  std::string Deliver(const std::string& unique, const std::string& content, bool with_size = true) {
    std::string name = unique + (with_size ? ",S=" + std::to_string(content.size()) : "");
    WriteFile(dir + "/new/" + name, content);
    return name;
  }
  MaildropOptions Options(FsEnv* env = nullptr) const {
    MaildropOptions o;
    o.mail_root = root;
    o.user = "alice";
    o.fsync = true;
    o.env = env;
    return o;
  }
};

Status OpenSync(uv_loop_t* loop, Maildrop* md) {
  bool called = false;
  Status result;
  md->Open([&](Status s) {
    called = true;
    result = s;
  });
  REQUIRE(RunUntil(loop, [&] { return called; }));
  return result;
}

struct CommitOutcome {
  Status status;
  size_t removed = 0;
};

CommitOutcome CommitSync(uv_loop_t* loop, Maildrop* md) {
  bool called = false;
  CommitOutcome out;
  md->Commit([&](Status s, size_t removed) {
    called = true;
    out.status = s;
    out.removed = removed;
  });
  REQUIRE(RunUntil(loop, [&] { return called; }));
  return out;
}

// Destroys a maildrop and runs the loop until its lock-release job ran.
void DestroyAndDrain(uv_loop_t* loop, std::unique_ptr<Maildrop>* md) {
  md->reset();
  mailnest::testing::Drain(loop);
}

}  // namespace

TEST_CASE("maildrop open moves new/ into cur/ and lists oldest first", "[pop3]") {
  Loop loop;
  Box box;
  // Delivered out of order, and one in cur/ already (seen in an older session).
  box.Deliver("1700000002.M000001P10Q2.host", "Subject: 2\r\n\r\ntwo\r\n");
  box.Deliver("1700000001.M999999P10Q1.host", "Subject: 1\r\n\r\none\r\n");
  WriteFile(box.dir + "/cur/1700000000.M5P9Q1.host,S=5:2,S", "zero!");
  box.Deliver("1700000002.M000001P10Q3.host", "no size field", /*with_size=*/false);
  WriteFile(box.dir + "/new/.hidden", "ignored");

  auto md = std::make_unique<Maildrop>(loop.get(), box.Options());
  REQUIRE(OpenSync(loop.get(), md.get()).ok());
  REQUIRE(md->is_open());

  CHECK(ListDir(box.dir + "/new") == std::vector<std::string>{".hidden"});
  CHECK(ListDir(box.dir + "/cur") ==
        std::vector<std::string>{"1700000000.M5P9Q1.host,S=5:2,S", "1700000001.M999999P10Q1.host,S=19:2,",
                                 "1700000002.M000001P10Q2.host,S=19:2,", "1700000002.M000001P10Q3.host:2,"});

  REQUIRE(md->size() == 4);
  CHECK(md->message(0).file_name == "1700000000.M5P9Q1.host,S=5:2,S");
  CHECK(md->message(1).uidl == "1700000001.M999999P10Q1.host,S=19");
  CHECK(md->message(2).uidl == "1700000002.M000001P10Q2.host,S=19");
  CHECK(md->message(3).uidl == "1700000002.M000001P10Q3.host");
  CHECK(md->message(0).size == 5);
  CHECK(md->message(1).size == 19);
  CHECK(md->message(3).size == std::string("no size field").size());  // from stat
  CHECK(md->live_count() == 4);
  CHECK(md->live_octets() == 5 + 19 + 19 + 13);
  CHECK(md->MessagePath(1) == box.dir + "/cur/1700000001.M999999P10Q1.host,S=19:2,");
  CHECK(ReadFile(md->MessagePath(1)) == "Subject: 1\r\n\r\none\r\n");
  DestroyAndDrain(loop.get(), &md);
}

TEST_CASE("maildrop creates a missing mailbox and opens it empty", "[pop3]") {
  Loop loop;
  TempDir tmp;
  MaildropOptions o;
  o.mail_root = tmp.path();
  o.user = "bob";
  auto md = std::make_unique<Maildrop>(loop.get(), o);
  REQUIRE(OpenSync(loop.get(), md.get()).ok());
  CHECK(md->size() == 0);
  CHECK(ListDir(tmp.path() + "/bob") == std::vector<std::string>{".mailnest.lock", "cur", "new", "tmp"});
  DestroyAndDrain(loop.get(), &md);
}

TEST_CASE("maildrop refuses names that are not mailboxes before any I/O", "[pop3]") {
  Loop loop;
  TempDir tmp;
  for (const char* user : {"../alice", "a/b", "%2e%2e", "", ".hidden", "Alice"}) {
    INFO(user);
    MaildropOptions o;
    o.mail_root = tmp.path();
    o.user = user;
    auto md = std::make_unique<Maildrop>(loop.get(), o);
    Status s = OpenSync(loop.get(), md.get());
    CHECK(s.code() == Status::Code::kInvalid);
    CHECK_FALSE(md->is_open());
  }
  CHECK(ListDir(tmp.path()).empty());
}

TEST_CASE("maildrop lock is exclusive and released without UPDATE", "[pop3]") {
  Loop loop;
  Box box;
  box.Deliver("1700000001.M1P1Q1.host", "m1\r\n");
  auto first = std::make_unique<Maildrop>(loop.get(), box.Options());
  REQUIRE(OpenSync(loop.get(), first.get()).ok());
  first->MarkDeleted(0);  // marked, but the session will end without QUIT

  auto second = std::make_unique<Maildrop>(loop.get(), box.Options());
  CHECK(OpenSync(loop.get(), second.get()).code() == Status::Code::kBusy);
  CHECK_FALSE(second->is_open());

  SECTION("another process holding the lock counts too") {
    // flock is per open file description: a fresh open() is another holder.
    DestroyAndDrain(loop.get(), &first);
    int fd = ::open((box.dir + "/.mailnest.lock").c_str(), O_RDWR);
    REQUIRE(fd >= 0);
    REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);
    auto third = std::make_unique<Maildrop>(loop.get(), box.Options());
    CHECK(OpenSync(loop.get(), third.get()).code() == Status::Code::kBusy);
    ::close(fd);
  }
  SECTION("destroying the first releases the lock and removes nothing") {
    DestroyAndDrain(loop.get(), &first);
    auto third = std::make_unique<Maildrop>(loop.get(), box.Options());
    REQUIRE(OpenSync(loop.get(), third.get()).ok());
    CHECK(third->size() == 1);
    CHECK_FALSE(third->message(0).deleted);
    DestroyAndDrain(loop.get(), &third);
  }
}

TEST_CASE("maildrop: messages whose move into cur/ fails (full disk) are listed and served from new/",
          "[pop3][fault]") {
  Loop loop;
  Box box;
  const std::string moved = "1700000001.M1P1Q1.h,S=5";  // read in an earlier session
  WriteFile(box.dir + "/cur/" + moved + ":2,", "one\r\n");
  const std::string stuck = box.Deliver("1700000002.M1P1Q2.h", "Subject: 2\r\n\r\ntwo\r\n");
  const std::string stuck2 = box.Deliver("1700000003.M1P1Q3.h", "three", /*with_size=*/false);
  FaultInjectingFsEnv env;
  env.FailAlways(FsOp::kRename, ENOSPC);  // cur/ would need a new block
  auto md = std::make_unique<Maildrop>(loop.get(), box.Options(&env));
  REQUIRE(OpenSync(loop.get(), md.get()).ok());
  env.FailAlways(FsOp::kRename, 0);
  REQUIRE(md->size() == 3);
  CHECK(md->unmoved() == 2);
  CHECK(md->unmoved_error().find("No space left") != std::string::npos);
  CHECK(ListDir(box.dir + "/cur") == std::vector<std::string>{moved + ":2,"});
  CHECK(md->message(0).uidl == moved);
  CHECK(md->message(1).uidl == stuck);
  CHECK(md->message(2).uidl == stuck2);
  CHECK(md->message(1).in_new);
  CHECK(md->message(2).size == 5);  // from stat
  CHECK(ReadFile(md->MessagePath(1)) == "Subject: 2\r\n\r\ntwo\r\n");
  CHECK(md->live_count() == 3);

  // DELE of a message still in new/ removes it from there.
  md->MarkDeleted(1);
  const int syncs = env.Calls(FsOp::kSyncDir);
  CommitOutcome c = CommitSync(loop.get(), md.get());
  CHECK(c.status.ok());
  CHECK(c.removed == 1);
  CHECK(env.Calls(FsOp::kSyncDir) - syncs == 2);  // cur/ and new/
  CHECK(ListDir(box.dir + "/new") == std::vector<std::string>{stuck2});
  DestroyAndDrain(loop.get(), &md);
}

TEST_CASE("maildrop commit removes exactly the marked messages", "[pop3]") {
  Loop loop;
  Box box;
  for (int i = 1; i <= 4; ++i) box.Deliver("170000000" + std::to_string(i) + ".M1P1Q" + std::to_string(i) + ".h", "x\r\n");
  auto md = std::make_unique<Maildrop>(loop.get(), box.Options());
  REQUIRE(OpenSync(loop.get(), md.get()).ok());
  std::string keep0 = md->message(0).file_name, keep2 = md->message(2).file_name;

  SECTION("DELE, DELE, commit") {
    md->MarkDeleted(1);
    md->MarkDeleted(3);
    md->MarkDeleted(3);  // twice is once
    CHECK(md->live_count() == 2);
    CHECK(md->live_octets() == 6);
    CommitOutcome c = CommitSync(loop.get(), md.get());
    CHECK(c.status.ok());
    CHECK(c.removed == 2);
    CHECK(ListDir(box.dir + "/cur") == std::vector<std::string>{keep0, keep2});
  }
  SECTION("RSET unmarks everything: commit removes nothing") {
    md->MarkDeleted(0);
    md->MarkDeleted(2);
    md->UnmarkAll();
    CHECK(md->live_count() == 4);
    CHECK(md->live_octets() == 12);
    CommitOutcome c = CommitSync(loop.get(), md.get());
    CHECK(c.status.ok());
    CHECK(c.removed == 0);
    CHECK(ListDir(box.dir + "/cur").size() == 4);
  }
  SECTION("mail delivered during the session is untouched and shows up next time") {
    md->MarkDeleted(0);
    std::string late = box.Deliver("1800000000.M1P1Q9.h", "late\r\n");
    CommitOutcome c = CommitSync(loop.get(), md.get());
    CHECK(c.removed == 1);
    CHECK(ListDir(box.dir + "/new") == std::vector<std::string>{late});
    auto next = std::make_unique<Maildrop>(loop.get(), box.Options());
    REQUIRE(OpenSync(loop.get(), next.get()).ok());
    REQUIRE(next->size() == 4);
    CHECK(next->message(3).uidl == late);
    DestroyAndDrain(loop.get(), &next);
  }
  SECTION("the lock is released by commit") {
    CommitSync(loop.get(), md.get());
    auto next = std::make_unique<Maildrop>(loop.get(), box.Options());
    CHECK(OpenSync(loop.get(), next.get()).ok());
    DestroyAndDrain(loop.get(), &next);
  }
  DestroyAndDrain(loop.get(), &md);
}

TEST_CASE("maildrop commit with a failing unlink reports it and removes only marked ones", "[pop3]") {
  Loop loop;
  Box box;
  for (int i = 1; i <= 4; ++i) box.Deliver("170000000" + std::to_string(i) + ".M1P1Q" + std::to_string(i) + ".h", "x\r\n");
  FaultInjectingFsEnv env;
  auto md = std::make_unique<Maildrop>(loop.get(), box.Options(&env));
  REQUIRE(OpenSync(loop.get(), md.get()).ok());
  std::vector<std::string> names;
  for (size_t i = 0; i < md->size(); ++i) names.push_back(md->message(i).file_name);
  md->MarkDeleted(0);
  md->MarkDeleted(1);
  md->MarkDeleted(3);
  env.FailNth(FsOp::kUnlink, 2);  // the second of three unlinks fails

  CommitOutcome c = CommitSync(loop.get(), md.get());
  CHECK(c.status.code() == Status::Code::kIoError);
  CHECK(c.status.message().find("1 of 3") != std::string::npos);
  CHECK(c.removed == 2);
  CHECK(ListDir(box.dir + "/cur") == std::vector<std::string>{names[1], names[2]});  // failed one + unmarked one
  // The lock is released even after a failure.
  auto next = std::make_unique<Maildrop>(loop.get(), box.Options());
  CHECK(OpenSync(loop.get(), next.get()).ok());
  DestroyAndDrain(loop.get(), &next);
  DestroyAndDrain(loop.get(), &md);
}

TEST_CASE("maildrop commit: a marked file that vanished meanwhile is not a failure", "[pop3]") {
  Loop loop;
  Box box;
  box.Deliver("1700000001.M1P1Q1.h", "a\r\n");
  box.Deliver("1700000002.M1P1Q2.h", "b\r\n");
  auto md = std::make_unique<Maildrop>(loop.get(), box.Options());
  REQUIRE(OpenSync(loop.get(), md.get()).ok());
  md->MarkDeleted(0);
  REQUIRE(::unlink(md->MessagePath(0).c_str()) == 0);
  CommitOutcome c = CommitSync(loop.get(), md.get());
  CHECK(c.status.ok());
  CHECK(c.removed == 0);
  CHECK(ListDir(box.dir + "/cur").size() == 1);
  DestroyAndDrain(loop.get(), &md);
}

TEST_CASE("maildrop fsyncs cur/ after removing, only when store.fsync is on", "[pop3]") {
  Loop loop;
  Box box;
  box.Deliver("1700000001.M1P1Q1.h", "a\r\n");
  FaultInjectingFsEnv env;
  MaildropOptions o = box.Options(&env);
  bool fsync = GENERATE(true, false);
  o.fsync = fsync;
  auto md = std::make_unique<Maildrop>(loop.get(), o);
  REQUIRE(OpenSync(loop.get(), md.get()).ok());
  int before = env.Calls(FsOp::kSyncDir);
  md->MarkDeleted(0);
  CHECK(CommitSync(loop.get(), md.get()).removed == 1);
  CHECK(env.Calls(FsOp::kSyncDir) - before == (fsync ? 1 : 0));
  DestroyAndDrain(loop.get(), &md);
}

TEST_CASE("UIDLs are the unique part when it fits RFC 1939, else a stable stand-in", "[pop3]") {
  CHECK(MakeUidl("1700000000.M123456P4242Q17.mail.example") == "1700000000.M123456P4242Q17.mail.example");
  std::string longname = "1700000000.M123456P4242Q17." + std::string(80, 'h');
  std::string u = MakeUidl(longname);
  CHECK(u.size() == 70);
  CHECK(u == MakeUidl(longname));  // stable
  CHECK(u != MakeUidl(longname + "x"));
  std::string spaced = MakeUidl("1700000000.M1P1Q1.bad host\x7f");
  CHECK(spaced.size() <= 70);
  for (char c : u + spaced) CHECK((c >= 0x21 && c <= 0x7e));
  CHECK(MakeUidl("a b") != MakeUidl("a_b"));  // the hash keeps them apart
}

TEST_CASE("MessageReader reads a file in chunks and reports eof once", "[pop3]") {
  Loop loop;
  TempDir tmp;
  std::string data;
  for (int i = 0; i < 1000; ++i) data += "line " + std::to_string(i) + "\r\n";
  std::string path = tmp.path() + "/m";
  WriteFile(path, data);

  // Chunk sizes smaller than, equal to and just over the file.
  int variant = GENERATE(0, 1, 2, 3);
  size_t chunk = variant == 0 ? 1000 : variant == 1 ? 4096 : variant == 2 ? data.size() : data.size() + 1;
  MessageReader reader(loop.get(), path, chunk);
  std::string got;
  bool eof = false;
  int reads = 0;
  while (!eof && reads < 100000) {
    bool called = false;
    Status st;
    reader.Read([&](Status s, std::string_view c, bool e) {
      called = true;
      st = s;
      got.append(c);
      eof = e;
    });
    REQUIRE(RunUntil(loop.get(), [&] { return called; }));
    REQUIRE(st.ok());
    ++reads;
  }
  CHECK(got == data);
  CHECK(reads == static_cast<int>((data.size() + chunk - 1) / chunk));  // eof comes with the last bytes
  CHECK(reader.offset() == data.size());
}

TEST_CASE("MessageReader: a vanished file is NotFound, and a file unlinked mid-read is read whole", "[pop3]") {
  Loop loop;
  TempDir tmp;
  std::string path = tmp.path() + "/m";
  SECTION("vanished before the first read") {
    MessageReader reader(loop.get(), path, 64);
    bool called = false;
    Status st;
    reader.Read([&](Status s, std::string_view, bool eof) {
      called = true;
      st = s;
      CHECK(eof);
    });
    REQUIRE(RunUntil(loop.get(), [&] { return called; }));
    CHECK(st.code() == Status::Code::kNotFound);
  }
  SECTION("unlinked after the first chunk") {
    WriteFile(path, std::string(100, 'a') + std::string(100, 'b'));
    MessageReader reader(loop.get(), path, 100);
    std::string got;
    bool eof = false;
    for (int i = 0; i < 2; ++i) {
      bool called = false;
      reader.Read([&](Status s, std::string_view c, bool e) {
        called = true;
        CHECK(s.ok());
        got.append(c);
        eof = e;
      });
      REQUIRE(RunUntil(loop.get(), [&] { return called; }));
      if (i == 0) REQUIRE(::unlink(path.c_str()) == 0);
    }
    CHECK(eof);
    CHECK(got == std::string(100, 'a') + std::string(100, 'b'));
  }
}

TEST_CASE("MessageReader destroyed mid-read does not call back", "[pop3]") {
  Loop loop;
  TempDir tmp;
  std::string path = tmp.path() + "/m";
  WriteFile(path, std::string(1000, 'x'));
  bool called = false;
  {
    MessageReader reader(loop.get(), path, 10);
    reader.Read([&](Status, std::string_view, bool) { called = true; });
  }
  mailnest::testing::Drain(loop.get());
  CHECK_FALSE(called);
}
