#include "store/mail_root.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <string>

namespace mailnest {
namespace {

struct Tmp {
  Tmp() {
    char tmpl[] = "/tmp/mailnest-mail-root-test-XXXXXX";
    path = mkdtemp(tmpl);
  }
  ~Tmp() { std::system(("chmod -R u+rwx '" + path + "' 2>/dev/null; rm -rf '" + path + "'").c_str()); }
  std::string path;
};

mode_t ModeOf(const std::string& p) {
  struct stat st;
  REQUIRE(stat(p.c_str(), &st) == 0);
  REQUIRE(S_ISDIR(st.st_mode));
  return st.st_mode & 07777;
}

TEST_CASE("EnsureMailRoot creates the mail root and its parents", "[store][mail_root]") {
  Tmp t;
  const std::string root = t.path + "/srv/mailnest/mail";
  mode_t old = umask(022);
  Status s = EnsureMailRoot(root);
  REQUIRE(s.ok());
  CHECK(ModeOf(root) == 0700);
  CHECK(ModeOf(t.path + "/srv/mailnest") == 0755);
  CHECK(ModeOf(t.path + "/srv") == 0755);
  SECTION("the mail root is 0700 whatever the umask") {
    umask(0);
    REQUIRE(EnsureMailRoot(t.path + "/open//other/").ok());
    CHECK(ModeOf(t.path + "/open/other") == 0700);
  }
  SECTION("an existing mail root is accepted and keeps its mode") {
    REQUIRE(chmod(root.c_str(), 0750) == 0);
    REQUIRE(EnsureMailRoot(root).ok());
    CHECK(ModeOf(root) == 0750);
  }
  umask(old);
}

TEST_CASE("EnsureMailRoot errors name the path and the errno text", "[store][mail_root]") {
  Tmp t;
  SECTION("a parent that is a file") {
    std::ofstream(t.path + "/file") << "x";
    Status s = EnsureMailRoot(t.path + "/file/mail");
    CHECK_FALSE(s.ok());
    CHECK(s.message() == "cannot create " + t.path + "/file (for mail_root " + t.path +
                             "/file/mail): Not a directory");
  }
  SECTION("the mail root itself is a file") {
    std::ofstream(t.path + "/mail") << "x";
    Status s = EnsureMailRoot(t.path + "/mail");
    CHECK(s.message() == "cannot create " + t.path + "/mail: Not a directory");
  }
  SECTION("a parent without write permission (not observable as root)") {
    REQUIRE(mkdir((t.path + "/ro").c_str(), 0500) == 0);
    Status s = EnsureMailRoot(t.path + "/ro/a/b");
    if (geteuid() != 0) {
      CHECK(s.message() == "cannot create " + t.path + "/ro/a (for mail_root " + t.path +
                               "/ro/a/b): Permission denied");
    }
  }
  CHECK(EnsureMailRoot("").code() == Status::Code::kInvalid);
}

}  // namespace
}  // namespace mailnest
