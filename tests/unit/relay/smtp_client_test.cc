#include "relay/smtp_client.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace mailnest {
namespace {

// Records what the client writes and which timeouts it sets.
struct Recorder : SmtpClient::Io {
  std::string out;
  std::vector<uint64_t> timeouts;
  bool closed = false;
  void Write(std::string_view b) override { out.append(b); }
  void SetTimeout(uint64_t ms) override { timeouts.push_back(ms); }
  void Close() override { closed = true; }
  // The lines written since the last call.
  std::string Take() { return std::exchange(out, std::string()); }
};

ClientSettings Settings() {
  ClientSettings s;
  s.helo_name = "relay.test";
  s.peer = "next.test[127.0.0.1]:25";
  s.greeting_ms = 1;
  s.command_ms = 2;
  s.data_init_ms = 3;
  s.data_block_ms = 4;
  s.data_term_ms = 5;
  return s;
}

void Feed(SmtpClient& c, std::string_view s) { c.OnRead(s.data(), s.size()); }

TEST_CASE("client: EHLO, SIZE and BODY=8BITMIME when advertised, RCPT each, DATA stuffed, QUIT",
          "[relay][client]") {
  Recorder io;
  const std::string msg = "Subject: caf\xc3\xa9\n\n.dot\nend\n";
  SmtpClient c(&io, Settings(), "a@x.test", {"b@y.test", "c@y.test"}, &msg);
  c.Start();
  CHECK(io.timeouts.back() == 1);  // greeting
  Feed(c, "220 next.test ESMTP\r\n");
  CHECK(io.Take() == "EHLO relay.test\r\n");
  Feed(c, "250-next.test\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250 PIPELINING\r\n");
  // The wire size counts each LF as CR LF: 25 octets + 4 line ends.
  CHECK(io.Take() == "MAIL FROM:<a@x.test> SIZE=29 BODY=8BITMIME\r\n");
  Feed(c, "250 2.1.0 Ok\r\n");
  CHECK(io.Take() == "RCPT TO:<b@y.test>\r\n");
  Feed(c, "250 2.1.5 Ok\r\n");
  CHECK(io.Take() == "RCPT TO:<c@y.test>\r\n");
  Feed(c, "250 2.1.5 Ok\r\n");
  CHECK(io.Take() == "DATA\r\n");
  CHECK(io.timeouts.back() == 3);  // data_init
  Feed(c, "354 go\r\n");
  CHECK(io.Take() == "Subject: caf\xc3\xa9\r\n\r\n..dot\r\nend\r\n.\r\n");
  CHECK(io.timeouts.back() == 4);  // data_block until the body has left
  c.OnWritable();
  CHECK(io.timeouts.back() == 5);  // data_term
  Feed(c, "250 2.0.0 Ok: queued as X\r\n");
  CHECK(io.Take() == "QUIT\r\n");
  Feed(c, "221 2.0.0 Bye\r\n");
  CHECK(c.finished());
  CHECK(io.closed);
  REQUIRE(c.outcomes().size() == 2);
  for (const RcptOutcome& o : c.outcomes()) {
    CHECK(o.decided);
    CHECK(o.reply.code == 250);
    CHECK(o.reply.enhanced == "2.0.0");
    CHECK(o.reply.text == "250 2.0.0 Ok: queued as X");
  }
}

TEST_CASE("client: one recipient's 5xx does not fail the other", "[relay][client]") {
  Recorder io;
  const std::string msg = "x\n";
  SmtpClient c(&io, Settings(), "a@x.test", {"b@y.test", "c@y.test", "d@y.test"}, &msg);
  c.Start();
  Feed(c, "220 hi\r\n250 next.test\r\n250 ok\r\n");  // greeting, EHLO (no extensions), MAIL
  CHECK(io.Take() == "EHLO relay.test\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\n");
  Feed(c, "550 5.1.1 <b@y.test>: unknown user\r\n");
  Feed(c, "450 4.2.0 busy\r\n");
  Feed(c, "250 2.1.5 ok\r\n");
  Feed(c, "354 go\r\n");
  io.Take();
  Feed(c, "250 2.0.0 done\r\n221 bye\r\n");
  REQUIRE(c.finished());
  const auto& o = c.outcomes();
  CHECK(o[0].reply.code == 550);
  CHECK(o[0].reply.enhanced == "5.1.1");
  CHECK(o[1].reply.code == 450);
  CHECK(o[2].reply.code == 250);
}

TEST_CASE("client: no recipient accepted means QUIT without DATA", "[relay][client]") {
  Recorder io;
  const std::string msg = "x\n";
  SmtpClient c(&io, Settings(), "", {"b@y.test"}, &msg);
  c.Start();
  Feed(c, "220 hi\r\n250 x\r\n250 ok\r\n");
  CHECK(io.Take() == "EHLO relay.test\r\nMAIL FROM:<>\r\nRCPT TO:<b@y.test>\r\n");
  Feed(c, "550 5.1.1 no\r\n");
  CHECK(io.Take() == "QUIT\r\n");
}

TEST_CASE("client: EHLO refused falls back to HELO", "[relay][client]") {
  Recorder io;
  const std::string msg = "x\n";
  SmtpClient c(&io, Settings(), "a@x.test", {"b@y.test"}, &msg);
  c.Start();
  Feed(c, "220 old\r\n");
  io.Take();
  Feed(c, "502 5.5.1 what\r\n");
  CHECK(io.Take() == "HELO relay.test\r\n");
  Feed(c, "250 old\r\n");
  CHECK(io.Take() == "MAIL FROM:<a@x.test>\r\n");  // no SIZE, no BODY without EHLO
  CHECK_FALSE(c.esmtp());
}

TEST_CASE("client: session failures decide every open recipient", "[relay][client]") {
  Recorder io;
  const std::string msg = "x\n";
  SECTION("a 4xx greeting defers all, then QUIT") {
    SmtpClient c(&io, Settings(), "a@x.test", {"b@y.test", "c@y.test"}, &msg);
    c.Start();
    Feed(c, "421 4.3.2 busy\r\n");
    CHECK(c.finished());  // 421: the server closes, no QUIT
    CHECK(io.closed);
    for (const auto& o : c.outcomes()) CHECK(o.reply.code == 421);
  }
  SECTION("MAIL refused with 5xx bounces all") {
    SmtpClient c(&io, Settings(), "a@x.test", {"b@y.test", "c@y.test"}, &msg);
    c.Start();
    Feed(c, "220 hi\r\n250 x\r\n553 5.7.1 sender refused\r\n");
    for (const auto& o : c.outcomes()) CHECK(o.reply.code == 553);
    CHECK(io.Take().find("QUIT\r\n") != std::string::npos);
  }
  SECTION("a timeout is a local 4.4.2 failure") {
    SmtpClient c(&io, Settings(), "a@x.test", {"b@y.test"}, &msg);
    c.Start();
    Feed(c, "220 hi\r\n");
    c.OnTimeout();
    CHECK(c.finished());
    CHECK(c.outcomes()[0].reply.code == 0);
    CHECK(c.outcomes()[0].reply.enhanced == "4.4.2");
    CHECK(c.outcomes()[0].reply.text.find("timed out while receiving the EHLO reply") != std::string::npos);
  }
  SECTION("a lost connection after the dot defers the accepted, keeps the refused") {
    SmtpClient c(&io, Settings(), "a@x.test", {"b@y.test", "c@y.test"}, &msg);
    c.Start();
    Feed(c, "220 hi\r\n250 x\r\n250 ok\r\n550 5.1.1 no\r\n250 ok\r\n354 go\r\n");
    c.OnClosed();
    CHECK(c.outcomes()[0].reply.code == 550);
    CHECK(c.outcomes()[1].reply.code == 0);
    CHECK(c.outcomes()[1].reply.enhanced == "4.4.2");
  }
  SECTION("a garbled reply is a protocol error") {
    SmtpClient c(&io, Settings(), "a@x.test", {"b@y.test"}, &msg);
    c.Start();
    Feed(c, "hello there\r\n");
    CHECK(c.finished());
    CHECK(c.outcomes()[0].reply.enhanced == "4.5.0");
  }
  SECTION("a message over the advertised SIZE is refused before MAIL") {
    const std::string big(2000, 'x');
    SmtpClient c(&io, Settings(), "a@x.test", {"b@y.test"}, &big);
    c.Start();
    Feed(c, "220 hi\r\n250-x\r\n250 SIZE 1000\r\n");
    CHECK(io.Take() == "EHLO relay.test\r\nQUIT\r\n");
    CHECK(c.outcomes()[0].reply.code == 552);
    CHECK(c.outcomes()[0].reply.enhanced == "5.3.4");
  }
}

TEST_CASE("client: multi-line replies must keep one code and stay bounded", "[relay][client]") {
  Recorder io;
  const std::string msg = "x\n";
  ClientSettings s = Settings();
  s.max_reply_lines = 3;
  SmtpClient c(&io, s, "a@x.test", {"b@y.test"}, &msg);
  c.Start();
  Feed(c, "220-a\r\n220-b\r\n220-c\r\n220 d\r\n");
  CHECK(c.finished());
  CHECK(c.outcomes()[0].reply.enhanced == "4.5.0");
}

TEST_CASE("enhanced status codes are taken only when their class matches", "[relay][client]") {
  CHECK(EnhancedCodeOf(550, "550 5.1.1 unknown") == "5.1.1");
  CHECK(EnhancedCodeOf(250, "250 2.0.0") == "2.0.0");
  CHECK(EnhancedCodeOf(550, "550 4.1.1 mismatch") == "");
  CHECK(EnhancedCodeOf(550, "550 no code here") == "");
  CHECK(EnhancedCodeOf(451, "451 4.123.456 x") == "4.123.456");
  CHECK(EnhancedCodeOf(451, "451 4.1234.5 x") == "");
}

}  // namespace
}  // namespace mailnest
