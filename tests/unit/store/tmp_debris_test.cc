#include "store/tmp_debris.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <algorithm>
#include <fstream>
#include <string>
#include <vector>

#include "store/delivery_journal.h"
#include "store/journal_record.h"
#include "store/journal_recovery.h"
#include "store_test_util.h"

namespace mailnest {
namespace {

using testing::ListDir;
using testing::TempDir;

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

// A pid that surely ran and no longer does: a child that exited and was reaped.
int64_t DeadPid() {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  int status = 0;
  ::waitpid(child, &status, 0);
  return child;
}

std::string TmpName(int64_t sec, int64_t pid, const std::string& host, const std::string& suffix = "") {
  return std::to_string(sec) + ".M12P" + std::to_string(pid) + "Q3." + host + suffix;
}

struct Root {
  TempDir tmp;
  std::string mail = tmp.path() + "/mail";
  Root() {
    for (const char* d : {"", "/alice", "/alice/tmp", "/alice/new", "/alice/cur", "/bob", "/bob/tmp",
                          "/bob/new", "/bob/cur", "/.journal"}) {
      ::mkdir((mail + d).c_str(), 0700);
    }
  }
};

TEST_CASE("tmp/ names: who made them", "[store][tmp]") {
  TmpNameParts p;
  REQUIRE(ParseTmpName("1700000000.M123P456Q7.mail.example", &p));
  CHECK(p.sec == 1700000000);
  CHECK(p.usec == 123);
  CHECK(p.pid == 456);
  CHECK(p.host == "mail.example");
  REQUIRE(ParseTmpName("1.M2P3Q4.h\\057x,S=10.recovered", &p));
  CHECK(p.pid == 3);
  CHECK(p.host == "h\\057x");
  CHECK_FALSE(ParseTmpName("foo", &p));
  CHECK_FALSE(ParseTmpName("1.M2P3Q4.", &p));
  CHECK_FALSE(ParseTmpName("1.M2PxQ4.host", &p));
  CHECK(TmpNameOf("1.M2P3Q4.host,S=10") == "1.M2P3Q4.host");
}

TEST_CASE("start-up cleanup removes tmp/ files of dead processes of ours, never a live process's",
          "[store][tmp]") {
  Root r;
  const int64_t dead = DeadPid();
  const int64_t now = ::time(nullptr);
  const std::string t = r.mail + "/alice/tmp/";
  WriteFile(t + TmpName(now - 10, dead, "here"), std::string(1000, 's'));          // a partial spill
  WriteFile(t + TmpName(now - 10, dead, "here", ",S=5.recovered"), "12345");        // an interrupted recovery
  WriteFile(t + TmpName(now - 10, 1, "here"), "live");                              // pid 1 runs
  WriteFile(t + TmpName(now - 10, dead, "elsewhere"), "other host");                // not ours to judge
  WriteFile(t + TmpName(now - 100, ::getpid(), "here"), "same pid, earlier run");   // before we started
  WriteFile(t + TmpName(now + 100, ::getpid(), "here"), "same pid, this run");      // ours, in progress
  WriteFile(t + "unrelated", "x");
  ::mkdir((t + TmpName(now - 10, dead, "here") + "-dir").c_str(), 0700);
  WriteFile(r.mail + "/bob/tmp/" + TmpName(now - 10, dead, "here"), "bob's");
  WriteFile(r.mail + "/.journal/" + TmpName(now - 10, dead, "here"), "not a mailbox");
  // A process in another pid namespace: kill() cannot see it, its locked journal shows it runs.
  const int64_t hidden = DeadPid();
  WriteFile(t + TmpName(now - 10, hidden, "here"), "a spill in progress elsewhere");
  const std::string journal = r.mail + "/.journal/" + TmpName(now - 10, hidden, "x") + "-a.journal";
  WriteFile(journal, "");
  int jfd = ::open(journal.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(jfd >= 0);
  REQUIRE(::flock(jfd, LOCK_EX | LOCK_NB) == 0);

  TmpDebrisOptions o;
  o.mail_root = r.mail;
  o.host = "here";
  o.self_pid = ::getpid();
  o.started_sec = now;
  TmpDebrisReport rep;
  REQUIRE(RemoveTmpDebris(o, nullptr, &rep).ok());
  CHECK(rep.removed == 4);
  CHECK(rep.bytes == 1000 + 5 + 21 + 5);
  ::close(jfd);
  std::vector<std::string> kept{TmpName(now - 10, 1, "here"), TmpName(now - 10, dead, "elsewhere"),
                                TmpName(now - 10, hidden, "here"),
                                TmpName(now - 10, dead, "here") + "-dir", TmpName(now + 100, ::getpid(), "here"),
                                "unrelated"};
  std::sort(kept.begin(), kept.end());
  CHECK(ListDir(r.mail + "/alice/tmp") == kept);
  CHECK(ListDir(r.mail + "/bob/tmp").empty());
  CHECK(ListDir(r.mail + "/.journal").size() == 2);
}

TEST_CASE("recovery removes the tmp/ file its restored message superseded, even of a live pid",
          "[store][tmp][journal][recovery]") {
  Root r;
  // The pid in the name runs again (reused): only the journal shows the file is debris.
  const std::string final_name = "1700000001.M5P1Q9.here,S=4";
  std::string j;
  EncodeJournalMarker(1, &j);
  EncodeJournalRecord(1, {"alice", "bob"}, final_name, "body", &j);
  WriteFile(JournalDir(r.mail) + "/x-a.journal", j);
  WriteFile(r.mail + "/alice/tmp/1700000001.M5P1Q9.here", "body");  // written, never renamed
  WriteFile(r.mail + "/alice/tmp/1700000002.M5P1Q9.here", "other");  // not this record's

  JournalRecoveryReport rep;
  REQUIRE(RecoverJournals(r.mail, nullptr, &rep).ok());
  CHECK(rep.restored == 2);
  CHECK(rep.superseded_tmp == 1);
  CHECK(ListDir(r.mail + "/alice/tmp") == std::vector<std::string>{"1700000002.M5P1Q9.here"});
  CHECK(ListDir(r.mail + "/alice/new") == std::vector<std::string>{final_name});
}

}  // namespace
}  // namespace mailnest
