#include "store/delivery_journal.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fault_fs_env.h"
#include "store/journal_recovery.h"
#include "store/mailbox_fs.h"
#include "store/maildir_files.h"
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

// A journal on a real loop; deliveries go through MaildirDelivery as the
// SMTP session sends them.
struct Fixture {
  TempDir tmp;
  FaultInjectingFsEnv env;
  Loop loop;
  StoreOptions opts;
  std::unique_ptr<DeliveryJournal> journal;

  explicit Fixture(uint32_t checkpoint_ms = 60000, uint64_t checkpoint_bytes = 64u << 20,
                   uint32_t publishers = JournalOptions{}.publishers) {
    opts.mail_root = tmp.path() + "/mail";
    opts.hostname = "test.host";
    opts.fsync = true;
    ::mkdir(opts.mail_root.c_str(), 0700);
    JournalOptions jo;
    jo.mail_root = opts.mail_root;
    jo.checkpoint_ms = checkpoint_ms;
    jo.checkpoint_bytes = checkpoint_bytes;
    jo.prealloc_bytes = 64 * 1024;
    jo.publishers = publishers;
    journal = std::make_unique<DeliveryJournal>(loop.get(), jo, &env);
    REQUIRE(journal->Open().ok());
    opts.journal = journal.get();
    // Known to be on mail_root's filesystem, as after a first delivery
    // (store/mailbox_fs.h): every delivery here goes through the journal.
    for (const char* box : {"alice", "bob"}) {
      REQUIRE(EnsureMailbox(&env, opts.mail_root, Box(box), true).ok());
      REQUIRE(CheckMailboxFs(&env, opts.mail_root, Box(box)) == MailboxFs::kJournalFs);
    }
  }

  testing::Outcome Deliver(const std::string& body, std::vector<std::string> boxes = {"alice"}) {
    return DeliverViaLoop(loop.get(), opts, &env, std::move(boxes), "Return-Path: <a@b>\r\n", body);
  }

  Status Barrier() {
    bool called = false;
    Status got;
    journal->Barrier([&](Status s) {
      called = true;
      got = std::move(s);
    });
    REQUIRE(RunUntil(loop.get(), [&] { return called; }));
    return got;
  }

  void Close() {
    bool closed = false;
    journal->Close([&] { closed = true; });
    REQUIRE(RunUntil(loop.get(), [&] { return closed; }));
    journal.reset();
  }

  // The process dies at this instant: whatever was not synced is lost, and
  // nothing of the shutdown path runs (the journal's descriptors just close).
  void CrashAndRestart(JournalRecoveryReport* rep) {
    env.Crash();
    for (FsOp op : {FsOp::kSyncFs, FsOp::kDataSync, FsOp::kUnlink, FsOp::kWriteAt, FsOp::kSyncDir}) {
      env.FailAlways(op);
    }
    journal.reset();  // its stop finds every write failing: the files stay as the crash left them
    for (FsOp op : {FsOp::kSyncFs, FsOp::kDataSync, FsOp::kUnlink, FsOp::kWriteAt, FsOp::kSyncDir}) {
      env.FailAlways(op, 0);
    }
    REQUIRE(RecoverJournals(opts.mail_root, nullptr, rep).ok());
  }

  std::string Box(const std::string& user) const { return opts.mail_root + "/" + user; }
};

TEST_CASE("journal: the reply comes once the message is in new/ with exact bytes", "[store][journal]") {
  Fixture f;
  auto out = f.Deliver("Subject: one\n\nbody\n", {"alice", "bob"});
  REQUIRE(out.called);
  REQUIRE(out.status.ok());
  for (const char* user : {"alice", "bob"}) {
    auto files = ListDir(f.Box(user) + "/new");
    REQUIRE(files.size() == 1);
    // Header "Return-Path: <a@b>\r\n" (20) + the LF body (19, 3 lines): W= adds a CR per bare LF.
    CHECK(files[0] == out.id + ".test.host,S=39,W=42");
    CHECK(ReadFile(f.Box(user) + "/new/" + files[0]) == "Return-Path: <a@b>\r\nSubject: one\n\nbody\n");
    CHECK(ListDir(f.Box(user) + "/tmp").empty());
  }
  CHECK(f.env.Calls(FsOp::kSync) == 0);  // no per-file fsync: the journal's sync covers it
  CHECK(ListDir(JournalDir(f.opts.mail_root)).size() == 2);  // this process's two files

  f.Close();
  CHECK(ListDir(JournalDir(f.opts.mail_root)).empty());  // retired and removed at a clean stop
  CHECK(ListDir(f.Box("alice") + "/new").size() == 1);
}

TEST_CASE("journal: many deliveries at once are batched, each replied to once, all in new/",
          "[store][journal]") {
  // 40 commits queued before the loop runs: the appender takes them in a
  // few batches and the publishers rename and reply per batch.
  for (uint32_t publishers : {1u, 3u}) {
    Fixture f(60000, 64u << 20, publishers);
    const int kCount = 40;
    std::vector<std::unique_ptr<MaildirDelivery>> deliveries;
    std::vector<int> replies(kCount, 0);
    std::vector<Status> statuses(kCount);
    for (int i = 0; i < kCount; ++i) {
      auto d = std::make_unique<MaildirDelivery>(f.loop.get(), f.opts, &f.env);
      d->Begin({i % 2 ? "alice" : "bob"});
      d->AppendHeader("Return-Path: <a@b>\r\n");
      std::string body = "Subject: " + std::to_string(i) + "\r\n\r\n" + std::string(100 + i, 'y') + "\r\n";
      d->Append(body.data(), body.size());
      d->Commit([&replies, &statuses, i](Status s, const std::string&) {
        ++replies[i];
        statuses[i] = std::move(s);
      });
      deliveries.push_back(std::move(d));
    }
    REQUIRE(RunUntil(f.loop.get(), [&] {
      return std::all_of(replies.begin(), replies.end(), [](int n) { return n > 0; });
    }));
    for (int i = 0; i < 100; ++i) uv_run(f.loop.get(), UV_RUN_NOWAIT);  // a second reply would show now
    for (int i = 0; i < kCount; ++i) {
      CHECK(replies[i] == 1);
      CHECK(statuses[i].ok());
    }
    CHECK(ListDir(f.Box("alice") + "/new").size() == kCount / 2);
    CHECK(ListDir(f.Box("bob") + "/new").size() == kCount / 2);
    CHECK(ListDir(f.Box("alice") + "/tmp").empty());
    CHECK(f.env.Calls(FsOp::kDataSync) < kCount);  // group commit: fewer syncs than messages
    f.Close();
  }
}

TEST_CASE("journal: a crash after the 250 loses nothing", "[store][journal][crash]") {
  Fixture f;
  std::vector<std::string> bodies;
  for (int i = 0; i < 5; ++i) {
    bodies.push_back("Subject: " + std::to_string(i) + "\r\n\r\n" + std::string(1000 + i, 'x') + "\r\n");
    REQUIRE(f.Deliver(bodies.back()).status.ok());
  }
  JournalRecoveryReport rep;
  f.CrashAndRestart(&rep);
  // The crash model undid the unsynced renames and file data; recovery put
  // every acknowledged message back.
  CHECK(rep.records == 5);
  CHECK(rep.restored + rep.repaired + rep.intact == 5);
  CHECK(rep.restored > 0);
  auto files = ListDir(f.Box("alice") + "/new");
  REQUIRE(files.size() == 5);
  std::vector<std::string> got;
  for (const auto& n : files) got.push_back(ReadFile(f.Box("alice") + "/new/" + n));
  for (const auto& b : bodies) {
    CHECK(std::find(got.begin(), got.end(), "Return-Path: <a@b>\r\n" + b) != got.end());
  }
  CHECK(ListDir(JournalDir(f.opts.mail_root)).empty());
}

TEST_CASE("journal: after a Barrier the Maildir files are durable and the records retired",
          "[store][journal][crash]") {
  Fixture f;
  REQUIRE(f.Deliver("Subject: a\r\n\r\nx\r\n").status.ok());
  REQUIRE(f.Deliver("Subject: b\r\n\r\ny\r\n").status.ok());
  REQUIRE(f.Barrier().ok());
  CHECK(f.env.Calls(FsOp::kSyncFs) >= 1);
  // A POP3 client deletes one now; then the crash.
  auto files = ListDir(f.Box("alice") + "/new");
  REQUIRE(files.size() == 2);
  REQUIRE(::unlink((f.Box("alice") + "/new/" + files[0]).c_str()) == 0);
  JournalRecoveryReport rep;
  f.CrashAndRestart(&rep);
  CHECK(rep.records == 0);  // nothing live: the deleted message does not come back
  CHECK(ListDir(f.Box("alice") + "/new") == std::vector<std::string>{files[1]});
}

TEST_CASE("journal: a checkpoint runs on its own after checkpoint_ms", "[store][journal][crash]") {
  Fixture f(/*checkpoint_ms=*/20);
  REQUIRE(f.Deliver("Subject: t\r\n\r\nz\r\n").status.ok());
  // The checkpointer runs off the loop and posts nothing: poll (bounded).
  for (int i = 0; i < 3000 && f.env.Calls(FsOp::kSyncFs) < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  REQUIRE(f.env.Calls(FsOp::kSyncFs) >= 1);
  REQUIRE(f.Barrier().ok());  // waits for that checkpoint to finish
  JournalRecoveryReport rep;
  f.CrashAndRestart(&rep);
  CHECK(rep.records == 0);
  CHECK(ListDir(f.Box("alice") + "/new").size() == 1);  // durable without the journal
}

TEST_CASE("journal: a checkpoint runs as soon as a journal file holds checkpoint_bytes", "[store][journal]") {
  Fixture f(/*checkpoint_ms=*/60000, /*checkpoint_bytes=*/1024);
  REQUIRE(f.Deliver("Subject: small\r\n\r\nz\r\n").status.ok());
  CHECK(f.env.Calls(FsOp::kSyncFs) == 0);  // below the size, and the time is far off
  REQUIRE(f.Deliver("Subject: big\r\n\r\n" + std::string(2000, 'b') + "\r\n").status.ok());
  for (int i = 0; i < 3000 && f.env.Calls(FsOp::kSyncFs) < 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  CHECK(f.env.Calls(FsOp::kSyncFs) >= 1);
}

TEST_CASE("journal: a failed sync refuses the message (451) and every later one", "[store][journal][fault]") {
  Fixture f;
  f.env.FailNth(FsOp::kDataSync, 1);
  auto out = f.Deliver("Subject: lost\r\n\r\nx\r\n");
  REQUIRE(out.called);
  CHECK_FALSE(out.status.ok());
  CHECK(ListDir(f.Box("alice") + "/new").empty());
  CHECK(ListDir(f.Box("alice") + "/tmp").empty());
  // After a failed fsync nothing written to that file can be trusted.
  auto again = f.Deliver("Subject: next\r\n\r\ny\r\n");
  CHECK_FALSE(again.status.ok());
  CHECK(ListDir(f.Box("alice") + "/new").empty());
}

TEST_CASE("journal: a failed write refuses that message only", "[store][journal][fault]") {
  Fixture f;
  f.env.FailNth(FsOp::kWriteAt, 1, ENOSPC);
  CHECK_FALSE(f.Deliver("Subject: 1\r\n\r\nx\r\n").status.ok());
  CHECK(ListDir(f.Box("alice") + "/new").empty());
  auto ok = f.Deliver("Subject: 2\r\n\r\ny\r\n");
  REQUIRE(ok.status.ok());
  REQUIRE(ListDir(f.Box("alice") + "/new").size() == 1);
  JournalRecoveryReport rep;
  f.CrashAndRestart(&rep);
  CHECK(rep.records == 1);  // only the acknowledged one is live
  CHECK(ListDir(f.Box("alice") + "/new").size() == 1);
}

TEST_CASE("journal: a failed Maildir write after the sync gives 451 and leaves nothing in new/",
          "[store][journal][fault]") {
  Fixture f;
  f.env.FailNth(FsOp::kRename, 1);
  CHECK_FALSE(f.Deliver("Subject: r\r\n\r\nx\r\n").status.ok());
  CHECK(ListDir(f.Box("alice") + "/new").empty());
  CHECK(ListDir(f.Box("alice") + "/tmp").empty());
}

TEST_CASE("journal: a message refused after its record was synced is never recovered",
          "[store][journal][fault][crash]") {
  Fixture f;
  // The disk fills up between the journal's sync and the tmp/ write.
  f.env.FailNth(FsOp::kWrite, 1, ENOSPC);
  const int syncs_before = f.env.Calls(FsOp::kDataSync);
  auto refused = f.Deliver("Subject: refused\r\n\r\nx\r\n");
  REQUIRE(refused.called);
  CHECK_FALSE(refused.status.ok());
  // The record's sync, then the revocation's, both before the 451.
  CHECK(f.env.Calls(FsOp::kDataSync) == syncs_before + 2);
  CHECK(ListDir(f.Box("alice") + "/new").empty());
  // Later records of the same file stay live after the revocation.
  const std::string kept = "Subject: kept\r\n\r\ny\r\n";
  REQUIRE(f.Deliver(kept).status.ok());

  JournalRecoveryReport rep;
  f.CrashAndRestart(&rep);
  CHECK(rep.revoked == 1);
  CHECK(rep.records == 1);
  auto files = ListDir(f.Box("alice") + "/new");
  REQUIRE(files.size() == 1);
  CHECK(ReadFile(f.Box("alice") + "/new/" + files[0]) == "Return-Path: <a@b>\r\n" + kept);
}

TEST_CASE("journal: a checkpoint gives back what a file grew past its zero-filled size", "[store][journal]") {
  Fixture f;  // 64 KiB zero-filled per file, no checkpoint on its own
  auto sizes = [&] {
    std::vector<uint64_t> out;
    for (const auto& n : ListDir(JournalDir(f.opts.mail_root))) {
      out.push_back(ReadFile(JournalDir(f.opts.mail_root) + "/" + n).size());
    }
    return out;
  };
  for (int i = 0; i < 6; ++i) {
    REQUIRE(f.Deliver("Subject: " + std::to_string(i) + "\r\n\r\n" + std::string(30000, 'g') + "\r\n").status.ok());
  }
  const std::vector<uint64_t> grown = sizes();
  CHECK(*std::max_element(grown.begin(), grown.end()) > 150000);  // appended past the 64 KiB
  REQUIRE(f.Barrier().ok());
  CHECK(sizes() == std::vector<uint64_t>{64 * 1024, 64 * 1024});
  // Still a working journal: records after the truncation are recovered.
  REQUIRE(f.Deliver("Subject: after\r\n\r\nz\r\n").status.ok());
  JournalRecoveryReport rep;
  f.CrashAndRestart(&rep);
  CHECK(rep.records == 1);
  CHECK(ListDir(f.Box("alice") + "/new").size() == 7);
}

TEST_CASE("journal: a mailbox symlinked to another filesystem keeps the per-file fsync path, logged once",
          "[store][journal][crash]") {
  Fixture f;
  // /dev/shm is a tmpfs on most systems: another filesystem than $TMPDIR's.
  char other_tmpl[] = "/dev/shm/mailnest-other-XXXXXX";
  struct stat root_st, shm_st;
  if (::stat(f.opts.mail_root.c_str(), &root_st) != 0 || ::stat("/dev/shm", &shm_st) != 0 ||
      root_st.st_dev == shm_st.st_dev || ::mkdtemp(other_tmpl) == nullptr) {
    WARN("skipped: no second filesystem at /dev/shm");
    return;
  }
  const std::string other = other_tmpl;
  REQUIRE(::symlink(other.c_str(), f.Box("carol").c_str()) == 0);
  std::vector<std::string> warnings;
  std::mutex mu;
  SetMailboxFsWarning([&](const std::string& m) {
    std::lock_guard<std::mutex> l(mu);
    warnings.push_back(m);
  });

  for (int i = 0; i < 2; ++i) {
    const int fsyncs = f.env.Calls(FsOp::kSync);
    REQUIRE(f.Deliver("Subject: away " + std::to_string(i) + "\r\n\r\nx\r\n", {"carol"}).status.ok());
    CHECK(f.env.Calls(FsOp::kSync) > fsyncs);  // its own fsync, not the journal's
  }
  const int fsyncs = f.env.Calls(FsOp::kSync);
  REQUIRE(f.Deliver("Subject: home\r\n\r\ny\r\n", {"alice"}).status.ok());
  CHECK(f.env.Calls(FsOp::kSync) == fsyncs);  // alice's is journaled
  SetMailboxFsWarning(nullptr);
  REQUIRE(warnings.size() == 1);
  CHECK(warnings[0].find(f.Box("carol")) != std::string::npos);

  JournalRecoveryReport rep;
  f.CrashAndRestart(&rep);
  CHECK(rep.records == 1);  // only alice's message was in the journal
  CHECK(ListDir(other + "/new").size() == 2);
  std::error_code ec;
  std::filesystem::remove_all(other, ec);
}

TEST_CASE("journal: large (spilled) messages keep the per-file fsync path", "[store][journal]") {
  Fixture f;
  std::string big(MaildirDelivery::kSpillThreshold + 1000, 'b');
  auto out = f.Deliver(big);
  REQUIRE(out.status.ok());
  CHECK(f.env.Calls(FsOp::kSync) >= 1);
  CHECK(ListDir(f.Box("alice") + "/new").size() == 1);
}

}  // namespace
}  // namespace mailnest
