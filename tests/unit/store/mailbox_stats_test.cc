#include "store/mailbox_stats.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "store/maildir_files.h"
#include "store/maildir_writer.h"
#include "store_test_util.h"

namespace mailnest {
namespace {

using testing::ListDir;
using testing::TempDir;

void WriteRaw(const std::string& path, const std::string& content) {
  std::ofstream(path, std::ios::binary) << content;
}

TEST_CASE("ListMailboxes counts new/ and cur/ from names, sorted, skipping junk", "[store][stats]") {
  TempDir tmp;
  StoreOptions opts;
  opts.mail_root = tmp.path();
  opts.hostname = "h";
  REQUIRE(DeliverMessage(opts, {"zed"}, std::string(100, 'z'), nullptr).ok());
  REQUIRE(DeliverMessage(opts, {"alice", "zed"}, std::string(10, 'a'), nullptr).ok());
  REQUIRE(DeliverMessage(opts, {"alice"}, std::string(5, 'a'), nullptr).ok());
  const std::string a = tmp.path() + "/alice";
  // A message already seen (cur/, flags, an older version's name with S=
  // only), one from another MDA with no S= and LF line ends (counted as
  // POP3 sends it: 3 octets + a CR), a dotfile and a tmp/ file that do not
  // count.
  WriteRaw(a + "/cur/1.M1P1Q1.h,S=7:2,S", "12345\r\n");
  WriteRaw(a + "/cur/2.other.mda", "12\n");
  WriteRaw(a + "/new/.hidden", "xxxxxxxx");
  WriteRaw(a + "/tmp/3.h", "in flight");
  // Names that are not mailboxes.
  ::mkdir((tmp.path() + "/Bad").c_str(), 0700);
  ::mkdir((tmp.path() + "/.dot").c_str(), 0700);
  WriteRaw(tmp.path() + "/file", "x");
  ::mkdir((tmp.path() + "/empty").c_str(), 0700);

  std::vector<MailboxStats> boxes;
  REQUIRE(ListMailboxes(tmp.path(), &boxes).ok());
  REQUIRE(boxes.size() == 3);
  CHECK(boxes[0].name == "alice");
  CHECK(boxes[0].messages == 4);
  CHECK(boxes[0].octets == 10 + 5 + 7 + 4);
  CHECK(boxes[1].name == "empty");
  CHECK(boxes[1].messages == 0);
  CHECK(boxes[1].octets == 0);
  CHECK(boxes[2].name == "zed");
  CHECK(boxes[2].messages == 2);
  CHECK(boxes[2].octets == 110);
}

TEST_CASE("ListMailboxes trusts a consistent W= and counts the rest from the file", "[store][stats]") {
  TempDir tmp;
  ::mkdir((tmp.path() + "/bob").c_str(), 0700);
  ::mkdir((tmp.path() + "/bob/new").c_str(), 0700);
  // A file whose name claims S=1000,W=1040: counted from the name (what
  // POP3 reports too), the file itself is not read.
  WriteRaw(tmp.path() + "/bob/new/1.M2P3Q4.h,S=1000,W=1040", "short");
  // S= alone, or a W= that cannot be right: the file is read.
  WriteRaw(tmp.path() + "/bob/new/2.M2P3Q4.h,S=1000", "a\nb\n");
  WriteRaw(tmp.path() + "/bob/new/3.M2P3Q4.h,S=4,W=9", "a\nb\n");
  std::vector<MailboxStats> boxes;
  REQUIRE(ListMailboxes(tmp.path(), &boxes).ok());
  REQUIRE(boxes.size() == 1);
  CHECK(boxes[0].messages == 3);
  CHECK(boxes[0].octets == 1040 + 6 + 6);
}

TEST_CASE("ListMailboxes on a missing mail_root is an IoError", "[store][stats]") {
  TempDir tmp;
  std::vector<MailboxStats> boxes;
  CHECK(ListMailboxes(tmp.path() + "/nope", &boxes).code() == Status::Code::kIoError);
}

}  // namespace
}  // namespace mailnest
