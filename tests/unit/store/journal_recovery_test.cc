#include "store/journal_recovery.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <fstream>
#include <string>
#include <vector>

#include "store/delivery_journal.h"
#include "fault_fs_env.h"
#include "store/journal_record.h"
#include "store_test_util.h"

namespace mailnest {
namespace {

using testing::ListDir;
using testing::ReadFile;
using testing::TempDir;

void WriteFile(const std::string& path, const std::string& data) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << data;
}

// A mail root with mailboxes alice and bob and an empty journal folder.
struct Root {
  TempDir tmp;
  std::string mail = tmp.path() + "/mail";
  Root() {
    for (const char* d : {"", "/alice", "/alice/tmp", "/alice/new", "/alice/cur", "/bob", "/bob/tmp",
                          "/bob/new", "/bob/cur", "/.journal"}) {
      ::mkdir((mail + d).c_str(), 0700);
    }
  }
  std::string Journal(const std::string& name, const std::string& data) {
    std::string path = JournalDir(mail) + "/" + name;
    WriteFile(path, data);
    return path;
  }
};

std::string Name(int i, size_t size) {
  return "17000000" + std::to_string(i) + ".M1P1Q" + std::to_string(i) + ".h,S=" + std::to_string(size);
}

TEST_CASE("recovery restores missing files, repairs torn ones and leaves intact ones alone",
          "[store][journal][recovery]") {
  Root r;
  const std::string m1 = "message one\r\n", m2 = "message two, longer\r\n", m3 = "message three\r\n";
  std::string j;
  EncodeJournalMarker(5, &j);
  EncodeJournalRecord(5, {"alice"}, Name(1, m1.size()), m1, &j);        // intact in new/
  EncodeJournalRecord(5, {"alice", "bob"}, Name(2, m2.size()), m2, &j);  // torn in alice, missing in bob
  EncodeJournalRecord(5, {"alice"}, Name(3, m3.size()), m3, &j);        // read by POP3: in cur/ with flags
  const size_t live = j.size();
  EncodeJournalRecord(4, {"alice"}, Name(4, 3), "old", &j);  // an older generation: retired
  j += std::string(100, '\0');                               // zero fill
  const std::string path = r.Journal("x-a.journal", j);

  WriteFile(r.mail + "/alice/new/" + Name(1, m1.size()), m1);
  WriteFile(r.mail + "/alice/new/" + Name(2, m2.size()), m2.substr(0, 4));  // torn by the crash
  WriteFile(r.mail + "/alice/cur/" + Name(3, m3.size()) + ":2,S", m3);

  JournalRecoveryReport rep;
  REQUIRE(RecoverJournals(r.mail, nullptr, &rep).ok());
  CHECK(rep.journals == 1);
  CHECK(rep.records == 3);
  CHECK(rep.intact == 2);
  CHECK(rep.repaired == 1);
  CHECK(rep.restored == 1);
  CHECK(rep.ignored_bytes == j.size() - live);

  CHECK(ReadFile(r.mail + "/alice/new/" + Name(1, m1.size())) == m1);
  CHECK(ReadFile(r.mail + "/alice/new/" + Name(2, m2.size())) == m2);
  CHECK(ReadFile(r.mail + "/bob/new/" + Name(2, m2.size())) == m2);
  CHECK(ListDir(r.mail + "/alice/new").size() == 2);  // message 3 stays in cur/ only
  CHECK(ListDir(r.mail + "/alice/cur") == std::vector<std::string>{Name(3, m3.size()) + ":2,S"});
  CHECK(ListDir(r.mail + "/alice/tmp").empty());
  CHECK(ListDir(JournalDir(r.mail)).empty());  // replayed, then removed

  // A second run finds nothing to do.
  REQUIRE(RecoverJournals(r.mail, nullptr, &rep).ok());
  CHECK(rep.journals == 0);
}

TEST_CASE("an intact copy the dead process never fsynced is made durable before its journal goes",
          "[store][journal][recovery]") {
  Root r;
  const std::string m1 = "trusted to the journal alone\n";
  const std::string name = Name(1, m1.size());
  std::string j;
  EncodeJournalMarker(1, &j);
  EncodeJournalRecord(1, {"alice"}, name, m1, &j);
  r.Journal("x-a.journal", j);

  // The dead process wrote and published the file but synced neither it nor new/.
  FaultInjectingFsEnv env;
  int fd = -1;
  REQUIRE(env.OpenExclusive(r.mail + "/alice/tmp/" + name, &fd, nullptr).ok());
  REQUIRE(env.WriteAll(fd, m1.data(), m1.size()).ok());
  REQUIRE(env.Close(fd).ok());
  REQUIRE(env.Rename(r.mail + "/alice/tmp/" + name, r.mail + "/alice/new/" + name).ok());

  JournalRecoveryReport rep;
  REQUIRE(RecoverJournals(r.mail, &env, &rep).ok());
  CHECK(rep.intact == 1);
  CHECK(ListDir(JournalDir(r.mail)).empty());
  env.Crash();  // power cut right after recovery
  CHECK(ReadFile(r.mail + "/alice/new/" + name) == m1);
}

TEST_CASE("recovery stops at a torn tail and skips records naming invalid mailboxes",
          "[store][journal][recovery]") {
  Root r;
  std::string j;
  EncodeJournalMarker(1, &j);
  EncodeJournalRecord(1, {"../etc"}, Name(1, 1), "x", &j);
  EncodeJournalRecord(1, {"alice"}, Name(2, 2), "ok", &j);
  std::string torn;
  EncodeJournalRecord(1, {"alice"}, Name(3, 5), "never", &torn);
  j += torn.substr(0, torn.size() - 3);  // the crash hit this write: it was never acknowledged
  r.Journal("y-a.journal", j);

  JournalRecoveryReport rep;
  REQUIRE(RecoverJournals(r.mail, nullptr, &rep).ok());
  CHECK(rep.records == 2);
  CHECK(rep.invalid == 1);
  CHECK(rep.restored == 1);
  CHECK(ListDir(r.mail + "/alice/new") == std::vector<std::string>{Name(2, 2)});
  CHECK(ListDir(r.mail).size() == 3);  // alice, bob, .journal: nothing made outside
}

TEST_CASE("a journal without a marker holds nothing live", "[store][journal][recovery]") {
  Root r;
  std::string j;
  EncodeJournalRecord(1, {"alice"}, Name(1, 2), "hi", &j);  // no marker before it
  r.Journal("z-a.journal", j);
  JournalRecoveryReport rep;
  REQUIRE(RecoverJournals(r.mail, nullptr, &rep).ok());
  CHECK(rep.records == 0);
  CHECK(ListDir(r.mail + "/alice/new").empty());
}

TEST_CASE("a journal locked by a live process is left alone", "[store][journal][recovery]") {
  Root r;
  std::string j;
  EncodeJournalMarker(1, &j);
  EncodeJournalRecord(1, {"alice"}, Name(1, 2), "hi", &j);
  const std::string path = r.Journal("live-a.journal", j);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  REQUIRE(fd >= 0);
  REQUIRE(::flock(fd, LOCK_EX | LOCK_NB) == 0);

  JournalRecoveryReport rep;
  REQUIRE(RecoverJournals(r.mail, nullptr, &rep).ok());
  CHECK(rep.busy == 1);
  CHECK(rep.records == 0);
  CHECK(ListDir(JournalDir(r.mail)) == std::vector<std::string>{"live-a.journal"});
  ::close(fd);

  REQUIRE(RecoverJournals(r.mail, nullptr, &rep).ok());  // the owner is gone now
  CHECK(rep.restored == 1);
  CHECK(ListDir(JournalDir(r.mail)).empty());
}

TEST_CASE("a revoked record is not delivered; the records around it are", "[store][journal][recovery]") {
  Root r;
  std::string j;
  EncodeJournalMarker(3, &j);
  EncodeJournalRecord(3, {"alice"}, Name(1, 2), "r1", &j);
  EncodeJournalRecord(3, {"alice", "bob"}, Name(2, 2), "r2", &j);  // refused with 451
  EncodeJournalRecord(3, {"alice"}, Name(3, 2), "r3", &j);
  EncodeJournalRevocation(3, Name(2, 2), &j);
  EncodeJournalRevocation(2, Name(3, 2), &j);  // an older generation's: ends the live records
  r.Journal("v-a.journal", j);

  JournalRecoveryReport rep;
  REQUIRE(RecoverJournals(r.mail, nullptr, &rep).ok());
  CHECK(rep.revoked == 1);
  CHECK(rep.records == 2);
  CHECK(rep.restored == 2);
  CHECK(ListDir(r.mail + "/alice/new") == std::vector<std::string>{Name(1, 2), Name(3, 2)});
  CHECK(ListDir(r.mail + "/bob/new").empty());
  CHECK(ListDir(JournalDir(r.mail)).empty());
}

TEST_CASE("recovery on a full disk keeps the journal; a retry with the same progress finishes it "
          "without bringing back what was deleted meanwhile", "[store][journal][recovery][fault]") {
  Root r;
  const std::string m1 = "first\r\n", m2 = "second\r\n";
  std::string j;
  EncodeJournalMarker(1, &j);
  EncodeJournalRecord(1, {"alice"}, Name(1, m1.size()), m1, &j);  // intact
  EncodeJournalRecord(1, {"alice"}, Name(2, m2.size()), m2, &j);  // lost with the crash
  r.Journal("full-a.journal", j);
  WriteFile(r.mail + "/alice/new/" + Name(1, m1.size()), m1);

  FaultInjectingFsEnv env;
  env.FailAlways(FsOp::kWrite, ENOSPC);
  JournalRecoveryProgress progress;
  JournalRecoveryReport rep;
  CHECK_FALSE(RecoverJournals(r.mail, &env, &rep, &progress).ok());
  CHECK(rep.intact == 1);
  CHECK(ListDir(JournalDir(r.mail)) == std::vector<std::string>{"full-a.journal"});  // kept for the retry
  CHECK(ListDir(r.mail + "/alice/tmp").empty());  // the failed restore left nothing behind

  // Served meanwhile: a POP3 client deletes the intact message.
  REQUIRE(::unlink((r.mail + "/alice/new/" + Name(1, m1.size())).c_str()) == 0);
  env.FailAlways(FsOp::kWrite, 0);  // space was freed
  REQUIRE(RecoverJournals(r.mail, &env, &rep, &progress).ok());
  CHECK(rep.done_before == 1);
  CHECK(rep.restored == 1);
  CHECK(ListDir(r.mail + "/alice/new") == std::vector<std::string>{Name(2, m2.size())});
  CHECK(ListDir(JournalDir(r.mail)).empty());
}

TEST_CASE("no journal folder is not an error", "[store][journal][recovery]") {
  TempDir tmp;
  JournalRecoveryReport rep;
  CHECK(RecoverJournals(tmp.path() + "/none", nullptr, &rep).ok());
  CHECK(rep.journals == 0);
}

}  // namespace
}  // namespace mailnest
