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

Decoded Decode(const std::string& in, uint64_t max_size = 1 << 20, size_t max_line = 1000,
               BareNewline mode = BareNewline::kReject) {
  DataDecoder d(max_size, max_line, mode);
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
// line); lines are split at every LF; one leading dot is removed from each;
// each line is stored ending in exactly one LF and counted as ending in
// CR LF; a CR not followed by LF is dropped and makes the message
// unacceptable, and so does a LF without CR before it in reject mode. Line
// lengths are counted on the wire (the stuffed dot and the line end
// included). Output stops where the CR LF count would pass max_size.
Decoded Model(const std::string& in, uint64_t max_size, size_t max_line, BareNewline mode) {
  Decoded m;
  const size_t end = ("\r\n" + in).find("\r\n.\r\n");
  if (end == std::string::npos) return m;  // the caller always appends a terminator
  m.done = true;
  m.consumed = end + 3;
  const std::string raw = in.substr(0, end);  // empty, or ends with the CRLF before the dot
  std::string content;                        // storage form, every line end one LF
  for (size_t p = 0; p < raw.size();) {
    const size_t next = raw.find('\n', p) + 1;  // every line of raw ends in LF
    std::string line = raw.substr(p, next - p);
    if (line.size() > max_line) m.long_line = true;
    const bool crlf = line.size() >= 2 && line[line.size() - 2] == '\r';
    if (!crlf && mode == BareNewline::kReject) m.bare = true;
    line.resize(line.size() - (crlf ? 2 : 1));
    if (!line.empty() && line[0] == '.') line.erase(0, 1);  // a dot after a bare CR is not leading
    if (line.find('\r') != std::string::npos) m.bare = true;
    line.erase(std::remove(line.begin(), line.end(), '\r'), line.end());
    content += line + "\n";
    p = next;
  }
  uint64_t wire = 0;  // the message as POP3 sends it
  for (char c : content) {
    wire += c == '\n' ? 2 : 1;
    if (wire > max_size) {
      m.large = true;
      break;
    }
    m.out.push_back(c);
  }
  return m;
}

TEST_CASE("decoder ends only at CRLF.CRLF and returns what follows", "[net][dot]") {
  auto r = Decode("Subject: x\r\n\r\nhello\r\n.\r\nQUIT\r\n");
  CHECK(r.done);
  CHECK_FALSE(r.bare);
  CHECK(r.out == "Subject: x\n\nhello\n");  // stored with LF line ends
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
  CHECK(r.out == ".x\n..\ny\na.b\n");
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
    CHECK(out == "line one\n.two\n");
    CHECK(a + b == msg.size() - 6);  // "NOOP\r\n" is left for the framer
  }
}

TEST_CASE("decoder: smuggling endings neither terminate nor let a message in", "[net][dot][smuggling]") {
  // Each ending followed by a would-be second transaction. Only the final
  // CRLF.CRLF may end the data. Reject mode flags every one; normalize mode
  // flags those with a bare CR and keeps the others as text of one message.
  const BareNewline mode = GENERATE(BareNewline::kReject, BareNewline::kNormalize);
  const char* endings[] = {"\n.\n", "\r.\r", "\r.\n", "\n.\r", "\n.\r\n", "\r\n.\n", "\r.\r\n", "\r\n.\r"};
  for (const char* ending : endings) {
    std::string in = std::string("hello") + ending + "MAIL FROM:<x@y>\r\nDATA\r\nsmuggled\r\n.\r\n";
    auto r = Decode(in, 1 << 20, 1000, mode);
    const std::string e = ending;
    const bool bare_cr = e != "\n.\n" && e != "\n.\r\n" && e != "\r\n.\n";
    INFO("ending " << Catch::Detail::stringify(e) << " normalize " << (mode == BareNewline::kNormalize));
    CHECK(r.done);
    CHECK(r.consumed == in.size());  // the fake terminator did not end it early
    CHECK(r.bare == (mode == BareNewline::kReject || bare_cr));
    CHECK(r.out.find('\r') == std::string::npos);
    if (!r.bare) {
      // One message, the would-be transaction its text; the dot line is empty.
      CHECK(r.out == "hello\n\nMAIL FROM:<x@y>\nDATA\nsmuggled\n");
    }
  }
  SECTION("NUL before the dot is content, not a terminator, and not bare") {
    std::string in = std::string("hello\r\n") + '\0' + ".\r\nMORE\r\n.\r\n";
    auto r = Decode(in, 1 << 20, 1000, mode);
    CHECK(r.done);
    CHECK(r.consumed == in.size());
    CHECK_FALSE(r.bare);
    CHECK(r.out == std::string("hello\n") + '\0' + ".\nMORE\n");
  }
}

TEST_CASE("decoder in normalize mode stores bare-LF lines as lines", "[net][dot]") {
  auto r = Decode("a\nb\r\n\r\n.\r\n", 1 << 20, 1000, BareNewline::kNormalize);
  CHECK(r.done);
  CHECK_FALSE(r.bare);
  CHECK(r.out == "a\nb\n\n");
  SECTION("only a CRLF before the dot line ends the data") {
    r = Decode("a\n.\r\nb\r\n.\r\n", 1 << 20, 1000, BareNewline::kNormalize);
    CHECK(r.done);
    CHECK(r.out == "a\n\nb\n");
  }
  SECTION("size() counts every line end as CR LF") {
    DataDecoder d(1 << 20, 1000, BareNewline::kNormalize);
    std::string out;
    const std::string in = "ab\ncd\r\n.\r\n";
    d.Feed(in.data(), in.size(), &out);
    CHECK(out == "ab\ncd\n");
    CHECK(d.size() == 8);  // "ab\r\ncd\r\n"
    CHECK(d.bare_lf_lines() == 1);
  }
}

TEST_CASE("decoder flags a bare CR anywhere, and a bare LF in reject mode", "[net][dot]") {
  CHECK(Decode("a\nb\r\n.\r\n").bare);
  CHECK(Decode("a\rb\r\n.\r\n").bare);
  CHECK(Decode("\n.\r\n").bare);
  CHECK_FALSE(Decode("a\r\nb\r\n.\r\n").bare);
  const auto n = BareNewline::kNormalize;
  CHECK_FALSE(Decode("a\nb\r\n.\r\n", 1 << 20, 1000, n).bare);
  CHECK(Decode("a\rb\r\n.\r\n", 1 << 20, 1000, n).bare);
  CHECK(Decode("a\r\r\n.\r\n", 1 << 20, 1000, n).bare);
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
  std::string body, stored;
  for (int i = 0; i < 100; ++i) body += "0123456789012345678901234567890123456789\r\n";
  for (int i = 0; i < 100; ++i) stored += "0123456789012345678901234567890123456789\n";
  auto r = Decode(body + ".\r\n", 1024);
  CHECK(r.done);
  CHECK(r.large);
  CHECK(r.out.size() <= 1024);
  r = Decode(body + ".\r\n", body.size());  // the limit is on the CR LF form
  CHECK_FALSE(r.large);
  CHECK(r.out == stored);
  r = Decode(body + ".\r\n", body.size() - 1);
  CHECK(r.large);
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
  const BareNewline mode = GENERATE(BareNewline::kReject, BareNewline::kNormalize);
  OctetDice dice(12345);
  for (int round = 0; round < 2000; ++round) {
    const std::string in = dice.Draw(".\r\nab ", 60) + "\r\n.\r\n";
    const uint64_t max_size = 1 + dice.Below(40);
    const size_t max_line = 3 + dice.Below(20);
    Decoded whole = Decode(in, max_size, max_line, mode);

    DataDecoder d(max_size, max_line, mode);
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
  const BareNewline mode = GENERATE(BareNewline::kReject, BareNewline::kNormalize);
  OctetDice dice(5321);
  for (int round = 0; round < 3000; ++round) {
    const std::string in = dice.Draw(".\r\nab ", 60) + "\r\n.\r\nQUIT\r\n";
    const uint64_t max_size = dice.Below(50);
    const size_t max_line = 3 + dice.Below(20);
    const Decoded got = Decode(in, max_size, max_line, mode);
    const Decoded want = Model(in, max_size, max_line, mode);
    CAPTURE(mode == BareNewline::kNormalize, round, in, max_size, max_line);
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
    CHECK(r.out == ".\n..\n.x\nplain\n");  // the storage form
  }
}

TEST_CASE("stuffer sends LF and mixed line ends as CR LF, whatever the chunking", "[net][dot]") {
  // A Maildir file from us (LF), an older version (CRLF) or another writer
  // (a mix, a lone CR as content): the wire always has CR LF line ends.
  const std::string file = ".a\nb\r\n..\n\nx\ry\n\r\n.\nz";
  const std::string want = "..a\r\nb\r\n...\r\n\r\nx\ry\r\n\r\n..\r\nz\r\n.\r\n";
  for (size_t cut1 = 0; cut1 <= file.size(); ++cut1) {
    for (size_t cut2 = cut1; cut2 <= file.size(); ++cut2) {
      DotStuffer t;
      std::string o;
      t.Feed(file.data(), cut1, &o);
      t.Feed(file.data() + cut1, cut2 - cut1, &o);
      t.Feed(file.data() + cut2, file.size() - cut2, &o);
      t.Finish(&o);
      CAPTURE(cut1, cut2);
      CHECK(o == want);
    }
  }
  SECTION("decoding what it sends gives the LF file back") {
    const std::string lf = "a\n.b\n\nc\n";
    DotStuffer t;
    std::string wire;
    t.Feed(lf.data(), lf.size(), &wire);
    t.Finish(&wire);
    CHECK(wire == "a\r\n..b\r\n\r\nc\r\n.\r\n");
    CHECK(Decode(wire).out == lf);
  }
}

}  // namespace
}  // namespace mailnest
