// Connection::CloseAfterWrite on real loopback sockets: a lingering close.
// The last reply must reach a peer whose input is still unread or still
// arriving (no RST), and a peer that never closes is cut off after
// kCloseLingerMs.
#include "net/connection.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include <cerrno>
#include <string>

#include "uv/loop.h"
#include "uv/run_loop.h"

namespace mailnest {
namespace {

using testing::RunUntil;

// Answers the first bytes it reads with `reply` and CloseAfterWrite().
struct Replier : Connection::Handler {
  Connection* conn = nullptr;
  std::string reply = "554 go away\r\n";
  size_t read = 0;
  bool closed = false;
  void OnRead(const char*, size_t len) override {
    if (read == 0) {
      conn->Write(reply);
      conn->CloseAfterWrite();
    }
    read += len;
  }
  void OnTimeout() override {}
  void OnClosed() override { closed = true; }
};

// One accepted connection from a plain blocking client socket.
struct Pair {
  Loop loop;
  Replier rep;
  Connection conn{loop.get(), &rep};
  uv_tcp_t server;
  int client = -1;
  bool accepted = false;

  Pair() {
    rep.conn = &conn;
    uv_tcp_init(loop.get(), &server);
    server.data = this;
    sockaddr_in addr;
    uv_ip4_addr("127.0.0.1", 0, &addr);
    REQUIRE(uv_tcp_bind(&server, reinterpret_cast<sockaddr*>(&addr), 0) == 0);
    REQUIRE(uv_listen(reinterpret_cast<uv_stream_t*>(&server), 4, [](uv_stream_t* s, int) {
      auto* self = static_cast<Pair*>(s->data);
      self->accepted = self->conn.Accept(s) == 0;
    }) == 0);
    int len = sizeof addr;
    uv_tcp_getsockname(&server, reinterpret_cast<sockaddr*>(&addr), &len);
    client = socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(RunUntil(loop.get(), [this] { return accepted; }, 2000));
  }
  ~Pair() {
    if (client >= 0) close(client);
    conn.Close();
    uv_close(reinterpret_cast<uv_handle_t*>(&server), nullptr);
    RunUntil(loop.get(), [this] { return rep.closed; }, 5000);
  }

  // Reads what the server sent until EOF; errno on a reset, 0 on EOF.
  int ReadAll(std::string* out) {
    fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK);
    char buf[65536];
    for (int spins = 0; spins < 500; ++spins) {
      ssize_t n = recv(client, buf, sizeof buf, 0);
      if (n > 0) {
        out->append(buf, static_cast<size_t>(n));
        continue;
      }
      if (n == 0) return 0;
      if (errno != EAGAIN) return errno;
      RunUntil(loop.get(), [] { return false; }, 10);  // let the server work
    }
    return ETIMEDOUT;
  }
};

TEST_CASE("CloseAfterWrite: the reply survives input the server never read", "[net][close]") {
  Pair p;
  // Far more than one read of the server's: at close, most of it is unread.
  std::string junk(512 * 1024, 'x');
  fcntl(p.client, F_SETFL, fcntl(p.client, F_GETFL) | O_NONBLOCK);
  size_t sent = 0;
  for (int i = 0; i < 2000 && sent < junk.size(); ++i) {
    ssize_t n = send(p.client, junk.data() + sent, junk.size() - sent, MSG_NOSIGNAL);
    if (n > 0) sent += static_cast<size_t>(n);
    RunUntil(p.loop.get(), [] { return false; }, 1);
  }
  CHECK(sent == junk.size());  // the lingering server kept reading (and discarding)
  std::string got;
  CHECK(p.ReadAll(&got) == 0);  // FIN, not ECONNRESET
  CHECK(got == "554 go away\r\n");
  CHECK_FALSE(p.rep.closed);  // still lingering: the peer has not closed yet
  close(p.client);
  p.client = -1;
  CHECK(RunUntil(p.loop.get(), [&] { return p.rep.closed; }, 1000));  // our EOF ends the linger
}

TEST_CASE("CloseAfterWrite: a peer that never closes is cut off after kCloseLingerMs", "[net][close]") {
  Pair p;
  REQUIRE(send(p.client, "hi\r\n", 4, 0) == 4);
  uv_update_time(p.loop.get());
  const uint64_t start = uv_now(p.loop.get());
  REQUIRE(RunUntil(p.loop.get(), [&] { return p.rep.read > 0; }, 2000));
  CHECK_FALSE(RunUntil(p.loop.get(), [&] { return p.rep.closed; }, Connection::kCloseLingerMs - 300));
  CHECK(RunUntil(p.loop.get(), [&] { return p.rep.closed; }, 1500));
  CHECK(uv_now(p.loop.get()) - start >= Connection::kCloseLingerMs);
  std::string got;
  CHECK(p.ReadAll(&got) == 0);
  CHECK(got == "554 go away\r\n");
}

}  // namespace
}  // namespace mailnest
