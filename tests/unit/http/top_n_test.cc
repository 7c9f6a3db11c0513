// The bounded top-N counter behind GET /api/v1/stats' top senders.
#include <catch2/catch.hpp>

#include <string>

#include "http/top_n.h"

using mailnest::TopN;

TEST_CASE("below capacity the counts are exact", "[http][stats]") {
  TopN t(10);
  for (int i = 0; i < 5; ++i) t.Add("a");
  for (int i = 0; i < 3; ++i) t.Add("b");
  t.Add("c", 4);
  auto top = t.Top(2);
  REQUIRE(top.size() == 2);
  CHECK(top[0].key == "a");
  CHECK(top[0].count == 5);
  CHECK(top[0].error == 0);
  CHECK(top[1].key == "c");
  CHECK(top[1].count == 4);
  CHECK(t.total() == 12);
}

TEST_CASE("over capacity memory stays bounded and heavy hitters stay", "[http][stats]") {
  TopN t(8);
  for (int round = 0; round < 1000; ++round) {
    t.Add("heavy");
    if (round % 2 == 0) t.Add("medium");
    t.Add("noise-" + std::to_string(round));  // 1000 keys seen once
  }
  CHECK(t.tracked() == 8);
  auto top = t.Top(2);
  REQUIRE(top.size() == 2);
  CHECK(top[0].key == "heavy");
  CHECK(top[1].key == "medium");
  // Bounds hold: count - error <= true count <= count.
  CHECK(top[0].count - top[0].error <= 1000);
  CHECK(top[0].count >= 1000);
  CHECK(top[1].count - top[1].error <= 500);
  CHECK(top[1].count >= 500);
}

TEST_CASE("ties are ordered by key", "[http][stats]") {
  TopN t(4);
  t.Add("b");
  t.Add("a");
  auto top = t.Top(5);
  REQUIRE(top.size() == 2);
  CHECK(top[0].key == "a");
  CHECK(top[1].key == "b");
}
