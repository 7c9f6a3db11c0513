#include "net/line_framer.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>
#include <vector>

#include "octet_dice.h"

namespace mailnest {
namespace {

struct Got {
  LineFramer::Kind kind;
  std::string line;
  bool operator==(const Got& o) const { return kind == o.kind && line == o.line; }
};

// Drains every event the framer has now (bounded: a framer never yields
// more events than input octets + 1).
std::vector<Got> Drain(LineFramer& f, size_t bound = 10000) {
  std::vector<Got> out;
  LineFramer::Event ev;
  while (out.size() < bound && f.Next(&ev)) {
    out.push_back({ev.kind, std::string(ev.line)});
    if (ev.kind == LineFramer::Kind::kBareNewline) break;  // callers close here
  }
  return out;
}

std::vector<Got> FeedAll(LineFramer& f, const std::string& s) {
  f.Feed(s.data(), s.size());
  return Drain(f);
}

using K = LineFramer::Kind;

// The framer's contract restated over a whole stream, one rule per branch,
// with no buffering: the model the randomized test below compares against.
// accept_bare_lf: normalize mode, where a LF alone ends a line too.
std::vector<Got> ModelFrames(const std::string& s, size_t max_line, bool accept_bare_lf = false) {
  std::vector<Got> out;
  size_t p = 0;
  while (p < s.size()) {
    const size_t end = s.find_first_of("\r\n", p);
    const size_t text = (end == std::string::npos ? s.size() : end) - p;
    if (text >= max_line) {  // no line end within max_line octets: once, then skip to LF
      out.push_back({K::kTooLong, ""});
      const size_t lf = s.find('\n', p + max_line);
      if (lf == std::string::npos) break;
      p = lf + 1;
      continue;
    }
    if (end == std::string::npos || (s[end] == '\r' && end + 1 == s.size())) break;  // incomplete
    if (s[end] == '\n' && accept_bare_lf) {  // normalize: as if it ended in CR LF
      out.push_back({K::kLine, s.substr(p, text)});
      p = end + 1;
      continue;
    }
    if (s[end] == '\n' || s[end + 1] != '\n') {  // bare LF, or CR without LF: callers close
      out.push_back({K::kBareNewline, s.substr(p, text)});
      break;
    }
    out.push_back(text + 2 > max_line ? Got{K::kTooLong, ""} : Got{K::kLine, s.substr(p, text)});
    p = end + 2;
  }
  return out;
}

TEST_CASE("framer splits CRLF lines", "[net][framer]") {
  LineFramer f(512);
  auto got = FeedAll(f, "HELO a\r\nNOOP\r\n\r\nQUIT\r\n");
  REQUIRE(got.size() == 4);
  CHECK(got[0] == Got{K::kLine, "HELO a"});
  CHECK(got[1] == Got{K::kLine, "NOOP"});
  CHECK(got[2] == Got{K::kLine, ""});
  CHECK(got[3] == Got{K::kLine, "QUIT"});
  CHECK(f.buffered() == 0);
}

TEST_CASE("framer joins lines split across feeds, including between CR and LF", "[net][framer]") {
  LineFramer f(512);
  SECTION("split inside the text") {
    CHECK(FeedAll(f, "MAIL FR").empty());
    auto got = FeedAll(f, "OM:<a@b>\r\n");
    REQUIRE(got.size() == 1);
    CHECK(got[0] == Got{K::kLine, "MAIL FROM:<a@b>"});
  }
  SECTION("split between CR and LF") {
    CHECK(FeedAll(f, "NOOP\r").empty());
    auto got = FeedAll(f, "\nRSET\r\n");
    REQUIRE(got.size() == 2);
    CHECK(got[0] == Got{K::kLine, "NOOP"});
    CHECK(got[1] == Got{K::kLine, "RSET"});
  }
  SECTION("one octet at a time") {
    std::string in = "EHLO x\r\nQUIT\r\n";
    std::vector<Got> all;
    for (char c : in) {
      f.Feed(&c, 1);
      for (auto& g : Drain(f)) all.push_back(g);
    }
    REQUIRE(all.size() == 2);
    CHECK(all[1] == Got{K::kLine, "QUIT"});
  }
}

TEST_CASE("framer limit counts the CRLF", "[net][framer]") {
  LineFramer f(10);
  SECTION("8 octets + CRLF = 10 is allowed") {
    auto got = FeedAll(f, "12345678\r\n");
    REQUIRE(got.size() == 1);
    CHECK(got[0] == Got{K::kLine, "12345678"});
  }
  SECTION("9 octets + CRLF = 11 is too long, once, and the next line is intact") {
    auto got = FeedAll(f, "123456789\r\nNOOP\r\n");
    REQUIRE(got.size() == 2);
    CHECK(got[0].kind == K::kTooLong);
    CHECK(got[1] == Got{K::kLine, "NOOP"});
  }
}

TEST_CASE("framer reports an over-long line once and drains it to its end", "[net][framer]") {
  LineFramer f(512);
  std::string huge(5000, 'x');
  auto got = FeedAll(f, huge.substr(0, 2000));
  REQUIRE(got.size() == 1);
  CHECK(got[0].kind == K::kTooLong);
  // The rest of the same line, in several feeds, yields nothing more.
  CHECK(FeedAll(f, huge.substr(2000, 2000)).empty());
  CHECK(FeedAll(f, huge.substr(4000)).empty());
  got = FeedAll(f, "\r\nNOOP\r\n");
  REQUIRE(got.size() == 1);
  CHECK(got[0] == Got{K::kLine, "NOOP"});
  // Memory stayed bounded while discarding.
  CHECK(f.buffered() == 0);
}

TEST_CASE("framer flags bare LF and bare CR", "[net][framer]") {
  LineFramer f(512);
  SECTION("bare LF") {
    auto got = FeedAll(f, "NOOP\nQUIT\r\n");
    REQUIRE(got.size() == 1);
    CHECK(got[0].kind == K::kBareNewline);
  }
  SECTION("bare CR") {
    auto got = FeedAll(f, "NOOP\rQUIT\r\n");
    REQUIRE(got.size() == 1);
    CHECK(got[0].kind == K::kBareNewline);
  }
  SECTION("a good line before a bare LF is still delivered") {
    auto got = FeedAll(f, "RSET\r\nNOOP\n");
    REQUIRE(got.size() == 2);
    CHECK(got[0] == Got{K::kLine, "RSET"});
    CHECK(got[1].kind == K::kBareNewline);
  }
  SECTION("CR at the end of a feed waits for the next octet") {
    CHECK(FeedAll(f, "NOOP\r").empty());
    auto got = FeedAll(f, "X");
    REQUIRE(got.size() == 1);
    CHECK(got[0].kind == K::kBareNewline);
  }
}

TEST_CASE("framer in normalize mode takes a bare LF as a line end, never a bare CR", "[net][framer]") {
  LineFramer f(512, /*accept_bare_lf=*/true);
  SECTION("LF and CRLF lines mixed") {
    auto got = FeedAll(f, "NOOP\nRSET\r\n\nQUIT\n");
    REQUIRE(got.size() == 4);
    CHECK(got[0] == Got{K::kLine, "NOOP"});
    CHECK(got[1] == Got{K::kLine, "RSET"});
    CHECK(got[2] == Got{K::kLine, ""});
    CHECK(got[3] == Got{K::kLine, "QUIT"});
    CHECK(f.buffered() == 0);
  }
  SECTION("a bare CR is still refused") {
    auto got = FeedAll(f, "NOOP\rQUIT\n");
    REQUIRE(got.size() == 1);
    CHECK(got[0].kind == K::kBareNewline);
  }
  SECTION("the limit counts the LF") {
    LineFramer g(10, true);
    auto got = FeedAll(g, "123456789\n1234567890\nNOOP\n");
    REQUIRE(got.size() == 3);
    CHECK(got[0] == Got{K::kLine, "123456789"});
    CHECK(got[1].kind == K::kTooLong);
    CHECK(got[2] == Got{K::kLine, "NOOP"});
  }
}

TEST_CASE("framer agrees with the whole-stream model under any split", "[net][framer]") {
  // Bounded pseudo-random streams over the octets that matter (CR, LF,
  // ordinary), limits small enough that over-long lines are common, fed in
  // random pieces with every event drained after each feed; both modes.
  const bool accept_bare_lf = GENERATE(false, true);
  OctetDice dice(20261124);
  for (int round = 0; round < 3000; ++round) {
    const std::string in = dice.Draw("\r\nab .ab .", 80);  // one octet in five ends a line
    const size_t max_line = 3 + dice.Below(20);
    LineFramer f(max_line, accept_bare_lf);
    std::vector<Got> got;
    size_t pos = 0;
    bool closed = false;
    while (pos < in.size() && !closed) {
      const size_t piece = std::min(in.size() - pos, 1 + dice.Below(9));
      f.Feed(in.data() + pos, piece);
      pos += piece;
      for (auto& g : Drain(f)) {
        got.push_back(g);
        closed = g.kind == K::kBareNewline;
      }
      if (!closed) CHECK(f.buffered() <= max_line);  // drained: at most one unfinished line is held
    }
    CAPTURE(accept_bare_lf, round, in, max_line);
    CHECK(got == ModelFrames(in, max_line, accept_bare_lf));
  }
}

TEST_CASE("framer hands over buffered bytes for DATA", "[net][framer]") {
  LineFramer f(512);
  const std::string in = "DATA\r\nSubject: x\r\n\r\nbo";
  f.Feed(in.data(), in.size());
  LineFramer::Event ev;
  REQUIRE(f.Next(&ev));
  CHECK(ev.line == "DATA");
  CHECK(f.TakeBuffered() == "Subject: x\r\n\r\nbo");
  CHECK(f.buffered() == 0);
  CHECK_FALSE(f.Next(&ev));
}

}  // namespace
}  // namespace mailnest
