#include "store/wire_size.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <catch2/catch.hpp>

#include <fstream>
#include <string>

#include "net/dot_codec.h"
#include "store/maildir_lookup.h"
#include "store_test_util.h"

namespace mailnest {
namespace {

using testing::TempDir;

// What DotStuffer sends for a file, minus its stuffing and terminator:
// the number the counter must give.
uint64_t Sent(const std::string& file) {
  size_t lf = 0;
  for (size_t i = 0; i < file.size(); ++i) {
    if (file[i] == '\n' && (i == 0 || file[i - 1] != '\r')) ++lf;
  }
  return file.size() + lf;
}

TEST_CASE("WireSizeCounter counts every line end as CR LF, whatever the chunking", "[store][wire]") {
  const std::string file = "a\nb\r\n\n\r\nx\ry\n\r";
  REQUIRE(Sent(file) == file.size() + 3);
  for (size_t cut = 0; cut <= file.size(); ++cut) {
    WireSizeCounter c;
    c.Add(std::string_view(file).substr(0, cut));
    c.Add(std::string_view(file).substr(cut));
    CAPTURE(cut);
    CHECK(c.disk() == file.size());
    CHECK(c.wire() == file.size() + 3);
  }
  SECTION("a CR LF split between chunks is one line end") {
    WireSizeCounter c;
    c.Add("ab\r");
    c.Add("\ncd");
    CHECK(c.wire() == 6);
  }
}

TEST_CASE("TrustedWireSize needs S= and a W= a CR LF count can give", "[store][wire]") {
  uint64_t w = 0;
  CHECK(TrustedWireSize(100, 120, &w));
  CHECK(w == 120);
  CHECK(TrustedWireSize(100, 100, &w));   // CR LF file, or no line at all
  CHECK(TrustedWireSize(100, 200, &w));   // every octet a LF
  CHECK_FALSE(TrustedWireSize(100, 99, &w));
  CHECK_FALSE(TrustedWireSize(100, 201, &w));
  CHECK_FALSE(TrustedWireSize(std::nullopt, 120, &w));
  CHECK_FALSE(TrustedWireSize(100, std::nullopt, &w));
}

TEST_CASE("CountWireSize reads a file once and remembers it by inode, size and mtime", "[store][wire]") {
  TempDir tmp;
  const std::string path = tmp.path() + "/1.M1P1.other";
  std::ofstream(path, std::ios::binary) << "Subject: x\n\nbody\r\n";
  uint64_t w = 0;
  REQUIRE(CountWireSize(path, &w).ok());
  CHECK(w == 18 + 2);  // two LFs without CR
  // Same inode, size and mtime: the remembered count, not a new read. (Proved
  // by changing the content behind its back, keeping size and mtime.)
  struct stat st;
  REQUIRE(::stat(path.c_str(), &st) == 0);
  {
    std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(0);
    f << "S\n\n\n\n\n\n\n\n";  // same size, more LFs
  }
  struct timespec times[2] = {st.st_atim, st.st_mtim};
  REQUIRE(::utimensat(AT_FDCWD, path.c_str(), times, 0) == 0);
  REQUIRE(CountWireSize(path, &w).ok());
  CHECK(w == 20);
  // Rewritten with another size: counted again.
  std::ofstream(path, std::ios::binary | std::ios::trunc) << "a\nb\nc\n";
  REQUIRE(CountWireSize(path, &w).ok());
  CHECK(w == 9);
  CHECK(CountWireSize(tmp.path() + "/gone", &w).code() == Status::Code::kNotFound);

  SECTION("MessageWireSize trusts a consistent W= and counts otherwise") {
    MaildirNameParts parts;
    REQUIRE(ParseMaildirName("1.M1P1.other,S=6,W=8", &parts));
    CHECK(MessageWireSize(tmp.path(), "1.M1P1.other", parts, &w).ok());
    CHECK(w == 8);  // from the name
    REQUIRE(ParseMaildirName("1.M1P1.other,S=6", &parts));
    CHECK(MessageWireSize(tmp.path(), "1.M1P1.other", parts, &w).ok());
    CHECK(w == 9);  // from the file
  }
}

TEST_CASE("FindByUnique finds a message renamed to other flags", "[store][wire]") {
  TempDir tmp;
  std::ofstream(tmp.path() + "/7.M1P1.h,S=1,W=1:2,RS") << "x";
  std::string name;
  REQUIRE(FindByUnique(tmp.path(), "7.M1P1.h,S=1,W=1", &name).ok());
  CHECK(name == "7.M1P1.h,S=1,W=1:2,RS");
  CHECK(FindByUnique(tmp.path(), "7.M1P1.h", &name).code() == Status::Code::kNotFound);
}

}  // namespace
}  // namespace mailnest
