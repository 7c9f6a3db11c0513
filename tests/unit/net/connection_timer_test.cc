// Connection's idle timer (lazy re-arming, see connection.h) on a real loop:
// it fires once at the latest deadline set, never early, and not at all
// after SetTimeout(0). The socket is never connected; the timer needs none.
#include "net/connection.h"

#include <catch2/catch.hpp>

#include <cstdint>

#include "uv/loop.h"
#include "uv/run_loop.h"

namespace mailnest {
namespace {

using testing::RunFor;

struct Recorder : Connection::Handler {
  uv_loop_t* loop = nullptr;
  int timeouts = 0;
  uint64_t fired_at = 0;  // uv_now() at the (last) timeout
  bool closed = false;
  void OnRead(const char*, size_t) override {}
  void OnTimeout() override {
    ++timeouts;
    fired_at = uv_now(loop);
  }
  void OnClosed() override { closed = true; }
};

struct Fixture {
  Loop loop;
  Recorder rec;
  Connection conn{loop.get(), &rec};
  Fixture() { rec.loop = loop.get(); }
  ~Fixture() {
    conn.Close();
    while (!rec.closed) uv_run(loop.get(), UV_RUN_ONCE);
  }
};

TEST_CASE("Connection: a later SetTimeout moves the deadline; it fires once, not early", "[net][timer]") {
  Fixture f;
  uv_update_time(f.loop.get());
  f.conn.SetTimeout(60);
  RunFor(f.loop.get(), 30);
  CHECK(f.rec.timeouts == 0);
  uv_update_time(f.loop.get());
  const uint64_t second = uv_now(f.loop.get());
  f.conn.SetTimeout(60);  // the timer armed for the first deadline must re-arm
  RunFor(f.loop.get(), 200);
  CHECK(f.rec.timeouts == 1);
  CHECK(f.rec.fired_at >= second + 60);
}

TEST_CASE("Connection: a shorter SetTimeout fires at the shorter deadline", "[net][timer]") {
  Fixture f;
  uv_update_time(f.loop.get());
  const uint64_t start = uv_now(f.loop.get());
  f.conn.SetTimeout(5000);
  f.conn.SetTimeout(20);
  RunFor(f.loop.get(), 300);
  CHECK(f.rec.timeouts == 1);
  CHECK(f.rec.fired_at >= start + 20);
  CHECK(f.rec.fired_at < start + 300);
}

TEST_CASE("Connection: SetTimeout(0) cancels; a new timeout after it still fires", "[net][timer]") {
  Fixture f;
  f.conn.SetTimeout(20);
  f.conn.SetTimeout(0);
  RunFor(f.loop.get(), 80);
  CHECK(f.rec.timeouts == 0);
  uv_update_time(f.loop.get());
  const uint64_t again = uv_now(f.loop.get());
  f.conn.SetTimeout(30);
  RunFor(f.loop.get(), 150);
  CHECK(f.rec.timeouts == 1);
  CHECK(f.rec.fired_at >= again + 30);
}

}  // namespace
}  // namespace mailnest
