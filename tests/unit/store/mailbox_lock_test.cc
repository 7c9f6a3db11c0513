// The mailbox lock POP3 and the HTTP API's DELETE share.
#include "store/mailbox_lock.h"

#include <unistd.h>

#include <catch2/catch.hpp>

#include "store_test_util.h"

namespace mailnest {
namespace {

using testing::TempDir;

TEST_CASE("one holder of a mailbox lock at a time; closing releases it", "[store][lock]") {
  TempDir dir;
  int first = -1, second = -1;
  REQUIRE(LockMailbox(dir.path(), &first).ok());
  CHECK(first >= 0);
  Status busy = LockMailbox(dir.path(), &second);  // another open file description: as another process
  CHECK(busy.code() == Status::Code::kBusy);
  CHECK(second == -1);
  ::close(first);
  REQUIRE(LockMailbox(dir.path(), &second).ok());
  ::close(second);
}

TEST_CASE("a mailbox lock in a missing directory is an I/O error, not busy", "[store][lock]") {
  TempDir dir;
  int fd = -1;
  Status s = LockMailbox(dir.path() + "/nope", &fd);
  CHECK(s.code() == Status::Code::kIoError);
  CHECK(fd == -1);
}

}  // namespace
}  // namespace mailnest
