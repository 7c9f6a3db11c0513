// RelayAttempt on a real loop against a scripted SMTP server on loopback:
// one message delivered, a refused connection, and connection reuse through
// a ConnectionLease (given, dropped, and outlived by the idle bound).
#include "relay/relay_attempt.h"

#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "uv/loop.h"
#include "uv/run_loop.h"

namespace mailnest {
namespace {

using testing::RunUntil;

// One connection, answered line by line like a permissive server: 250 to
// everything, 354 to DATA, 221 to QUIT. Records every command line (the
// body as "<body N octets>"). Bounded: gives up after 5 s without input.
class ScriptedServer {
 public:
  ScriptedServer() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    socklen_t len = sizeof a;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    REQUIRE(::listen(listen_fd_, 4) == 0);
    thread_ = std::thread([this] { Serve(); });
  }
  ~ScriptedServer() {
    thread_.join();
    ::close(listen_fd_);
  }
  int port() const { return port_; }
  std::vector<std::string> lines() {
    std::lock_guard<std::mutex> l(mu_);
    return lines_;
  }

 private:
  void Record(std::string s) {
    std::lock_guard<std::mutex> l(mu_);
    lines_.push_back(std::move(s));
  }
  bool Wait(int fd) {
    pollfd p{fd, POLLIN, 0};
    return ::poll(&p, 1, 5000) == 1;
  }
  void Serve() {
    if (!Wait(listen_fd_)) return;
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0) return;
    auto say = [fd](std::string_view s) { (void)!::write(fd, s.data(), s.size()); };
    say("220 hop.test ESMTP\r\n");
    std::string buf;
    bool in_data = false;
    char chunk[4096];
    while (Wait(fd)) {
      ssize_t n = ::read(fd, chunk, sizeof chunk);
      if (n <= 0) break;
      buf.append(chunk, static_cast<size_t>(n));
      for (;;) {
        if (in_data) {
          size_t end = buf.find("\r\n.\r\n");
          if (end == std::string::npos) break;
          Record("<body " + std::to_string(end + 2) + " octets>");
          buf.erase(0, end + 5);
          in_data = false;
          say("250 2.0.0 queued\r\n");
          continue;
        }
        size_t eol = buf.find("\r\n");
        if (eol == std::string::npos) break;
        std::string line = buf.substr(0, eol);
        buf.erase(0, eol + 2);
        Record(line);
        if (line.rfind("EHLO", 0) == 0) {
          say("250-hop.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n");
        } else if (line == "DATA") {
          in_data = true;
          say("354 go ahead\r\n");
        } else if (line == "QUIT") {
          say("221 2.0.0 bye\r\n");
          ::close(fd);
          return;
        } else {
          say("250 2.0.0 ok\r\n");
        }
      }
    }
    ::close(fd);
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::vector<std::string> lines_;
};

ClientSettings Settings() {
  ClientSettings s;
  s.helo_name = "relay.test";
  s.peer = "hop.test";
  s.greeting_ms = s.command_ms = s.data_init_ms = s.data_block_ms = s.data_term_ms = 3000;
  return s;
}

auto Message(std::string text) { return std::make_shared<const std::string>(std::move(text)); }

struct Result {
  int done = 0;
  std::vector<RcptOutcome> outcomes;
};

RelayAttempt::Done Record(Result* r) {
  return [r](RelayAttempt& a) {
    ++r->done;
    r->outcomes = a.client().outcomes();
  };
}

// Runs the loop until every handle has closed (the attempt deletes itself
// from its connection's close callback), at most 3 s: the Loop's
// destructor would close what is left without telling its owner.
void Drain(uv_loop_t* loop) {
  for (int i = 0; i < 300 && uv_loop_alive(loop); ++i) testing::RunFor(loop, 10);
  CHECK_FALSE(uv_loop_alive(loop));
}

bool Accepted(const Result& r) {
  return r.done == 1 && r.outcomes.size() == 1 && r.outcomes[0].decided && r.outcomes[0].reply.code == 250;
}

TEST_CASE("relay attempt: one message, EHLO to QUIT, done once with the 250", "[relay][attempt]") {
  Loop loop;
  ScriptedServer hop;
  Result r;
  RelayAttempt::Start(loop.get(), RelayTarget{"127.0.0.1", hop.port(), "hop.test"}, Settings(), 3000, "a@a.test",
                      {"b@b.test"}, Message("Subject: one\n\nbody\n"), Record(&r), RelayAttempt::Reuse{});
  REQUIRE(RunUntil(loop.get(), [&] { return r.done == 1; }, 5000));
  CHECK(Accepted(r));
  RunUntil(loop.get(), [&] { return hop.lines().size() >= 6; }, 2000);
  CHECK(hop.lines() == std::vector<std::string>{"EHLO relay.test", "MAIL FROM:<a@a.test>", "RCPT TO:<b@b.test>",
                                                "DATA", "<body 22 octets>", "QUIT"});
  Drain(loop.get());
}

TEST_CASE("relay attempt: a refused connection decides the recipient 4.4.1", "[relay][attempt]") {
  Loop loop;
  int port = 0;
  {
    ScriptedServer gone;  // a port that was just free: nobody listens once it is closed
    port = gone.port();
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);  // let its thread end at once
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::close(fd);
  }
  Result r;
  RelayAttempt::Start(loop.get(), RelayTarget{"127.0.0.1", port, ""}, Settings(), 3000, "a@a.test", {"b@b.test"},
                      Message("x\n"), Record(&r), RelayAttempt::Reuse{});
  REQUIRE(RunUntil(loop.get(), [&] { return r.done == 1; }, 5000));
  REQUIRE(r.outcomes.size() == 1);
  CHECK(r.outcomes[0].reply.code == 0);  // a local decision, not a server's reply
  CHECK(r.outcomes[0].reply.enhanced == "4.4.1");
  CHECK(r.outcomes[0].reply.text.find("refused") != std::string::npos);
  Drain(loop.get());
}

// The queue's side of reuse, reduced to what the attempt sees: next_for
// keeps the lease it is offered; the test then gives it a message, drops
// it, or lets the idle bound pass.
struct Reuser {
  std::shared_ptr<ConnectionLease> lease;
  int asked = 0;
  RelayAttempt::Reuse Make(uint64_t idle_ms) {
    RelayAttempt::Reuse u;
    u.max_messages = 10;
    u.idle_ms = idle_ms;
    u.key = "hop";
    u.next_for = [this](const std::string&, const RelayTarget&, std::shared_ptr<ConnectionLease> l) {
      ++asked;
      if (asked > 1) return false;  // one more message at most
      lease = std::move(l);
      return true;
    };
    return u;
  }
};

TEST_CASE("relay attempt: a lease carries the next message over the same connection", "[relay][attempt][reuse]") {
  Loop loop;
  ScriptedServer hop;
  Reuser reuser;
  Result first, second;
  RelayAttempt::Start(loop.get(), RelayTarget{"127.0.0.1", hop.port(), ""}, Settings(), 3000, "a@a.test",
                      {"b@b.test"}, Message("one\n"), Record(&first), reuser.Make(3000));
  REQUIRE(RunUntil(loop.get(), [&] { return reuser.lease != nullptr; }, 5000));
  CHECK(Accepted(first));
  RelayAttempt* same = reuser.lease->Give("c@a.test", {"d@b.test"}, Message("two\n"), Record(&second));
  REQUIRE(same != nullptr);
  CHECK(same->messages() == 2);
  REQUIRE(RunUntil(loop.get(), [&] { return second.done == 1; }, 5000));
  CHECK(Accepted(second));
  CHECK(reuser.lease->Give("e@a.test", {"f@b.test"}, Message("three\n"), Record(&second)) == nullptr);  // at most once
  RunUntil(loop.get(), [&] { return !hop.lines().empty() && hop.lines().back() == "QUIT"; }, 3000);
  CHECK(hop.lines() == std::vector<std::string>{"EHLO relay.test", "MAIL FROM:<a@a.test>", "RCPT TO:<b@b.test>",
                                                "DATA", "<body 5 octets>", "RSET", "MAIL FROM:<c@a.test>",
                                                "RCPT TO:<d@b.test>", "DATA", "<body 5 octets>", "QUIT"});
  Drain(loop.get());
}

TEST_CASE("relay attempt: a dropped lease or the idle bound ends the session with QUIT", "[relay][attempt][reuse]") {
  const bool drop = GENERATE(true, false);
  Loop loop;
  ScriptedServer hop;
  Reuser reuser;
  Result first;
  RelayAttempt::Start(loop.get(), RelayTarget{"127.0.0.1", hop.port(), ""}, Settings(), 3000, "a@a.test",
                      {"b@b.test"}, Message("one\n"), Record(&first), reuser.Make(drop ? 3000 : 50));
  REQUIRE(RunUntil(loop.get(), [&] { return reuser.lease != nullptr; }, 5000));
  if (drop) reuser.lease.reset();  // the queue found nothing after all
  REQUIRE(RunUntil(loop.get(), [&] { return !hop.lines().empty() && hop.lines().back() == "QUIT"; }, 3000));
  CHECK(first.done == 1);
  if (!drop) {
    // The session is gone: the message it was promised needs a new one.
    CHECK(reuser.lease->Give("c@a.test", {"d@b.test"}, Message("two\n"), Record(&first)) == nullptr);
  }
  CHECK(hop.lines().size() == 6);  // EHLO, MAIL, RCPT, DATA, body, QUIT: no RSET
  Drain(loop.get());
}

}  // namespace
}  // namespace mailnest
