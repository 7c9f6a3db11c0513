#include "store/journal_space.h"

#include <catch2/catch.hpp>

#include "store_test_util.h"

namespace mailnest {
namespace {

TEST_CASE("journal files take at most an eighth of the free space each, or none", "[store][journal][space]") {
  constexpr uint64_t kMiB = 1024 * 1024;
  const uint64_t wanted = 4 * kMiB;
  CHECK(JournalPreallocFor(100 * kMiB, wanted) == wanted);  // plenty: as configured
  CHECK(JournalPreallocFor(32 * kMiB, wanted) == wanted);
  CHECK(JournalPreallocFor(8 * kMiB, wanted) == kMiB);      // the 8.1 MiB that used to stop the start
  CHECK(JournalPreallocFor(6 * kMiB + 12345, wanted) == 768 * 1024);  // whole 64 KiB grains
  CHECK(JournalPreallocFor(2 * kMiB, wanted) == 256 * 1024);
  CHECK(JournalPreallocFor(2 * kMiB - 1, wanted) == 0);     // below the floor: per-file fsync
  CHECK(JournalPreallocFor(0, wanted) == 0);
  CHECK(JournalPreallocFor(100 * kMiB, 64 * 1024) == 64 * 1024);  // a small configured size is kept
}

TEST_CASE("FreeBytes reads the filesystem's free space", "[store][journal][space]") {
  testing::TempDir tmp;
  uint64_t free_bytes = 0;
  REQUIRE(FreeBytes(tmp.path(), &free_bytes).ok());
  CHECK(free_bytes > 0);
  CHECK_FALSE(FreeBytes(tmp.path() + "/missing", &free_bytes).ok());
}

}  // namespace
}  // namespace mailnest
