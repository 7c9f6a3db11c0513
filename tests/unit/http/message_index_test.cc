// The HTTP API's message index: built from Maildir names alone.
#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>
#include <string>
#include <vector>

#include "http/message_index.h"

using mailnest::ListCursor;
using mailnest::MessageIndex;

namespace {
// A name as mailnest writes it: "<sec>.M<usec>P<pid>Q<seq>.<host>,S=<disk>,W=<wire>".
std::string Name(int sec, int q, int disk, int wire) {
  return std::to_string(sec) + ".M1P2Q" + std::to_string(q) + ".host,S=" + std::to_string(disk) +
         ",W=" + std::to_string(wire);
}
}  // namespace

TEST_CASE("index entries come from the name: size from W= else S=, time, flags, unseen", "[http][index]") {
  MessageIndex idx;
  REQUIRE(idx.Upsert("alice", true, Name(1700000000, 1, 100, 104)));
  REQUIRE(idx.Upsert("alice", false, "1700000005.M1P2Q2.host,S=50:2,S"));
  REQUIRE(idx.Upsert("alice", false, "dovecot-style-name:2,RS"));
  CHECK_FALSE(idx.Upsert("alice", true, ".hidden"));
  CHECK_FALSE(idx.Upsert("alice", true, ""));
  auto page = idx.List("alice", 10, nullptr);
  REQUIRE(page.items.size() == 3);
  CHECK(page.items[0]->time == 1700000005);
  CHECK(page.items[0]->size == 50);  // S= only
  CHECK(page.items[0]->flags() == "S");
  CHECK_FALSE(page.items[0]->in_new);
  CHECK(page.items[1]->time == 1700000000);
  CHECK(page.items[1]->size == 104);  // W= wins
  CHECK(page.items[1]->in_new);
  CHECK(page.items[2]->time == 0);    // no leading seconds
  CHECK(page.items[2]->size == 0);    // no size in the name
  auto boxes = idx.Mailboxes();
  REQUIRE(boxes.size() == 1);
  CHECK(boxes[0].name == "alice");
  CHECK(boxes[0].messages == 3);
  CHECK(boxes[0].octets == 154);
  CHECK(boxes[0].unseen == 1);
}

TEST_CASE("ids are opaque hex, stable, per mailbox, and survive new/ → cur/", "[http][index][security]") {
  MessageIndex idx;
  std::string n = Name(1700000000, 1, 10, 12);
  idx.Upsert("alice", true, n);
  idx.Upsert("bob", true, n);  // an alias delivery: same name in two mailboxes
  auto a = idx.List("alice", 1, nullptr).items.at(0);
  auto b = idx.List("bob", 1, nullptr).items.at(0);
  CHECK(a->id() != b->id());
  CHECK(MessageIndex::LooksLikeId(a->id()));
  CHECK(a->id() == MessageIndex::MakeId("alice", n));
  CHECK(a->id().find('/') == std::string::npos);
  uint64_t seq = a->seq;
  const std::string id = a->id();  // a is freed once the message is removed
  // A reader moves it to cur/ and flags it: same message, same id and seq.
  CHECK_FALSE(idx.Upsert("alice", false, n + ":2,S"));
  const auto* moved = idx.Find(id);
  REQUIRE(moved);
  CHECK_FALSE(moved->in_new);
  CHECK(moved->seq == seq);
  CHECK(idx.Mailboxes()[0].unseen == 0);
  // The late event for the old location does not remove it.
  CHECK_FALSE(idx.RemoveFile("alice", true, n));
  CHECK(idx.Find(id));
  CHECK(idx.RemoveFile("alice", false, n + ":2,S"));
  CHECK_FALSE(idx.Find(id));
  CHECK_FALSE(MessageIndex::LooksLikeId("../../etc/passwd"));
  CHECK_FALSE(MessageIndex::LooksLikeId("ABCDEF0123456789"));
  CHECK(idx.Mailboxes()[0].messages == 0);  // the mailbox stays listed, empty
}

TEST_CASE("listing is newest first with cursor pagination", "[http][index]") {
  MessageIndex idx;
  for (int i = 0; i < 5; ++i) idx.Upsert("alice", true, Name(1700000000 + i, i, 10, 10));
  idx.Upsert("bob", true, Name(1700000002, 99, 10, 10));  // same second as alice's third
  auto p1 = idx.List("", 2, nullptr);
  REQUIRE(p1.items.size() == 2);
  CHECK(p1.items[0]->time == 1700000004);
  REQUIRE(p1.next);
  ListCursor c;
  REQUIRE(ListCursor::Decode(p1.next->Encode(), &c));
  auto p2 = idx.List("", 2, &c);
  REQUIRE(p2.items.size() == 2);
  CHECK(p2.items[0]->time == 1700000002);
  CHECK(p2.items[0]->mailbox() == "bob");  // same second: the later seen first
  CHECK(p2.items[1]->time == 1700000002);
  CHECK(p2.items[1]->mailbox() == "alice");
  auto p3 = idx.List("", 10, &*p2.next);
  CHECK(p3.items.size() == 2);
  CHECK_FALSE(p3.next);
  CHECK(idx.List("alice", 10, nullptr).items.size() == 5);
  CHECK(idx.List("nobody", 10, nullptr).items.empty());
  CHECK_FALSE(ListCursor::Decode("12", &c));
  CHECK_FALSE(ListCursor::Decode("a.1", &c));
  CHECK_FALSE(ListCursor::Decode("-1.2", &c));
}

TEST_CASE("FirstAfter finds the oldest message past a seq cursor", "[http][index]") {
  MessageIndex idx;
  CHECK(idx.FirstAfter("", 0) == nullptr);
  idx.Upsert("alice", true, Name(1700000000, 1, 1, 1));
  uint64_t cursor = idx.last_seq();
  CHECK(idx.FirstAfter("alice", cursor) == nullptr);
  idx.Upsert("bob", true, Name(1700000001, 2, 1, 1));
  CHECK(idx.FirstAfter("alice", cursor) == nullptr);
  REQUIRE(idx.FirstAfter("", cursor));
  CHECK(idx.FirstAfter("", cursor)->mailbox() == "bob");
  idx.Upsert("alice", true, Name(1600000000, 3, 1, 1));  // an older name, seen later
  REQUIRE(idx.FirstAfter("alice", cursor));
  CHECK(idx.FirstAfter("alice", cursor)->time == 1600000000);
}

TEST_CASE("ReplaceSubdir makes one directory's entries equal to a listing", "[http][index]") {
  MessageIndex idx;
  idx.Upsert("alice", true, Name(1, 1, 1, 1));
  idx.Upsert("alice", true, Name(2, 2, 1, 1));
  idx.Upsert("alice", false, Name(3, 3, 1, 1) + ":2,");
  idx.ReplaceSubdir("alice", true, {Name(2, 2, 1, 1), Name(4, 4, 1, 1)});
  auto items = idx.List("alice", 10, nullptr).items;
  REQUIRE(items.size() == 3);
  CHECK(items[0]->time == 4);
  CHECK(items[1]->time == 3);  // cur/ untouched
  CHECK(items[2]->time == 2);
  idx.ReplaceSubdir("carol", true, {});
  CHECK(idx.HasMailbox("carol"));
  CHECK(idx.size() == 3);
}

TEST_CASE("ReplaceSubdir keeps what was added after its listing began", "[http][index]") {
  // The listing runs on a pool thread while deliveries go on: a message the
  // index learnt of afterwards must not be removed (a false message.deleted,
  // then a second message.new when it is found again).
  MessageIndex idx;
  idx.Upsert("alice", true, Name(1, 1, 1, 1));
  idx.Upsert("alice", true, Name(2, 2, 1, 1));
  uint64_t listed_at = idx.last_seq();
  idx.Upsert("alice", true, Name(3, 3, 1, 1));  // delivered after the listing
  int removed = 0;
  idx.set_on_remove([&](const mailnest::IndexedMessage&) { ++removed; });
  idx.ReplaceSubdir("alice", true, {Name(2, 2, 1, 1)}, listed_at);
  auto items = idx.List("alice", 10, nullptr).items;
  REQUIRE(items.size() == 2);
  CHECK(items[0]->time == 3);
  CHECK(items[1]->time == 2);
  CHECK(removed == 1);  // only the one that was there when it was listed
}

TEST_CASE("random adds, moves and removals: pages and FirstAfter agree with a plain model", "[http][index]") {
  // The model: every live message as (mailbox, time, seq), kept in a vector.
  struct Entry {
    std::string box, name;
    int64_t time;
    uint64_t seq;
    bool in_new;
  };
  std::vector<Entry> model;
  MessageIndex idx;
  uint32_t state = 12345;
  auto rnd = [&state](uint32_t n) {
    state = state * 1103515245u + 12345u;
    return (state >> 8) % n;
  };
  const char* boxes[] = {"alice", "bob", "carol"};
  for (int step = 0; step < 3000; ++step) {
    uint32_t op = step < 1500 ? rnd(10) : rnd(10) + 4;  // then mostly removals: holes get compacted
    if (op < 6 || model.empty()) {
      std::string box = boxes[rnd(3)];
      int64_t t = 1700000000 + rnd(50);  // many equal seconds: seq breaks ties
      std::string name = Name(static_cast<int>(t), step, 10, 12);
      REQUIRE(idx.Upsert(box, true, name));
      model.push_back({box, name, t, idx.last_seq(), true});
    } else if (op < 8) {  // a reader moves one into cur/
      Entry& e = model[rnd(static_cast<uint32_t>(model.size()))];
      if (e.in_new) {
        CHECK_FALSE(idx.Upsert(e.box, false, e.name + ":2,S"));
        e.in_new = false;
      }
    } else {
      size_t i = rnd(static_cast<uint32_t>(model.size()));
      Entry e = model[i];
      REQUIRE(idx.RemoveFile(e.box, e.in_new, e.in_new ? e.name : e.name + ":2,S"));
      model.erase(model.begin() + static_cast<long>(i));
    }
    if (step % 250 != 249) continue;
    REQUIRE(idx.size() == model.size());
    for (std::string box : {"", "alice", "bob", "carol"}) {
      std::vector<std::pair<int64_t, uint64_t>> want, got;
      for (const Entry& e : model) {
        if (box.empty() || e.box == box) want.emplace_back(e.time, e.seq);
      }
      std::sort(want.rbegin(), want.rend());
      std::optional<ListCursor> cursor;
      do {
        auto page = idx.List(box, 7, cursor ? &*cursor : nullptr);
        for (const auto* m : page.items) got.emplace_back(m->time, m->seq);
        cursor = page.next;
      } while (cursor);
      REQUIRE(got == want);
      for (uint64_t after : {uint64_t{0}, idx.last_seq() / 2, idx.last_seq()}) {
        const Entry* first = nullptr;
        for (const Entry& e : model) {
          if ((box.empty() || e.box == box) && e.seq > after && (!first || e.seq < first->seq)) first = &e;
        }
        const auto* m = idx.FirstAfter(box, after);
        REQUIRE((m == nullptr) == (first == nullptr));
        if (m) CHECK(m->seq == first->seq);
      }
      for (const Entry& e : model) {  // every live message is found right after its predecessor's seq
        if (!box.empty() && e.box != box) continue;
        const auto* m = idx.FirstAfter(box, e.seq - 1);
        REQUIRE(m);
        CHECK(m->seq == e.seq);
      }
    }
  }
}
