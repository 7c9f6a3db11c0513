#include "relay/smtp_client.h"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

namespace mailnest {
namespace {

// Records what the client writes and which timeouts it sets.
struct Recorder : SmtpClient::Io {
  std::string out;
  std::vector<std::string> writes;  // one entry per Write(): what left together
  std::vector<uint64_t> timeouts;
  bool closed = false;
  int transactions_done = 0;
  bool keep = false;  // answer OnTransactionDone with "keep the session"
  void Write(std::string_view b) override {
    out.append(b);
    writes.emplace_back(b);
  }
  bool OnTransactionDone() override {
    ++transactions_done;
    return keep;
  }
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
  // No PIPELINING advertised: one command at a time.
  Recorder io;
  const std::string msg = "Subject: caf\xc3\xa9\n\n.dot\nend\n";
  SmtpClient c(&io, Settings(), "a@x.test", {"b@y.test", "c@y.test"}, &msg);
  c.Start();
  CHECK(io.timeouts.back() == 1);  // greeting
  Feed(c, "220 next.test ESMTP\r\n");
  CHECK(io.Take() == "EHLO relay.test\r\n");
  Feed(c, "250-next.test\r\n250-SIZE 1000\r\n250-8BITMIME\r\n250 HELP\r\n");
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

TEST_CASE("client: PIPELINING sends MAIL, every RCPT and DATA in one write, replies matched in order",
          "[relay][client][pipelining]") {
  Recorder io;
  const std::string msg = "Subject: x\n\nbody\n";
  SmtpClient c(&io, Settings(), "a@x.test", {"b@y.test", "c@y.test"}, &msg);
  c.Start();
  Feed(c, "220 next.test ESMTP\r\n");
  io.Take();
  io.writes.clear();
  Feed(c, "250-next.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
  CHECK(c.pipelining());
  REQUIRE(io.writes.size() == 1);
  CHECK(io.writes[0] == "MAIL FROM:<a@x.test>\r\nRCPT TO:<b@y.test>\r\nRCPT TO:<c@y.test>\r\nDATA\r\n");
  io.Take();
  CHECK(c.state() == ClientState::kMail);
  CHECK(io.timeouts.back() == 2);  // command timeout for the MAIL reply
  SECTION("a 5xx for one of two recipients: the other is delivered") {
    Feed(c, "250 2.1.0 ok\r\n550 5.1.1 <b@y.test>: unknown user\r\n");
    CHECK(io.Take().empty());  // nothing sent while replies are due
    CHECK(c.state() == ClientState::kRcpt);
    Feed(c, "250 2.1.5 ok\r\n");
    CHECK(c.state() == ClientState::kData);
    CHECK(io.timeouts.back() == 3);  // data_init for the DATA reply
    Feed(c, "354 go\r\n");
    CHECK(io.Take() == "Subject: x\r\n\r\nbody\r\n.\r\n");
    Feed(c, "250 2.0.0 queued\r\n");
    CHECK(io.Take() == "QUIT\r\n");
    Feed(c, "221 bye\r\n");
    REQUIRE(c.finished());
    CHECK(c.outcomes()[0].reply.code == 550);
    CHECK(c.outcomes()[0].reply.enhanced == "5.1.1");
    CHECK_FALSE(c.outcomes()[0].accepted_rcpt);
    CHECK(c.outcomes()[1].reply.code == 250);
    CHECK(c.outcomes()[1].reply.text == "250 2.0.0 queued");
  }
  SECTION("all replies in one read") {
    Feed(c, "250 ok\r\n250 ok\r\n250 ok\r\n354 go\r\n");
    CHECK(io.Take() == "Subject: x\r\n\r\nbody\r\n.\r\n");
    Feed(c, "250 2.0.0 queued\r\n221 bye\r\n");
    REQUIRE(c.finished());
    for (const auto& o : c.outcomes()) CHECK(o.reply.code == 250);
  }
  SECTION("a 4xx for MAIL defers both; the RCPT and DATA replies behind it are read, not taken") {
    Feed(c, "451 4.3.0 try later\r\n503 5.5.1 need MAIL\r\n503 5.5.1 need MAIL\r\n");
    CHECK(io.Take().empty());
    Feed(c, "503 5.5.1 no valid recipients\r\n");
    CHECK(io.Take() == "QUIT\r\n");
    for (const auto& o : c.outcomes()) {
      CHECK(o.reply.code == 451);
      CHECK(o.reply.enhanced == "4.3.0");
    }
  }
  SECTION("every RCPT refused and yet 354: a lone dot, no body") {
    Feed(c, "250 ok\r\n550 no\r\n551 no\r\n354 go\r\n");
    CHECK(io.Take() == ".\r\n");
    Feed(c, "554 no valid recipients\r\n");
    CHECK(io.Take() == "QUIT\r\n");
    CHECK(c.outcomes()[0].reply.code == 550);
    CHECK(c.outcomes()[1].reply.code == 551);
  }
  SECTION("a 421 in the middle ends the session at once, without QUIT") {
    Feed(c, "250 ok\r\n421 4.3.2 shutting down\r\n");
    CHECK(c.finished());
    CHECK(io.closed);
    CHECK(io.Take().empty());
    for (const auto& o : c.outcomes()) CHECK(o.reply.code == 421);
  }
}

TEST_CASE("client: PIPELINING can be turned off", "[relay][client][pipelining]") {
  Recorder io;
  const std::string msg = "x\n";
  ClientSettings s = Settings();
  s.pipelining = false;
  SmtpClient c(&io, s, "a@x.test", {"b@y.test", "c@y.test"}, &msg);
  c.Start();
  Feed(c, "220 hi\r\n250-x\r\n250 PIPELINING\r\n");
  CHECK(io.Take() == "EHLO relay.test\r\nMAIL FROM:<a@x.test>\r\n");
  CHECK_FALSE(c.pipelining());
}

TEST_CASE("client: a reply nobody asked for is a protocol error", "[relay][client]") {
  Recorder io;
  const std::string msg = "x\n";
  SmtpClient c(&io, Settings(), "a@x.test", {"b@y.test"}, &msg);
  c.Start();
  Feed(c, "220 hi\r\n250 x\r\n250 ok\r\n250 ok\r\n354 go\r\n250 done\r\n");
  CHECK(io.Take().find("QUIT\r\n") != std::string::npos);
  Feed(c, "221 bye\r\n250 extra\r\n");
  CHECK(c.finished());
  CHECK(c.outcomes()[0].reply.code == 250);  // decided before; unchanged
}

TEST_CASE("client: the session carries the next transaction after RSET", "[relay][client][reuse]") {
  Recorder io;
  io.keep = true;
  const std::string m1 = "one\n", m2 = "two\n";
  SECTION("with PIPELINING: RSET leads the next group") {
    SmtpClient c(&io, Settings(), "a@x.test", {"b@y.test"}, &m1);
    c.Start();
    Feed(c, "220 hi\r\n250-x\r\n250 PIPELINING\r\n250 ok\r\n250 ok\r\n354 go\r\n");
    io.Take();
    Feed(c, "250 2.0.0 first\r\n");
    CHECK(io.transactions_done == 1);
    CHECK(c.state() == ClientState::kIdle);
    CHECK(io.timeouts.back() == 0);  // idle: the Io keeps the time
    CHECK(io.Take().empty());        // no QUIT: the Io kept the session
    CHECK(c.outcomes()[0].reply.text == "250 2.0.0 first");
    io.writes.clear();
    c.Continue("a@x.test", {"c@y.test", "d@y.test"}, &m2);
    REQUIRE(io.writes.size() == 1);
    CHECK(io.writes[0] == "RSET\r\nMAIL FROM:<a@x.test>\r\nRCPT TO:<c@y.test>\r\nRCPT TO:<d@y.test>\r\nDATA\r\n");
    REQUIRE(c.outcomes().size() == 2);
    CHECK_FALSE(c.outcomes()[0].decided);
    io.Take();
    Feed(c, "250 2.0.0 reset\r\n250 ok\r\n250 ok\r\n452 4.2.2 full\r\n354 go\r\n");
    CHECK(io.Take() == "two\r\n.\r\n");
    io.keep = false;
    Feed(c, "250 2.0.0 second\r\n");
    CHECK(io.transactions_done == 2);
    CHECK(io.Take() == "QUIT\r\n");
    CHECK(c.outcomes()[0].reply.text == "250 2.0.0 second");
    CHECK(c.outcomes()[1].reply.code == 452);
  }
  SECTION("without PIPELINING: RSET alone, MAIL after its 250") {
    SmtpClient c(&io, Settings(), "a@x.test", {"b@y.test"}, &m1);
    c.Start();
    Feed(c, "220 hi\r\n250 x\r\n250 ok\r\n250 ok\r\n354 go\r\n250 first\r\n");
    io.Take();
    c.Continue("a@x.test", {"c@y.test"}, &m2);
    CHECK(io.Take() == "RSET\r\n");
    Feed(c, "250 reset\r\n");
    CHECK(io.Take() == "MAIL FROM:<a@x.test>\r\n");
  }
  SECTION("a refused RSET leaves the next transaction unstarted (4.4.1) and ends the session") {
    SmtpClient c(&io, Settings(), "a@x.test", {"b@y.test"}, &m1);
    c.Start();
    Feed(c, "220 hi\r\n250 x\r\n250 ok\r\n250 ok\r\n354 go\r\n250 first\r\n");
    io.Take();
    c.Continue("a@x.test", {"c@y.test"}, &m2);
    io.Take();
    Feed(c, "500 5.5.1 what\r\n");
    CHECK(io.Take() == "QUIT\r\n");
    CHECK(io.transactions_done == 1);  // not offered again
    CHECK(c.outcomes()[0].reply.code == 0);
    CHECK(c.outcomes()[0].reply.enhanced == "4.4.1");
  }
  SECTION("Quit() from idle") {
    SmtpClient c(&io, Settings(), "a@x.test", {"b@y.test"}, &m1);
    c.Start();
    Feed(c, "220 hi\r\n250 x\r\n250 ok\r\n250 ok\r\n354 go\r\n250 first\r\n");
    io.Take();
    c.Quit();
    CHECK(io.Take() == "QUIT\r\n");
    Feed(c, "221 bye\r\n");
    CHECK(c.finished());
  }
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
