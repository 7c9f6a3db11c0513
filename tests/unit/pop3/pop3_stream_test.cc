// What RETR and TOP put on the wire: the message bytes through TopFilter
// (TOP only) and DotStuffer, fed in chunks the way the session reads files.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "net/dot_codec.h"
#include "pop3/top_filter.h"

using namespace mailnest;

namespace {

// The session's streaming loop, minus the I/O: chunk after chunk through
// the optional TOP filter into the stuffer, then the terminator.
std::string Stream(const std::string& content, size_t chunk, const uint64_t* top_lines = nullptr) {
  DotStuffer stuffer;
  TopFilter top(top_lines ? *top_lines : 0);
  std::string out;
  for (size_t pos = 0; pos < content.size(); pos += chunk) {
    std::string_view c(content.data() + pos, std::min(chunk, content.size() - pos));
    if (top_lines) c = c.substr(0, top.Accept(c.data(), c.size()));
    stuffer.Feed(c.data(), c.size(), &out);
    if (top_lines && top.done()) break;
  }
  stuffer.Finish(&out);
  return out;
}

// Reference: stuff line by line (RFC 1939 §3), every line end sent as
// CR LF whether the file has LF (the Maildir convention) or CR LF.
std::string Reference(const std::string& content) {
  std::string out;
  size_t pos = 0;
  while (pos < content.size()) {
    size_t nl = content.find('\n', pos);
    size_t end = nl == std::string::npos ? content.size() : nl + 1;
    if (content[pos] == '.') out += '.';
    std::string line = content.substr(pos, end - pos);
    if (nl != std::string::npos && (line.size() < 2 || line[line.size() - 2] != '\r')) {
      line.insert(line.size() - 1, "\r");
    }
    out += line;
    pos = end;
  }
  if (!out.empty() && out.back() != '\n') out += "\r\n";
  return out + ".\r\n";
}

}  // namespace

TEST_CASE("RETR output dot-stuffs lines starting with '.' at any chunk boundary", "[pop3]") {
  const std::string msg =
      "From: a@b\r\n"
      "Subject: dots\r\n"
      "\r\n"
      ".\r\n"
      "..two\r\n"
      ".leading\r\n"
      "not.leading.\r\n"
      "\r\n"
      ".\r\n";
  const std::string want = Reference(msg);
  CHECK(want.find("\r\n..\r\n") != std::string::npos);
  CHECK(want.find("\r\n...two\r\n") != std::string::npos);
  CHECK(want.find("\r\n..leading\r\n") != std::string::npos);
  CHECK(want.substr(want.size() - 5) == "\r\n.\r\n");
  for (size_t chunk = 1; chunk <= msg.size(); ++chunk) {
    INFO("chunk " << chunk);
    CHECK(Stream(msg, chunk) == want);
  }
}

TEST_CASE("RETR output of content not ending in CRLF gets CRLF before the terminator", "[pop3]") {
  CHECK(Stream("Subject: x\r\n\r\nno newline", 4) == "Subject: x\r\n\r\nno newline\r\n.\r\n");
  CHECK(Stream(".", 1) == "..\r\n.\r\n");
  CHECK(Stream("", 64) == ".\r\n");  // an empty message: just the terminator
}

TEST_CASE("RETR output of a large message equals the reference at 64 KiB chunks", "[pop3]") {
  std::string msg = "Subject: big\r\n\r\n";
  for (int i = 0; i < 20000; ++i) msg += (i % 3 == 0 ? ".dotted line " : "plain line ") + std::to_string(i) + "\r\n";
  CHECK(Stream(msg, 64 * 1024) == Reference(msg));
  CHECK(Stream(msg, 4093) == Reference(msg));  // a size that splits CRLF pairs
}

TEST_CASE("TOP sends the header, the blank line and n body lines", "[pop3]") {
  const std::string msg =
      "Subject: t\r\n"
      "X-A: 1\r\n"
      "\r\n"
      "body 1\r\n"
      ".body 2\r\n"
      "body 3\r\n";
  for (size_t chunk : {size_t{1}, size_t{3}, size_t{7}, size_t{64}}) {
    INFO("chunk " << chunk);
    uint64_t n = 0;
    CHECK(Stream(msg, chunk, &n) == "Subject: t\r\nX-A: 1\r\n\r\n.\r\n");
    n = 2;
    CHECK(Stream(msg, chunk, &n) == "Subject: t\r\nX-A: 1\r\n\r\nbody 1\r\n..body 2\r\n.\r\n");
    n = 3;
    CHECK(Stream(msg, chunk, &n) == Reference(msg));
    n = 1000;  // more lines than the body has: the whole message
    CHECK(Stream(msg, chunk, &n) == Reference(msg));
  }
}

TEST_CASE("TopFilter edge cases", "[pop3]") {
  SECTION("a message without a blank line is all header") {
    uint64_t n = 0;
    CHECK(Stream("Subject: only\r\nX: y\r\n", 5, &n) == "Subject: only\r\nX: y\r\n.\r\n");
  }
  SECTION("done() stops at the limit and accepts nothing more") {
    TopFilter f(1);
    std::string m = "H: 1\r\n\r\nb1\r\nb2\r\n";
    size_t n = f.Accept(m.data(), m.size());
    CHECK(m.substr(0, n) == "H: 1\r\n\r\nb1\r\n");
    CHECK(f.done());
    CHECK(f.Accept("more\r\n", 6) == 0);
  }
  SECTION("a header line holding only a CR-less LF still ends the header") {
    uint64_t n = 0;
    CHECK(Stream("H: 1\n\nbody\n", 2, &n) == "H: 1\r\n\r\n.\r\n");
  }
}

TEST_CASE("RETR and TOP of an LF file (the storage form) send CR LF lines", "[pop3]") {
  const std::string lf = "Subject: t\nX-A: 1\n\nbody 1\n.body 2\nbody 3\n";
  const std::string crlf = "Subject: t\r\nX-A: 1\r\n\r\nbody 1\r\n.body 2\r\nbody 3\r\n";
  for (size_t chunk : {size_t{1}, size_t{2}, size_t{7}, size_t{64}}) {
    INFO("chunk " << chunk);
    CHECK(Stream(lf, chunk) == Stream(crlf, chunk));
    CHECK(Stream(lf, chunk) == "Subject: t\r\nX-A: 1\r\n\r\nbody 1\r\n..body 2\r\nbody 3\r\n.\r\n");
    for (uint64_t n : {0, 1, 2, 3, 100}) {
      CHECK(Stream(lf, chunk, &n) == Stream(crlf, chunk, &n));
    }
  }
  SECTION("a mix of LF and CR LF lines, as a file edited by hand") {
    const std::string mixed = "A: 1\r\nB: 2\n\r\nx\n.y\r\n";
    CHECK(Stream(mixed, 3) == "A: 1\r\nB: 2\r\n\r\nx\r\n..y\r\n.\r\n");
    uint64_t n = 1;
    CHECK(Stream(mixed, 1, &n) == "A: 1\r\nB: 2\r\n\r\nx\r\n.\r\n");
  }
}
