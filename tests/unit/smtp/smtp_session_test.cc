// Drives SmtpSession through its Io seam: bytes in, replies out, with the
// real command table, framer, decoder and (for DATA) the real
// MaildirDelivery on a real loop in a temporary directory.
#include "smtp/smtp_session.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "uv/loop.h"

namespace mailnest {
namespace {

struct FakeIo : SmtpSession::Io {
  std::string out;
  bool close_after_write = false, closed = false, reading = true, finished = false;
  bool input_pending = false;
  uint64_t timeout_ms = 0;
  size_t backlog = 0;

  void Write(std::string_view b) override { out.append(b); }
  void CloseAfterWrite() override { close_after_write = true; }
  void Close() override { closed = true; }
  void SetTimeout(uint64_t ms) override { timeout_ms = ms; }
  void PauseReading() override { reading = false; }
  void ResumeReading() override { reading = true; }
  size_t WriteBacklog() const override { return backlog; }
  bool InputPending() const override { return input_pending; }
  void Finished() override { finished = true; }

  std::string Take() { return std::exchange(out, std::string()); }
};

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/mailnest-smtp-test-XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    if (n != "." && n != "..") out.push_back(n);
  }
  closedir(d);
  return out;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A session with its config, logger, loop and mail root.
struct Harness {
  explicit Harness(void (*tweak)(Config*) = nullptr) {
    config.hostname = "mx.test";
    config.mail_root = dir.path() + "/mail";
    config.local_domains = {"localhost", "example.test"};
    config.users["alice"] = UserConfig{};
    config.users["bob"] = UserConfig{};
    config.aliases["postmaster"] = {"alice"};
    config.aliases["team"] = {"alice", "bob"};
    config.smtp.max_recipients = 3;
    config.smtp.max_errors = 5;
    if (tweak) tweak(&config);
    ::mkdir(config.mail_root.c_str(), 0700);
    ctx.loop = loop.get();
    ctx.config = &config;
    ctx.log = &log;
    ctx.store.mail_root = config.mail_root;
    ctx.store.hostname = "mx.test";
    ctx.store.fsync = false;
    session = std::make_unique<SmtpSession>(ctx, &io, "t1");
  }
  ~Harness() {
    session.reset();
    // Let aborted deliveries clean up before the loop closes.
    for (int i = 0; i < 100 && uv_run(loop.get(), UV_RUN_NOWAIT) != 0; ++i) usleep(1000);
  }

  std::string Send(const std::string& bytes) {
    session->OnRead(bytes.data(), bytes.size());
    return io.Take();
  }
  // Runs the loop until pred() or ~5 s.
  template <typename P>
  bool RunUntil(P pred) {
    for (int i = 0; i < 5000 && !pred(); ++i) {
      uv_run(loop.get(), UV_RUN_NOWAIT);
      if (!pred()) usleep(1000);
    }
    return pred();
  }
  std::string Greeted(bool ehlo = true) {
    session->Start("127.0.0.1:4000");
    io.Take();
    return Send(ehlo ? "EHLO client.test\r\n" : "HELO client.test\r\n");
  }
  // Lets thread-pool jobs (aborts, stray writes) land: ~100 ms of loop turns.
  void Settle() {
    for (int i = 0; i < 100; ++i) {
      uv_run(loop.get(), UV_RUN_NOWAIT);
      usleep(1000);
    }
  }
  std::vector<std::string> NewFiles(const std::string& user) { return ListDir(config.mail_root + "/" + user + "/new"); }

  TempDir dir;
  Config config;
  Loop loop;
  Logger log{"smtp", "/dev/null", LogLevel::kDebug};
  SmtpContext ctx;
  FakeIo io;
  std::unique_ptr<SmtpSession> session;
};

using S = SmtpState;

TEST_CASE("greeting, EHLO keywords, QUIT", "[smtp][session]") {
  Harness h;
  h.session->Start("127.0.0.1:4000");
  CHECK(h.io.Take() == "220 mx.test ESMTP mailnest\r\n");
  CHECK(h.session->state() == S::kConnected);
  CHECK(h.io.timeout_ms == h.config.smtp.command_timeout_s * 1000ull);
  std::string ehlo = h.Send("EHLO client.test\r\n");
  CHECK(ehlo ==
        "250-mx.test\r\n250-SIZE 10485760\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n");
  CHECK(h.session->state() == S::kGreeted);
  CHECK(h.Send("QUIT\r\n") == "221 2.0.0 Bye\r\n");
  CHECK(h.io.close_after_write);
  CHECK(h.session->state() == S::kClosing);
  CHECK(h.Send("NOOP\r\n").empty());  // nothing is read after QUIT
}

TEST_CASE("state transitions through a transaction and RSET", "[smtp][session]") {
  Harness h;
  h.Greeted();
  CHECK(h.Send("MAIL FROM:<a@remote.test>\r\n") == "250 2.1.0 Ok\r\n");
  CHECK(h.session->state() == S::kMail);
  CHECK(h.Send("RCPT TO:<nobody@localhost>\r\n").rfind("550 5.1.1 ", 0) == 0);
  CHECK(h.session->state() == S::kMail);  // a refused recipient changes nothing
  CHECK(h.Send("RCPT TO:<alice@localhost>\r\n") == "250 2.1.5 Ok\r\n");
  CHECK(h.session->state() == S::kRcpt);
  CHECK(h.Send("RCPT TO:<BOB@Example.TEST>\r\n") == "250 2.1.5 Ok\r\n");
  CHECK(h.session->recipient_count() == 2);
  CHECK(h.Send("RSET\r\n") == "250 2.0.0 Ok\r\n");
  CHECK(h.session->state() == S::kGreeted);
  CHECK(h.session->recipient_count() == 0);
  SECTION("EHLO in a transaction resets it") {
    h.Send("MAIL FROM:<>\r\n");
    CHECK(h.session->state() == S::kMail);
    h.Send("EHLO again.test\r\n");
    CHECK(h.session->state() == S::kGreeted);
  }
  SECTION("RSET before HELO keeps CONNECTED") {
    Harness h2;
    h2.session->Start("127.0.0.1:1");
    h2.io.Take();
    CHECK(h2.Send("RSET\r\n") == "250 2.0.0 Ok\r\n");
    CHECK(h2.session->state() == S::kConnected);
  }
}

TEST_CASE("wrong order gets 503 5.5.1 and no state change", "[smtp][session]") {
  Harness h([](Config* c) { c->smtp.max_errors = 100; });
  h.session->Start("127.0.0.1:4000");
  h.io.Take();
  CHECK(h.Send("MAIL FROM:<a@b.test>\r\n").rfind("503 5.5.1 ", 0) == 0);
  CHECK(h.session->state() == S::kConnected);
  h.Send("EHLO c\r\n");
  CHECK(h.Send("RCPT TO:<alice@localhost>\r\n").rfind("503 5.5.1 ", 0) == 0);
  CHECK(h.Send("DATA\r\n").rfind("503 5.5.1 ", 0) == 0);
  CHECK(h.session->state() == S::kGreeted);
  h.Send("MAIL FROM:<a@b.test>\r\n");
  CHECK(h.Send("MAIL FROM:<a@b.test>\r\n") == "503 5.5.1 Error: nested MAIL command\r\n");
  CHECK(h.Send("DATA\r\n") == "503 5.5.1 Error: need RCPT command\r\n");
  CHECK(h.session->state() == S::kMail);
}

TEST_CASE("syntax, unknown verbs and parameters", "[smtp][session]") {
  Harness h([](Config* c) { c->smtp.max_errors = 100; });
  h.Greeted();
  CHECK(h.Send("FOO bar\r\n") == "500 5.5.2 Error: command not recognized\r\n");
  CHECK(h.Send("\r\n") == "500 5.5.2 Error: bad syntax\r\n");
  CHECK(h.Send("MAIL TO:<a@b.test>\r\n") == "501 5.5.4 Syntax: MAIL FROM:<address>\r\n");
  CHECK(h.Send("MAIL FROM:<a b@c.test>\r\n").rfind("501 5.5.4 ", 0) == 0);
  CHECK(h.Send("MAIL FROM:<a@b.test> FOO=1\r\n").rfind("555 5.5.4 ", 0) == 0);
  CHECK(h.Send("MAIL FROM:<a@b.test> SIZE=99999999\r\n").rfind("552 5.3.4 ", 0) == 0);
  CHECK(h.Send("EHLO\r\n") == "501 5.5.4 Syntax: EHLO hostname\r\n");
  CHECK(h.Send("DATA now\r\n").rfind("503 ", 0) == 0);  // state is checked before arity
  CHECK(h.Send("NOOP whatever text\r\n") == "250 2.0.0 Ok\r\n");
  CHECK(h.Send("VRFY alice\r\n").rfind("252 ", 0) == 0);
  CHECK(h.Send("HELP\r\n").rfind("214 2.0.0 ", 0) == 0);
  CHECK(h.Send("EXPN team\r\n").rfind("502 5.5.1 ", 0) == 0);
  CHECK(h.session->state() == S::kGreeted);
  CHECK(h.Send("mail from:<> size=100 body=8bitmime\r\n") == "250 2.1.0 Ok\r\n");
  CHECK(h.Send("RCPT TO:<alice@localhost> NOTIFY=NEVER\r\n").rfind("555 5.5.4 ", 0) == 0);
}

TEST_CASE("HELO sessions take no ESMTP parameters", "[smtp][session]") {
  Harness h;
  CHECK(h.Greeted(/*ehlo=*/false) == "250 mx.test\r\n");
  CHECK(h.Send("MAIL FROM:<a@b.test> SIZE=10\r\n").rfind("555 5.5.4 ", 0) == 0);
  CHECK(h.Send("MAIL FROM:<a@b.test>\r\n") == "250 2.1.0 Ok\r\n");
}

TEST_CASE("recipients: relaying, unknown users, traversal names, aliases, limit", "[smtp][session]") {
  Harness h([](Config* c) { c->smtp.max_errors = 100; });
  h.Greeted();
  h.Send("MAIL FROM:<a@b.test>\r\n");
  CHECK(h.Send("RCPT TO:<alice@elsewhere.test>\r\n") == "550 5.7.1 Error: relaying denied\r\n");
  CHECK(h.Send("RCPT TO:<alice@[127.0.0.1]>\r\n").rfind("550 5.7.1 ", 0) == 0);
  for (const char* bad : {"../x", "a/b", "%2e%2e", "\"../../etc\"", ".alice"}) {
    INFO(bad);
    CHECK(h.Send(std::string("RCPT TO:<") + bad + "@localhost>\r\n").rfind("550 5.1.1 ", 0) == 0);
  }
  CHECK(h.session->error_count() == 7);
  CHECK(h.session->state() == S::kMail);
  Harness h2;
  h2.Greeted();
  h2.Send("MAIL FROM:<a@b.test>\r\n");
  CHECK(h2.Send("RCPT TO:<\"alice\"@localhost>\r\n") == "250 2.1.5 Ok\r\n");  // quoting is transparent
  CHECK(h2.Send("RCPT TO:<Postmaster>\r\n") == "250 2.1.5 Ok\r\n");
  CHECK(h2.Send("RCPT TO:<team@localhost>\r\n") == "250 2.1.5 Ok\r\n");
  CHECK(h2.Send("RCPT TO:<bob@localhost>\r\n") == "452 4.5.3 Error: too many recipients\r\n");
  CHECK(h2.Send("RCPT TO:<bob@localhost>\r\n").rfind("452 4.5.3 ", 0) == 0);
  CHECK(h2.session->recipient_count() == 3);  // the earlier ones are kept
  CHECK(h2.session->error_count() == 0);      // 452 is not a client error
}

TEST_CASE("pipelined commands are answered in order", "[smtp][session]") {
  Harness h;
  h.session->Start("127.0.0.1:4000");
  h.io.Take();
  std::string out = h.Send("EHLO c\r\nMAIL FROM:<a@b.test>\r\nRCPT TO:<nobody@localhost>\r\n"
                           "RCPT TO:<bob@localhost>\r\nNOOP\r\nRSET\r\n");
  std::string expected =
      "250-mx.test\r\n250-SIZE 10485760\r\n250-PIPELINING\r\n250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n"
      "250 2.1.0 Ok\r\n";
  REQUIRE(out.rfind(expected, 0) == 0);
  std::string rest = out.substr(expected.size());
  CHECK(rest.rfind("550 5.1.1 ", 0) == 0);
  CHECK(rest.find("\r\n250 2.1.5 Ok\r\n250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n") != std::string::npos);
}

TEST_CASE("command line limits and bare newlines", "[smtp][session]") {
  Harness h;
  h.Greeted();
  SECTION("too long: 500 5.5.2, rest of the line dropped, session goes on") {
    std::string line = "NOOP " + std::string(600, 'x') + "\r\nNOOP\r\n";
    CHECK(h.Send(line) == "500 5.5.2 Error: line too long\r\n250 2.0.0 Ok\r\n");
    CHECK(h.session->state() == S::kGreeted);
    CHECK_FALSE(h.io.close_after_write);
  }
  SECTION("exactly max_line_length is fine") {
    std::string line = "NOOP " + std::string(512 - 7, 'x') + "\r\n";
    REQUIRE(line.size() == 512);
    CHECK(h.Send(line) == "250 2.0.0 Ok\r\n");
  }
  SECTION("bare LF, normalize (the default): the line is taken as if it ended in CR LF") {
    CHECK(h.Send("NOOP\nNOOP\r\n") == "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n");
    CHECK_FALSE(h.io.close_after_write);
  }
  SECTION("bare CR: 550 5.5.2 and close, in either mode") {
    CHECK(h.Send("NOOP\rX\r\n").rfind("550 5.5.2 ", 0) == 0);
    CHECK(h.io.close_after_write);
  }
}

TEST_CASE("command lines with smtp.bare_newline = reject", "[smtp][session]") {
  Harness h([](Config* c) { c->smtp.bare_newline = BareNewlinePolicy::kReject; });
  h.Greeted();
  SECTION("bare LF: 550 5.5.2 and close") {
    CHECK(h.Send("NOOP\nNOOP\r\n") == "550 5.5.2 Error: bare LF/CR not allowed\r\n");
    CHECK(h.io.close_after_write);
    CHECK(h.session->state() == S::kClosing);
  }
  SECTION("bare CR: same") {
    CHECK(h.Send("NOOP\rX\r\n").rfind("550 5.5.2 ", 0) == 0);
    CHECK(h.io.close_after_write);
  }
}

TEST_CASE("error limit closes with 421 4.7.0 right after the last error", "[smtp][session]") {
  Harness h([](Config* c) { c->smtp.max_errors = 3; });
  h.Greeted();
  CHECK(h.Send("X1\r\n").rfind("500 ", 0) == 0);
  CHECK(h.Send("X2\r\n").rfind("500 ", 0) == 0);
  std::string out = h.Send("X3\r\nNOOP\r\n");
  CHECK(out == "500 5.5.2 Error: command not recognized\r\n421 4.7.0 mx.test Error: too many errors\r\n");
  CHECK(h.io.close_after_write);
  CHECK(h.session->state() == S::kClosing);
}

TEST_CASE("early talker and greeting delay", "[smtp][session]") {
  SECTION("input already queued at accept (delay 0) is answered after the greeting") {
    Harness h;
    h.io.input_pending = true;
    h.session->Start("127.0.0.1:4000");
    CHECK(h.io.Take() == "220 mx.test ESMTP mailnest\r\n");
    CHECK_FALSE(h.io.close_after_write);
    CHECK(h.Send("HELO me\r\nQUIT\r\n") == "250 mx.test\r\n221 2.0.0 Bye\r\n");
  }
  SECTION("input during the delay") {
    Harness h([](Config* c) { c->smtp.greeting_delay_ms = 500; });
    h.session->Start("127.0.0.1:4000");
    CHECK(h.io.out.empty());
    CHECK(h.io.timeout_ms == 500);
    CHECK(h.Send("EHLO x\r\n").rfind("554 5.5.0 ", 0) == 0);
    CHECK(h.session->state() == S::kClosing);
  }
  SECTION("a patient client is greeted when the delay ends") {
    Harness h([](Config* c) { c->smtp.greeting_delay_ms = 500; });
    h.session->Start("127.0.0.1:4000");
    h.session->OnTimeout();
    CHECK(h.io.Take() == "220 mx.test ESMTP mailnest\r\n");
    CHECK(h.session->state() == S::kConnected);
  }
}

TEST_CASE("timeouts and shutdown", "[smtp][session]") {
  Harness h;
  h.Greeted();
  SECTION("idle") {
    h.session->OnTimeout();
    CHECK(h.io.Take() == "421 4.4.2 mx.test Error: timeout exceeded\r\n");
    CHECK(h.io.close_after_write);
    SECTION("a peer that never reads the 421 is cut off at the next timeout") {
      h.session->OnTimeout();
      CHECK(h.io.closed);
    }
  }
  SECTION("in DATA the data timeout runs") {
    h.Send("MAIL FROM:<>\r\nRCPT TO:<alice@localhost>\r\nDATA\r\n");
    CHECK(h.io.timeout_ms == h.config.smtp.data_timeout_s * 1000ull);
    h.Send("partial body\r\n");
    h.session->OnTimeout();
    CHECK(h.io.Take().rfind("421 4.4.2 ", 0) == 0);
    CHECK(h.NewFiles("alice").empty());
  }
  SECTION("shutdown while idle") {
    h.session->Shutdown();
    CHECK(h.io.Take() == "421 4.3.2 mx.test Service shutting down, closing transmission channel\r\n");
    CHECK(h.io.close_after_write);
  }
}

TEST_CASE("DATA streams into the store; 250 only after the commit", "[smtp][session][data]") {
  Harness h;
  h.Greeted();
  CHECK(h.Send("MAIL FROM:<sender@remote.test>\r\nRCPT TO:<alice@localhost>\r\nDATA\r\n") ==
        "250 2.1.0 Ok\r\n250 2.1.5 Ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n");
  CHECK(h.session->state() == S::kData);
  h.Send("Subject: t\r\n\r\n..leading dot\r\n");
  // Terminator and a pipelined NOOP in one segment.
  CHECK(h.Send("last line\r\n.\r\nNOOP\r\n").empty());  // nothing before the commit
  CHECK(h.session->state() == S::kDelivering);
  CHECK_FALSE(h.io.reading);  // pipelined input waits
  REQUIRE(h.RunUntil([&] { return h.session->state() != S::kDelivering; }));
  std::string out = h.io.Take();
  REQUIRE(out.rfind("250 2.0.0 Ok: queued as ", 0) == 0);
  CHECK(out.substr(out.find("\r\n") + 2) == "250 2.0.0 Ok\r\n");  // the NOOP, after
  CHECK(h.io.reading);
  CHECK(h.session->state() == S::kGreeted);

  auto files = h.NewFiles("alice");
  REQUIRE(files.size() == 1);
  std::string queue_id = out.substr(24, out.find("\r\n") - 24);
  CHECK(files[0].rfind(queue_id, 0) == 0);
  std::string msg = ReadFile(h.config.mail_root + "/alice/new/" + files[0]);
  // Stored in the Maildir convention: LF line ends, trace fields included.
  CHECK(msg.rfind("Return-Path: <sender@remote.test>\nReceived: from client.test ([127.0.0.1])\n"
                  "\tby mx.test (mailnest) with ESMTP id " + queue_id + "\n\tfor <alice@localhost>; ",
                  0) == 0);
  CHECK(msg.size() > 30);
  CHECK(msg.find('\r') == std::string::npos);
  CHECK(msg.substr(msg.find("\nSubject: t")) == "\nSubject: t\n\n.leading dot\nlast line\n");
  // The name carries the file size and the size POP3 sends (a CR per line).
  const size_t lines = static_cast<size_t>(std::count(msg.begin(), msg.end(), '\n'));
  CHECK(files[0].substr(files[0].find(",S=")) ==
        ",S=" + std::to_string(msg.size()) + ",W=" + std::to_string(msg.size() + lines));
}

TEST_CASE("DATA to several mailboxes omits 'for' and delivers once per mailbox", "[smtp][session][data]") {
  Harness h;
  h.Greeted(/*ehlo=*/false);
  h.Send("MAIL FROM:<>\r\nRCPT TO:<team@localhost>\r\nRCPT TO:<alice@localhost>\r\nDATA\r\n");
  h.Send("hi\r\n.\r\n");
  REQUIRE(h.RunUntil([&] { return h.session->state() == S::kGreeted; }));
  CHECK(h.io.Take().rfind("250 2.0.0 ", 0) == 0);
  REQUIRE(h.NewFiles("alice").size() == 1);
  REQUIRE(h.NewFiles("bob").size() == 1);
  std::string msg = ReadFile(h.config.mail_root + "/bob/new/" + h.NewFiles("bob")[0]);
  CHECK(msg.rfind("Return-Path: <>\nReceived: from client.test ([127.0.0.1])\n\tby mx.test (mailnest) with SMTP id ",
                  0) == 0);
  CHECK(msg.find("\tfor ") == std::string::npos);
  CHECK(msg.find(";\n\t") != std::string::npos);
}

TEST_CASE("refused bodies store nothing and the session goes on", "[smtp][session][data]") {
  Harness h([](Config* c) {
    c->smtp.max_message_size = 2048;
    c->smtp.bare_newline = BareNewlinePolicy::kReject;
  });
  h.Greeted();
  auto start = [&] {
    REQUIRE(h.Send("MAIL FROM:<a@b.test>\r\nRCPT TO:<alice@localhost>\r\nDATA\r\n").find("354") !=
            std::string::npos);
  };
  SECTION("bare LF (reject mode)") {
    start();
    CHECK(h.Send("a\nb\r\n.\r\n") == "550 5.5.2 Error: bare LF/CR not allowed\r\n");
  }
  SECTION("bare CR") {
    start();
    CHECK(h.Send("a\rb\r\n.\r\n") == "550 5.5.2 Error: bare LF/CR not allowed\r\n");
  }
  SECTION("too large") {
    start();
    std::string big;
    while (big.size() < 5000) big += "0123456789012345678901234567890123456789\r\n";
    h.Send(big);
    CHECK(h.Send(".\r\n").rfind("552 5.3.4 ", 0) == 0);
  }
  SECTION("text line too long") {
    start();
    CHECK(h.Send(std::string(1200, 'x') + "\r\n.\r\n").rfind("552 5.6.0 ", 0) == 0);
  }
  CHECK(h.session->state() == S::kGreeted);
  CHECK(h.Send("NOOP\r\n") == "250 2.0.0 Ok\r\n");
  h.Settle();  // give any stray job a chance to land
  CHECK(h.NewFiles("alice").empty());
}

TEST_CASE("a peer that disconnects during the commit: no crash, message intact", "[smtp][session][data]") {
  Harness h;
  h.Greeted();
  h.Send("MAIL FROM:<a@b.test>\r\nRCPT TO:<alice@localhost>\r\nDATA\r\nbody\r\n.\r\n");
  REQUIRE(h.session->delivery_pending());
  h.session->OnClosed();
  CHECK(h.session->delivery_pending());  // owner must keep the session
  CHECK_FALSE(h.io.finished);
  REQUIRE(h.RunUntil([&] { return h.io.finished; }));
  CHECK_FALSE(h.session->delivery_pending());
  auto files = h.NewFiles("alice");
  REQUIRE(files.size() == 1);
  std::string msg = ReadFile(h.config.mail_root + "/alice/new/" + files[0]);
  CHECK(msg.substr(msg.size() - 6) == "\nbody\n");
}

TEST_CASE("a peer that disconnects inside DATA: delivery aborted", "[smtp][session][data]") {
  Harness h;
  h.Greeted();
  h.Send("MAIL FROM:<a@b.test>\r\nRCPT TO:<alice@localhost>\r\nDATA\r\npartial\r\n");
  h.session->OnClosed();
  CHECK_FALSE(h.session->delivery_pending());
  CHECK(h.session->state() == S::kClosing);
  h.Settle();
  CHECK(h.NewFiles("alice").empty());
}

TEST_CASE("pipelined output beyond the backlog limit pauses command processing", "[smtp][session]") {
  Harness h;
  h.Greeted();
  h.io.backlog = SmtpSession::kMaxOutputBacklog + 1;  // the peer is not reading
  CHECK(h.Send("NOOP\r\nNOOP\r\n").empty());
  CHECK_FALSE(h.io.reading);
  h.io.backlog = 0;
  h.session->OnWritable();
  CHECK(h.io.Take() == "250 2.0.0 Ok\r\n250 2.0.0 Ok\r\n");
  CHECK(h.io.reading);
}

}  // namespace
}  // namespace mailnest
