#include "store/maildir_writer.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <filesystem>
#include <memory>
#include <set>
#include <string>

#include "store/maildir_files.h"
#include "store/maildir_name.h"
#include "fault_fs_env.h"
#include "store_test_util.h"
#include "uv/loop.h"

namespace mailnest {
namespace {

using testing::DeliverViaLoop;
using testing::ListDir;
using testing::ModeOf;
using testing::ReadFile;
using testing::RunUntil;
using testing::TempDir;

StoreOptions Options(const TempDir& dir) {
  StoreOptions o;
  o.mail_root = dir.path() + "/mail";
  o.hostname = "test.host";
  o.fsync = true;
  return o;
}

std::string Body(size_t n) {
  std::string s;
  s.reserve(n);
  for (size_t i = 0; s.size() < n; ++i) {
    s += "line " + std::to_string(i) + " of the test body\r\n";
  }
  s.resize(n);
  return s;
}

TEST_CASE("a delivery lands in new/ with exact bytes, S=size, 0600 file, 0700 dirs", "[store][writer]") {
  TempDir tmp;
  StoreOptions opts = Options(tmp);
  Loop loop;
  const std::string header = "Return-Path: <a@b>\nReceived: from x\n";  // the storage form: LF
  const std::string body = "Subject: hi\n\nHello\n";
  auto out = DeliverViaLoop(loop.get(), opts, nullptr, {"alice"}, header, body);
  REQUIRE(out.called);
  REQUIRE(out.status.ok());

  const std::string box = opts.mail_root + "/alice";
  auto files = ListDir(box + "/new");
  REQUIRE(files.size() == 1);
  CHECK(ReadFile(box + "/new/" + files[0]) == header + body);
  MaildirNameParts parts;
  REQUIRE(ParseMaildirName(files[0], &parts));
  REQUIRE(parts.size.has_value());
  CHECK(*parts.size == header.size() + body.size());
  REQUIRE(parts.wire.has_value());
  CHECK(*parts.wire == header.size() + body.size() + 5);  // five lines, each sent with CR LF
  CHECK(files[0].rfind(out.id + ".test.host,S=", 0) == 0);
  CHECK(ModeOf(box + "/new/" + files[0]) == 0600);
  for (const char* d : {"", "/tmp", "/new", "/cur"}) CHECK(ModeOf(box + d) == 0700);
  CHECK(ListDir(box + "/tmp").empty());
  CHECK(ListDir(box + "/cur").empty());
}

TEST_CASE("id() is chosen at Begin and done runs from the loop, not inside Commit", "[store][writer]") {
  TempDir tmp;
  Loop loop;
  MaildirDelivery d(loop.get(), Options(tmp), nullptr);
  d.Begin({"alice"});
  std::string id = d.id();
  CHECK_FALSE(id.empty());
  d.AppendHeader("X: y\r\n");
  bool called = false;
  d.Commit([&](Status s, const std::string& got) {
    called = true;
    CHECK(s.ok());
    CHECK(got == id);
  });
  CHECK_FALSE(called);
  REQUIRE(RunUntil(loop.get(), [&] { return called; }));
}

TEST_CASE("a message to several mailboxes is one file per mailbox, same bytes", "[store][writer]") {
  TempDir tmp;
  StoreOptions opts = Options(tmp);
  Loop loop;
  const std::string body = Body(5000);
  testing::Outcome out;

  SECTION("same filesystem: hard links") {
    out = DeliverViaLoop(loop.get(), opts, nullptr, {"alice", "bob", "carol", "bob"}, "H: 1\r\n", body);
    REQUIRE(out.status.ok());
    struct stat st;
    auto files = ListDir(opts.mail_root + "/alice/new");
    REQUIRE(files.size() == 1);
    REQUIRE(::stat((opts.mail_root + "/alice/new/" + files[0]).c_str(), &st) == 0);
    CHECK(st.st_nlink == 3);  // "bob" twice is delivered once
  }
  SECTION("cross-device (EXDEV): copies") {
    FaultInjectingFsEnv env;
    env.SetLinkCrossDevice(true);
    out = DeliverViaLoop(loop.get(), opts, &env, {"alice", "bob", "carol"}, "H: 1\r\n", body);
    REQUIRE(out.status.ok());
    CHECK(env.Calls(FsOp::kLink) == 2);
  }
  for (const char* box : {"alice", "bob", "carol"}) {
    std::string dir = opts.mail_root + "/" + box;
    auto files = ListDir(dir + "/new");
    REQUIRE(files.size() == 1);
    CHECK(ReadFile(dir + "/new/" + files[0]) == "H: 1\r\n" + body);
    CHECK(ListDir(dir + "/tmp").empty());
    CHECK(ModeOf(dir + "/new/" + files[0]) == 0600);
  }
}

TEST_CASE("a large message spills to tmp/ with bounded backlog", "[store][writer][spill]") {
  TempDir tmp;
  StoreOptions opts = Options(tmp);
  Loop loop;
  const size_t kChunk = 16 * 1024;
  const std::string body = Body(3 * 1024 * 1024 + 17);
  MaildirDelivery d(loop.get(), opts, nullptr);
  d.Begin({"alice", "bob"});
  d.AppendHeader("Received: x\r\n");
  int drained = 0;
  d.SetOnDrained([&] { ++drained; });
  size_t max_backlog = 0;
  bool saw_tmp_file = false;
  for (size_t off = 0; off < body.size(); off += kChunk) {
    // Like a session: stop reading while over the threshold.
    if (d.backlog() > MaildirDelivery::kSpillThreshold) {
      REQUIRE(RunUntil(loop.get(), [&] { return d.backlog() <= MaildirDelivery::kSpillThreshold; }));
    }
    size_t n = std::min(kChunk, body.size() - off);
    d.Append(body.data() + off, n);
    max_backlog = std::max(max_backlog, d.backlog());
    if (!ListDir(opts.mail_root + "/alice/tmp").empty()) saw_tmp_file = true;
  }
  CHECK(saw_tmp_file);
  CHECK(drained >= 1);
  // At most threshold + the first spill's overshoot (one chunk): memory bounded.
  CHECK(max_backlog <= MaildirDelivery::kSpillThreshold + kChunk);
  testing::Outcome out;
  d.Commit([&](Status s, const std::string& id) {
    out.called = true;
    out.status = s;
    out.id = id;
  });
  REQUIRE(RunUntil(loop.get(), [&] { return out.called; }));
  REQUIRE(out.status.ok());
  for (const char* box : {"alice", "bob"}) {
    std::string dir = opts.mail_root + "/" + box;
    auto files = ListDir(dir + "/new");
    REQUIRE(files.size() == 1);
    std::string got = ReadFile(dir + "/new/" + files[0]);
    CHECK(got.size() == body.size() + 13);
    CHECK(got == "Received: x\r\n" + body);
    MaildirNameParts parts;
    REQUIRE(ParseMaildirName(files[0], &parts));
    CHECK(*parts.size == got.size());
    CHECK(ListDir(dir + "/tmp").empty());
  }
}

TEST_CASE("Abort after a spill removes the tmp/ file and never calls done", "[store][writer][spill]") {
  TempDir tmp;
  StoreOptions opts = Options(tmp);
  Loop loop;
  const std::string body = Body(600 * 1024);
  auto d = std::make_unique<MaildirDelivery>(loop.get(), opts, nullptr);
  d->Begin({"alice"});
  d->Append(body.data(), body.size());
  REQUIRE(RunUntil(loop.get(), [&] { return d->backlog() == 0; }));
  REQUIRE(ListDir(opts.mail_root + "/alice/tmp").size() == 1);

  SECTION("explicit Abort") { d->Abort(); }
  SECTION("destroyed without Commit") { d.reset(); }
  testing::Drain(loop.get());
  CHECK(ListDir(opts.mail_root + "/alice/tmp").empty());
  CHECK(ListDir(opts.mail_root + "/alice/new").empty());
}

TEST_CASE("destroying the delivery after Commit finishes it silently", "[store][writer]") {
  TempDir tmp;
  StoreOptions opts = Options(tmp);
  Loop loop;
  bool called = false;
  {
    MaildirDelivery d(loop.get(), opts, nullptr);
    d.Begin({"alice"});
    d.AppendHeader("H: 1\r\n");
    std::string big = Body(400 * 1024);  // also exercise a spill in flight
    d.Append(big.data(), big.size());
    d.Commit([&](Status, const std::string&) { called = true; });
  }
  testing::Drain(loop.get());
  CHECK_FALSE(called);
  CHECK(ListDir(opts.mail_root + "/alice/new").size() == 1);
  CHECK(ListDir(opts.mail_root + "/alice/tmp").empty());
}

TEST_CASE("done may destroy the delivery", "[store][writer]") {
  TempDir tmp;
  Loop loop;
  auto d = std::make_unique<MaildirDelivery>(loop.get(), Options(tmp), nullptr);
  d->Begin({"alice"});
  d->AppendHeader("H: 1\r\n");
  bool called = false;
  d->Commit([&](Status s, const std::string& id) {
    called = true;
    CHECK(s.ok());
    d.reset();
    CHECK_FALSE(id.empty());  // id stays valid for the whole call
  });
  REQUIRE(RunUntil(loop.get(), [&] { return called; }));
  CHECK(d == nullptr);
}

TEST_CASE("path-traversal and invalid mailbox names are rejected before any I/O", "[store][writer][security]") {
  TempDir tmp;
  StoreOptions opts = Options(tmp);
  Loop loop;
  FaultInjectingFsEnv env;
  std::vector<std::string> boxes = GENERATE(
      std::vector<std::string>{"../x"}, std::vector<std::string>{"a/b"},
      std::vector<std::string>{"%2e%2e"}, std::vector<std::string>{std::string("a\0b", 3)},
      std::vector<std::string>{""}, std::vector<std::string>{".."},
      std::vector<std::string>{"alice", "../../etc"}, std::vector<std::string>{});
  auto out = DeliverViaLoop(loop.get(), opts, &env, boxes, "H: 1\r\n", "body\r\n");
  REQUIRE(out.called);
  CHECK(out.status.code() == Status::Code::kInvalid);
  CHECK(env.TotalCalls() == 0);
  CHECK(ListDir(tmp.path()).empty());  // not even mail_root was created
}

TEST_CASE("a mailbox removed behind the writer's back is recreated", "[store][writer]") {
  TempDir tmp;
  StoreOptions opts = Options(tmp);
  Loop loop;
  REQUIRE(DeliverViaLoop(loop.get(), opts, nullptr, {"alice", "bob"}, "H\r\n", "1\r\n").status.ok());
  std::filesystem::remove_all(opts.mail_root + "/alice");
  std::filesystem::remove_all(opts.mail_root + "/bob");
  REQUIRE(DeliverViaLoop(loop.get(), opts, nullptr, {"alice", "bob"}, "H\r\n", "2\r\n").status.ok());
  CHECK(ListDir(opts.mail_root + "/alice/new").size() == 1);
  CHECK(ListDir(opts.mail_root + "/bob/new").size() == 1);
}

TEST_CASE("many concurrent deliveries all land with distinct names", "[store][writer]") {
  TempDir tmp;
  StoreOptions opts = Options(tmp);
  Loop loop;
  const int kN = 300;
  std::vector<std::unique_ptr<MaildirDelivery>> ds;
  int ok = 0, done = 0;
  for (int i = 0; i < kN; ++i) {
    auto d = std::make_unique<MaildirDelivery>(loop.get(), opts, nullptr);
    d->Begin({"box" + std::to_string(i % 4)});
    d->AppendHeader("N: " + std::to_string(i) + "\r\n");
    d->Commit([&](Status s, const std::string&) {
      ++done;
      if (s.ok()) ++ok;
    });
    ds.push_back(std::move(d));
  }
  REQUIRE(RunUntil(loop.get(), [&] { return done == kN; }));
  CHECK(ok == kN);
  size_t total = 0;
  for (int b = 0; b < 4; ++b) total += ListDir(opts.mail_root + "/box" + std::to_string(b) + "/new").size();
  CHECK(total == static_cast<size_t>(kN));
}

TEST_CASE("DeliverMessage is the same delivery, blocking", "[store][writer]") {
  TempDir tmp;
  StoreOptions opts = Options(tmp);
  std::string id;
  REQUIRE(DeliverMessage(opts, {"alice"}, "A: b\n\nx\n", &id).ok());
  auto files = ListDir(opts.mail_root + "/alice/new");
  REQUIRE(files.size() == 1);
  CHECK(files[0] == id + ".test.host,S=8,W=11");  // LF on disk, CR LF as POP3 sends it
  CHECK(DeliverMessage(opts, {"../x"}, "x", &id).code() == Status::Code::kInvalid);
}

}  // namespace
}  // namespace mailnest
