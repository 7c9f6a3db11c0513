#include "net/dot_codec.h"

#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "octet_dice.h"

namespace mailnest {
namespace {

struct Decoded {
  std::string out;
  size_t consumed = 0;
  bool done = false, bare = false, long_line = false, large = false;
};

Decoded Decode(const std::string& in, uint64_t max_size = 1 << 20, size_t max_line = 1000) {
  DataDecoder d(max_size, max_line);
  Decoded r;
  r.consumed = d.Feed(in.data(), in.size(), &r.out);
  r.done = d.done();
  r.bare = d.bare_newline();
  r.long_line = d.line_too_long();
  r.large = d.too_large();
  return r;
}

// RFC 5321 §4.5.2 restated over a whole stream, with no state machine: the
// data ends at the first CRLF . CRLF (counting the CRLF before DATA's first
// line), lines are split at CRLF only, one leading dot is removed from each,
// and any other CR or LF marks the message as unacceptable. Line lengths are
// counted on the wire (the stuffed dot and the CRLF included).
Decoded Model(const std::string& in, uint64_t max_size, size_t max_line) {
  Decoded m;
  const size_t end = ("\r\n" + in).find("\r\n.\r\n");
  if (end == std::string::npos) return m;  // the caller always appends a terminator
  m.done = true;
  m.consumed = end + 3;
  const std::string raw = in.substr(0, end);  // empty, or ends with the CRLF before the dot
  std::string content;
  for (size_t p = 0; p < raw.size();) {
    const size_t next = raw.find("\r\n", p) + 2;  // every line of raw ends in CRLF
    std::string line = raw.substr(p, next - p);
    if (line.size() > max_line) m.long_line = true;
    if (line.find_first_of("\r\n") < line.size() - 2) m.bare = true;
    if (line[0] == '.') line.erase(0, 1);
    content += line;
    p = next;
  }
  m.large = content.size() > max_size;
  m.out = content.substr(0, max_size);
  return m;
}

TEST_CASE("decoder ends only at CRLF.CRLF and returns what follows", "[net][dot]") {
  auto r = Decode("Subject: x\r\n\r\nhello\r\n.\r\nQUIT\r\n");
  CHECK(r.done);
  CHECK_FALSE(r.bare);
  CHECK(r.out == "Subject: x\r\n\r\nhello\r\n");
  CHECK(r.consumed == std::string("Subject: x\r\n\r\nhello\r\n.\r\n").size());
}

TEST_CASE("decoder: an empty message is just the terminator", "[net][dot]") {
  auto r = Decode(".\r\n");
  CHECK(r.done);
  CHECK(r.out.empty());
}

TEST_CASE("decoder removes dot-stuffing", "[net][dot]") {
  auto r = Decode("..x\r\n...\r\n.y\r\na.b\r\n.\r\n");
  REQUIRE(r.done);
  CHECK(r.out == ".x\r\n..\r\ny\r\na.b\r\n");
}

TEST_CASE("decoder finds a terminator split across feeds", "[net][dot]") {
  const std::string msg = "line one\r\n..two\r\n.\r\nNOOP\r\n";
  // Every split point, including inside "\r\n.\r\n".
  for (size_t cut = 0; cut <= msg.size(); ++cut) {
    DataDecoder d(1 << 20, 1000);
    std::string out;
    size_t a = d.Feed(msg.data(), cut, &out);
    size_t b = d.done() ? 0 : d.Feed(msg.data() + cut, msg.size() - cut, &out);
    INFO("cut at " << cut);
    CHECK(d.done());
    CHECK_FALSE(d.bare_newline());
    CHECK(out == "line one\r\n.two\r\n");
    CHECK(a + b == msg.size() - 6);  // "NOOP\r\n" is left for the framer
  }
}

TEST_CASE("decoder: smuggling endings neither terminate nor pass unflagged", "[net][dot][smuggling]") {
  // Each ending followed by a would-be second transaction. Only the final
  // CRLF.CRLF may end the data, and the message must be flagged.
  const char* endings[] = {"\n.\n", "\r.\r", "\r.\n", "\n.\r", "\n.\r\n", "\r\n.\n", "\r.\r\n", "\r\n.\r"};
  for (const char* ending : endings) {
    std::string in = std::string("hello") + ending + "MAIL FROM:<x@y>\r\nDATA\r\nsmuggled\r\n.\r\n";
    auto r = Decode(in);
    INFO("ending " << Catch::Detail::stringify(std::string(ending)));
    CHECK(r.done);
    CHECK(r.consumed == in.size());  // the fake terminator did not end it early
    CHECK(r.bare);
  }
  SECTION("NUL before the dot is content, not a terminator, and not bare") {
    std::string in = std::string("hello\r\n") + '\0' + ".\r\nMORE\r\n.\r\n";
    auto r = Decode(in);
    CHECK(r.done);
    CHECK(r.consumed == in.size());
    CHECK_FALSE(r.bare);
    CHECK(r.out == std::string("hello\r\n") + '\0' + ".\r\nMORE\r\n");
  }
}

TEST_CASE("decoder flags a bare CR or LF anywhere", "[net][dot]") {
  CHECK(Decode("a\nb\r\n.\r\n").bare);
  CHECK(Decode("a\rb\r\n.\r\n").bare);
  CHECK(Decode("\n.\r\n").bare);
  CHECK_FALSE(Decode("a\r\nb\r\n.\r\n").bare);
}

TEST_CASE("decoder enforces the text line limit (CRLF included)", "[net][dot]") {
  std::string ok(998, 'a');
  auto r = Decode(ok + "\r\n.\r\n");
  CHECK(r.done);
  CHECK_FALSE(r.long_line);
  std::string bad(999, 'a');
  r = Decode(bad + "\r\n.\r\n");
  CHECK(r.done);
  CHECK(r.long_line);
  SECTION("a stuffed dot counts as it is on the wire") {
    r = Decode("." + std::string(998, 'a') + "\r\n.\r\n");
    CHECK(r.long_line);
  }
}

TEST_CASE("decoder enforces the size limit and stops producing output", "[net][dot]") {
  std::string body;
  for (int i = 0; i < 100; ++i) body += "0123456789012345678901234567890123456789\r\n";
  auto r = Decode(body + ".\r\n", 1024);
  CHECK(r.done);
  CHECK(r.large);
  CHECK(r.out.size() <= 1024);
  r = Decode(body + ".\r\n", body.size());
  CHECK_FALSE(r.large);
  CHECK(r.out == body);
}

TEST_CASE("decoder: output stops exactly at the size limit, even inside a line", "[net][dot]") {
  auto r = Decode("abcdefghij\r\n.\r\n", 4);
  CHECK(r.large);
  CHECK(r.out == "abcd");
  CHECK(r.done);
}

TEST_CASE("decoder: any split of the input gives the same result", "[net][dot]") {
  // Bounded pseudo-random inputs over the bytes that matter ('.', CR, LF,
  // ordinary), fed whole and in random pieces: output and flags agree.
  OctetDice dice(12345);
  for (int round = 0; round < 2000; ++round) {
    const std::string in = dice.Draw(".\r\nab ", 60) + "\r\n.\r\n";
    const uint64_t max_size = 1 + dice.Below(40);
    const size_t max_line = 3 + dice.Below(20);
    Decoded whole = Decode(in, max_size, max_line);

    DataDecoder d(max_size, max_line);
    std::string out;
    size_t pos = 0;
    while (pos < in.size() && !d.done()) {
      size_t piece = std::min<size_t>(in.size() - pos, 1 + dice.Below(7));
      pos += d.Feed(in.data() + pos, piece, &out);
    }
    CAPTURE(round, in, max_size, max_line);
    CHECK(out == whole.out);
    CHECK(pos == whole.consumed);
    CHECK(d.bare_newline() == whole.bare);
    CHECK(d.line_too_long() == whole.long_line);
    CHECK(d.too_large() == whole.large);
  }
}

TEST_CASE("decoder agrees with the whole-stream model", "[net][dot]") {
  // The split test above proves consistency; this one proves the result is
  // the right one, on inputs dense in dots, CRs and LFs.
  OctetDice dice(5321);
  for (int round = 0; round < 3000; ++round) {
    const std::string in = dice.Draw(".\r\nab ", 60) + "\r\n.\r\nQUIT\r\n";
    const uint64_t max_size = dice.Below(50);
    const size_t max_line = 3 + dice.Below(20);
    const Decoded got = Decode(in, max_size, max_line);
    const Decoded want = Model(in, max_size, max_line);
    CAPTURE(round, in, max_size, max_line);
    CHECK(got.done);
    CHECK(got.consumed == want.consumed);
    CHECK(got.out == want.out);
    CHECK(got.bare == want.bare);
    CHECK(got.long_line == want.long_line);
    CHECK(got.large == want.large);
  }
}

TEST_CASE("stuffer doubles leading dots and terminates", "[net][dot]") {
  DotStuffer s;
  std::string out;
  std::string in = ".a\r\nb.\r\n..\r\n";
  s.Feed(in.data(), in.size(), &out);
  s.Finish(&out);
  CHECK(out == "..a\r\nb.\r\n...\r\n.\r\n");
  SECTION("content without final CRLF gets one before the terminator") {
    DotStuffer t;
    std::string o;
    t.Feed("x", 1, &o);
    t.Finish(&o);
    CHECK(o == "x\r\n.\r\n");
  }
  SECTION("a dot at the start of a later feed is still stuffed") {
    DotStuffer t;
    std::string o;
    t.Feed("a\r\n", 3, &o);
    t.Feed(".b\r\n", 4, &o);
    t.Finish(&o);
    CHECK(o == "a\r\n..b\r\n.\r\n");
  }
  SECTION("round trip through the decoder") {
    std::string msg = ".\r\n..\r\n.x\r\nplain\r\n";
    DotStuffer t;
    std::string wire;
    t.Feed(msg.data(), msg.size(), &wire);
    t.Finish(&wire);
    auto r = Decode(wire);
    CHECK(r.done);
    CHECK(r.out == msg);
  }
}

}  // namespace
}  // namespace mailnest
