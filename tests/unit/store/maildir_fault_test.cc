// Failure paths of the Maildir writer: every injected error must yield
// IoError and leave nothing behind in tmp/ or new/ of any mailbox; and a
// delivery reported OK must survive a simulated crash.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "fault_fs_env.h"
#include "store/maildir_writer.h"
#include "store_test_util.h"
#include "uv/loop.h"

namespace mailnest {
namespace {

using testing::DeliverViaLoop;
using testing::ListDir;
using testing::ReadFile;
using testing::RunUntil;
using testing::TempDir;

const std::vector<std::string> kBoxes = {"alice", "bob", "carol"};

StoreOptions Options(const TempDir& dir, bool fsync = true) {
  StoreOptions o;
  o.mail_root = dir.path() + "/mail";
  o.hostname = "fault.host";
  o.fsync = fsync;
  return o;
}

// One earlier delivery so the mailboxes exist and the counts below are
// those of a delivery into existing mailboxes.
void Warm(uv_loop_t* loop, const StoreOptions& opts) {
  REQUIRE(DeliverViaLoop(loop, opts, nullptr, kBoxes, "W: 1\r\n", "warm\r\n").status.ok());
}

void CheckOnlyWarmMessage(const StoreOptions& opts) {
  for (const auto& b : kBoxes) {
    INFO("mailbox " << b);
    CHECK(ListDir(opts.mail_root + "/" + b + "/tmp").empty());
    auto files = ListDir(opts.mail_root + "/" + b + "/new");
    REQUIRE(files.size() == 1);
    CHECK(ReadFile(opts.mail_root + "/" + b + "/new/" + files[0]) == "W: 1\r\nwarm\r\n");
  }
}

struct Fault {
  FsOp op;
  int nth;
};

TEST_CASE("a failing file operation yields IoError and leaves nothing behind (small message)",
          "[store][fault]") {
  Fault f = GENERATE(Fault{FsOp::kOpen, 1}, Fault{FsOp::kWrite, 1}, Fault{FsOp::kSync, 1},
                     Fault{FsOp::kClose, 1}, Fault{FsOp::kLink, 1}, Fault{FsOp::kLink, 2},
                     Fault{FsOp::kRename, 1}, Fault{FsOp::kRename, 3}, Fault{FsOp::kSyncDir, 1},
                     Fault{FsOp::kSyncDir, 3});
  INFO("failing call " << f.nth << " of " << FsOpName(f.op));
  TempDir tmp;
  StoreOptions opts = Options(tmp);
  Loop loop;
  Warm(loop.get(), opts);
  FaultInjectingFsEnv env;
  env.FailNth(f.op, f.nth);
  auto out = DeliverViaLoop(loop.get(), opts, &env, kBoxes, "H: 1\r\n", "body\r\n");
  REQUIRE(out.called);
  CHECK(env.Injected() == 1);
  CHECK(out.status.code() == Status::Code::kIoError);
  CHECK(out.status.message().find(FsOpName(f.op)) != std::string::npos);
  CheckOnlyWarmMessage(opts);
}

TEST_CASE("a failing copy (EXDEV fallback) yields IoError and leaves nothing behind", "[store][fault]") {
  FsOp op = GENERATE(FsOp::kRead, FsOp::kOpen, FsOp::kWrite, FsOp::kSync);
  INFO("failing " << FsOpName(op) << " during the copy");
  TempDir tmp;
  StoreOptions opts = Options(tmp);
  Loop loop;
  Warm(loop.get(), opts);
  FaultInjectingFsEnv env;
  env.SetLinkCrossDevice(true);
  // The primary file uses open/write/fsync #1; the first copy uses #2.
  env.FailNth(op, op == FsOp::kRead ? 1 : 2);
  auto out = DeliverViaLoop(loop.get(), opts, &env, kBoxes, "H: 1\r\n", "body\r\n");
  REQUIRE(out.called);
  CHECK(out.status.code() == Status::Code::kIoError);
  CheckOnlyWarmMessage(opts);
}

TEST_CASE("a failure while creating a mailbox yields IoError and leaves nothing behind", "[store][fault]") {
  Fault f = GENERATE(Fault{FsOp::kMkdir, 1}, Fault{FsOp::kMkdir, 4}, Fault{FsOp::kSyncDir, 1});
  INFO("failing call " << f.nth << " of " << FsOpName(f.op));
  TempDir tmp;
  StoreOptions opts = Options(tmp);
  opts.mail_root += "-fresh";  // mailboxes not yet known to this process
  Loop loop;
  FaultInjectingFsEnv env;
  env.FailNth(f.op, f.nth);
  auto out = DeliverViaLoop(loop.get(), opts, &env, {"dora"}, "H: 1\r\n", "body\r\n");
  CHECK(out.status.code() == Status::Code::kIoError);
  CHECK(ListDir(opts.mail_root + "/dora/tmp").empty());
  CHECK(ListDir(opts.mail_root + "/dora/new").empty());
  // The next delivery (no fault) creates what was missing.
  REQUIRE(DeliverViaLoop(loop.get(), opts, &env, {"dora"}, "H: 1\r\n", "ok\r\n").status.ok());
  CHECK(ListDir(opts.mail_root + "/dora/new").size() == 1);
}

TEST_CASE("a failing spill job: session drains, Commit reports IoError, nothing left", "[store][fault][spill]") {
  Fault f = GENERATE(Fault{FsOp::kOpen, 1}, Fault{FsOp::kWrite, 1}, Fault{FsOp::kWrite, 3},
                     Fault{FsOp::kSync, 1}, Fault{FsOp::kLink, 2}, Fault{FsOp::kRename, 2},
                     Fault{FsOp::kSyncDir, 2});
  INFO("failing call " << f.nth << " of " << FsOpName(f.op));
  TempDir tmp;
  StoreOptions opts = Options(tmp);
  Loop loop;
  Warm(loop.get(), opts);
  FaultInjectingFsEnv env;
  env.FailNth(f.op, f.nth);
  MaildirDelivery d(loop.get(), opts, &env);
  d.Begin(kBoxes);
  d.AppendHeader("H: 1\r\n");
  const std::string chunk(32 * 1024, 'x');
  for (int i = 0; i < 64; ++i) {  // 2 MiB
    if (d.backlog() > MaildirDelivery::kSpillThreshold) {
      REQUIRE(RunUntil(loop.get(), [&] { return d.backlog() <= MaildirDelivery::kSpillThreshold; }));
    }
    d.Append(chunk.data(), chunk.size());
  }
  testing::Outcome out;
  d.Commit([&](Status s, const std::string&) {
    out.called = true;
    out.status = s;
  });
  REQUIRE(RunUntil(loop.get(), [&] { return out.called; }));
  CHECK(out.status.code() == Status::Code::kIoError);
  CheckOnlyWarmMessage(opts);
}

TEST_CASE("a delivery reported OK survives a crash; without fsync it may not", "[store][fault][crash]") {
  TempDir tmp;
  Loop loop;
  SECTION("fsync on: every byte is still in new/ after the crash") {
    StoreOptions opts = Options(tmp, true);
    FaultInjectingFsEnv env;
    const std::string body(300 * 1024, 'b');  // spilled, then committed
    auto out = DeliverViaLoop(loop.get(), opts, &env, kBoxes, "H: 1\r\n", body);
    REQUIRE(out.status.ok());
    env.Crash();
    for (const auto& b : kBoxes) {
      auto files = ListDir(opts.mail_root + "/" + b + "/new");
      REQUIRE(files.size() == 1);
      CHECK(ReadFile(opts.mail_root + "/" + b + "/new/" + files[0]) == "H: 1\r\n" + body);
    }
  }
  SECTION("fsync off (store.fsync=false): the crash model really drops unsynced work") {
    StoreOptions opts = Options(tmp, false);
    FaultInjectingFsEnv env;
    auto out = DeliverViaLoop(loop.get(), opts, &env, kBoxes, "H: 1\r\n", "body\r\n");
    REQUIRE(out.status.ok());
    CHECK(env.Calls(FsOp::kSync) == 0);
    CHECK(env.Calls(FsOp::kSyncDir) == 0);
    env.Crash();
    for (const auto& b : kBoxes) CHECK(ListDir(opts.mail_root + "/" + b + "/new").empty());
  }
}

TEST_CASE("fsync on: file fsync before rename, new/ fsync after it", "[store][fault]") {
  TempDir tmp;
  StoreOptions opts = Options(tmp);
  Loop loop;
  Warm(loop.get(), opts);
  FaultInjectingFsEnv env;
  REQUIRE(DeliverViaLoop(loop.get(), opts, &env, kBoxes, "H\r\n", "b\r\n").status.ok());
  CHECK(env.Calls(FsOp::kSync) == 1);     // one inode, linked into the others
  CHECK(env.Calls(FsOp::kSyncDir) == 3);  // each new/ (mailboxes exist: no mkdir syncs)
  CHECK(env.Calls(FsOp::kMkdir) == 0);    // known mailboxes are cached
}

}  // namespace
}  // namespace mailnest
