// The SSE wire format and the Last-Event-ID ring of GET /api/v1/events.
#include <catch2/catch.hpp>

#include "http/event_ring.h"

using mailnest::EventRing;

TEST_CASE("an event is id, event and one data line, then a blank line", "[http][events]") {
  CHECK(mailnest::FormatSseEvent(42, "message.new", "{\"id\":\"ab\"}") ==
        "id: 42\nevent: message.new\ndata: {\"id\":\"ab\"}\n\n");
}

TEST_CASE("the ring keeps the newest events and numbers them from first_id", "[http][events]") {
  EventRing ring(3, 100);
  for (int i = 0; i < 5; ++i) ring.Append("stats", "{}");
  CHECK(ring.last_id() == 104);
  CHECK(ring.size() == 3);
  bool gap = true;

  SECTION("resuming inside the ring replays what follows, no gap") {
    auto ev = ring.Since(102, &gap);
    CHECK_FALSE(gap);
    REQUIRE(ev.size() == 2);
    CHECK(ev[0]->id == 103);
    CHECK(ev[1]->wire == "id: 104\nevent: stats\ndata: {}\n\n");
  }
  SECTION("resuming at the newest replays nothing") {
    CHECK(ring.Since(104, &gap).empty());
    CHECK_FALSE(gap);
  }
  SECTION("resuming just before the oldest kept is no gap") {
    CHECK(ring.Since(101, &gap).size() == 3);
    CHECK_FALSE(gap);
  }
  SECTION("events already dropped make a gap, and all that is kept follows") {
    CHECK(ring.Since(100, &gap).size() == 3);
    CHECK(gap);
  }
  SECTION("an id this ring never gave (an earlier process, garbage) is a gap") {
    CHECK(ring.Since(5, &gap).size() == 3);
    CHECK(gap);
    CHECK(ring.Since(999, &gap).size() == 3);
    CHECK(gap);
  }
  SECTION("bytes count what is kept") {
    CHECK(ring.bytes() == 3 * std::string("id: 104\nevent: stats\ndata: {}\n\n").size());
  }
}

TEST_CASE("types= names known event types only", "[http][events]") {
  std::set<std::string, std::less<>> types;
  std::string err;
  REQUIRE(mailnest::ParseEventTypes("message.new,session.line", &types, &err));
  CHECK(types == std::set<std::string, std::less<>>{"message.new", "session.line"});
  CHECK_FALSE(mailnest::ParseEventTypes("message.new,bogus", &types, &err));
  CHECK_THAT(err, Catch::Contains("'bogus'"));
  CHECK_FALSE(mailnest::ParseEventTypes("", &types, &err));
  CHECK_FALSE(mailnest::ParseEventTypes("stats,", &types, &err));
}
