// LoopWaker on a real loop: every item queued before a Wake() is seen by
// the loop however the producer threads interleave (the one-write-per-round
// flag must never lose a wake-up), and Close() frees it and reports back.
#include "uv/loop_waker.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "uv/loop.h"
#include "uv/run_loop.h"

namespace mailnest {
namespace {

using testing::RunUntil;

// A queue shared by producer threads and the loop, as DeliveryJournal uses it.
struct Inbox {
  std::mutex mu;
  std::vector<int> items;  // guarded by mu
  std::atomic<long> seen{0};  // written by the loop thread
  int wakes = 0;              // loop thread only
  // What a producer thread does: queue, then wake the loop.
  void Post(int item, LoopWaker* waker) {
    {
      std::lock_guard<std::mutex> l(mu);
      items.push_back(item);
    }
    waker->Wake();
  }
  void Drain() {
    std::vector<int> got;
    {
      std::lock_guard<std::mutex> l(mu);
      got.swap(items);
    }
    seen.fetch_add(static_cast<long>(got.size()));
    ++wakes;
  }
};

// A waker whose on_wake drains `inbox`; null if it could not be opened.
LoopWaker* OpenDraining(uv_loop_t* loop, Inbox* inbox) {
  LoopWaker* waker = nullptr;
  return LoopWaker::Open(loop, [inbox] { inbox->Drain(); }, &waker).ok() ? waker : nullptr;
}

// Closes the waker and runs the loop until its close callback has run
// (uv_run returns once no handle is left); true if `closed` was called.
bool CloseAndWait(uv_loop_t* loop, LoopWaker* waker) {
  bool closed = false;
  waker->Close([&] { closed = true; });
  uv_run(loop, UV_RUN_DEFAULT);
  return closed;
}

TEST_CASE("LoopWaker: a wake-up from the loop thread itself runs on_wake once", "[uv][waker]") {
  Loop loop;
  Inbox inbox;
  LoopWaker* waker = OpenDraining(loop.get(), &inbox);
  REQUIRE(waker);
  inbox.items.push_back(1);
  waker->Wake();
  waker->Wake();  // already armed: no second write, still one run
  REQUIRE(RunUntil(loop.get(), [&] { return inbox.seen.load() == 1; }, 5000));
  uv_run(loop.get(), UV_RUN_NOWAIT);
  CHECK(inbox.wakes == 1);
  CHECK(CloseAndWait(loop.get(), waker));
}

TEST_CASE("LoopWaker: no item queued by other threads is left behind", "[uv][waker]") {
  Loop loop;
  Inbox inbox;
  LoopWaker* waker = OpenDraining(loop.get(), &inbox);
  REQUIRE(waker);
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20000;
  std::vector<std::thread> producers;
  for (int t = 0; t < kThreads; ++t) {
    producers.emplace_back([&] {
      for (int i = 0; i < kPerThread; ++i) inbox.Post(i, waker);
    });
  }
  const long total = long{kThreads} * kPerThread;
  bool all = RunUntil(loop.get(), [&] { return inbox.seen.load() == total; }, 20000);
  for (std::thread& p : producers) p.join();
  if (!all) all = RunUntil(loop.get(), [&] { return inbox.seen.load() == total; }, 5000);
  CHECK(all);
  CHECK(inbox.seen.load() == total);
  // Batching is the point: far fewer loop runs than items.
  CHECK(inbox.wakes < total);
  CHECK(CloseAndWait(loop.get(), waker));
}

// The race a wrong order in the loop's callback would lose: the producer
// queues its next item the moment the loop has taken the previous one, i.e.
// while the loop is still inside on_wake. Each item then needs a wake-up of
// its own; a lost one stalls the producer (bounded: it gives up after 5 s).
TEST_CASE("LoopWaker: a wake-up sent while the loop is draining is not lost", "[uv][waker]") {
  Loop loop;
  Inbox inbox;
  LoopWaker* waker = OpenDraining(loop.get(), &inbox);
  REQUIRE(waker);
  constexpr long kItems = 20000;
  std::atomic<bool> stalled{false}, done{false};
  std::thread producer([&] {
    for (long i = 0; i < kItems && !stalled; ++i) {
      inbox.Post(static_cast<int>(i), waker);
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (inbox.seen.load() <= i) {
        if (std::chrono::steady_clock::now() > deadline) {
          stalled = true;
          break;
        }
        std::this_thread::yield();
      }
    }
    done = true;
    waker->Wake();  // let the loop notice `done`
  });
  RunUntil(loop.get(), [&] { return done.load(); }, 60000);
  producer.join();
  CHECK_FALSE(stalled);
  CHECK(inbox.seen.load() == kItems);
  CHECK(CloseAndWait(loop.get(), waker));
}

}  // namespace
}  // namespace mailnest
