#include "relay/due_index.h"

#include <catch2/catch.hpp>

#include <vector>

namespace mailnest {
namespace {

struct Item {
  int id = 0;
  int64_t due = DueIndex<Item>::kNotIndexed;
  uint64_t seq = 0;
};

std::vector<int> DrainAt(DueIndex<Item>* idx, int64_t now) {
  std::vector<int> out;
  while (Item* i = idx->PopDue(now)) out.push_back(i->id);
  return out;
}

TEST_CASE("due index: earliest next try first, ties in arrival order", "[relay][scheduler]") {
  DueIndex<Item> idx;
  Item a{1, DueIndex<Item>::kNotIndexed, 0}, b{2, DueIndex<Item>::kNotIndexed, 1}, c{3, DueIndex<Item>::kNotIndexed, 2},
      d{4, DueIndex<Item>::kNotIndexed, 3};
  idx.Put(&c, 100);
  idx.Put(&a, 200);
  idx.Put(&d, 100);
  idx.Put(&b, 50);
  REQUIRE(idx.size() == 4);
  REQUIRE(idx.NextDue() == 50);
  SECTION("only what is due comes out, the rest waits") {
    CHECK(DrainAt(&idx, 99) == std::vector<int>{2});
    CHECK(idx.NextDue() == 100);
    CHECK(DrainAt(&idx, 100) == std::vector<int>{3, 4});  // equal times: c arrived before d
    CHECK(DrainAt(&idx, 1000) == std::vector<int>{1});
    CHECK(!idx.NextDue());
  }
  SECTION("a popped item is out of the index until put again") {
    Item* first = idx.PopDue(50);
    REQUIRE(first == &b);
    CHECK(b.due == DueIndex<Item>::kNotIndexed);
    idx.Remove(&b);  // no-op
    CHECK(idx.size() == 3);
  }
  SECTION("re-putting moves an item (a deferral, a flush)") {
    idx.Put(&a, 0);   // flushed: due at once
    idx.Put(&b, 500);  // deferred again
    CHECK(idx.size() == 4);
    CHECK(DrainAt(&idx, 100) == std::vector<int>{1, 3, 4});
    CHECK(idx.NextDue() == 500);
  }
  SECTION("removed items never come out (a delete, an attempt under way)") {
    idx.Remove(&c);
    idx.Remove(&b);
    CHECK(DrainAt(&idx, 1000) == std::vector<int>{4, 1});
  }
}

TEST_CASE("due index: 100,000 items come out in order", "[relay][scheduler]") {
  DueIndex<Item> idx;
  std::vector<Item> items(100000);
  for (size_t i = 0; i < items.size(); ++i) {
    items[i].id = static_cast<int>(i);
    items[i].seq = i;
    idx.Put(&items[i], static_cast<int64_t>((i * 7919) % 1000));
  }
  int64_t last_due = -1;
  uint64_t last_seq = 0;
  size_t n = 0;
  while (Item* it = idx.PopDue(999)) {
    int64_t due = static_cast<int64_t>((static_cast<size_t>(it->id) * 7919) % 1000);
    REQUIRE(due >= last_due);
    if (due == last_due) REQUIRE(it->seq > last_seq);
    last_due = due;
    last_seq = it->seq;
    ++n;
  }
  CHECK(n == items.size());
}

}  // namespace
}  // namespace mailnest
