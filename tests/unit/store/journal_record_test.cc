#include "store/journal_record.h"

#include <catch2/catch.hpp>

#include <string>

#include "octet_dice.h"

namespace mailnest {
namespace {

TEST_CASE("CRC-32C matches the published check value", "[store][journal]") {
  CHECK(Crc32c("123456789") == 0xE3069283u);  // RFC 3720 B.4 / the CRC catalogue
  CHECK(Crc32c("") == 0u);
  CHECK(Crc32cPortable("123456789") == 0xE3069283u);
  // The hardware path (x86-64 with SSE4.2) and the table agree at every
  // length and alignment, tails of 0-7 octets included.
  std::string buf;
  for (int i = 0; i < 300; ++i) buf.push_back(static_cast<char>((i * 131 + 7) & 0xff));
  for (size_t off = 0; off < 9; ++off) {
    for (size_t len = 0; off + len <= buf.size(); len += 1 + len / 4) {
      std::string_view v = std::string_view(buf).substr(off, len);
      CHECK(Crc32c(v) == Crc32cPortable(v));
    }
  }
}

TEST_CASE("a message record round-trips, byte for byte", "[store][journal]") {
  std::string buf;
  const std::string content = std::string("Subject: x\r\n\r\n\0binary\xff\r\n", 23);
  EncodeJournalRecord(7, {"alice", "bob"}, "1.M2P3Q4.host,S=23", content, &buf);
  EncodeJournalMarker(8, &buf);

  JournalRecord rec;
  size_t used = 0;
  REQUIRE(DecodeJournalRecord(buf, &rec, &used) == DecodeResult::kOk);
  CHECK_FALSE(rec.marker);
  CHECK(rec.generation == 7);
  CHECK(rec.mailboxes == std::vector<std::string>{"alice", "bob"});
  CHECK(rec.final_name == "1.M2P3Q4.host,S=23");
  CHECK(rec.content == content);

  JournalRecord marker;
  size_t used2 = 0;
  REQUIRE(DecodeJournalRecord(std::string_view(buf).substr(used), &marker, &used2) == DecodeResult::kOk);
  CHECK(marker.marker);
  CHECK(marker.generation == 8);
  CHECK(used + used2 == buf.size());
}

TEST_CASE("a revocation record round-trips and names only the refused message", "[store][journal]") {
  std::string buf;
  EncodeJournalRevocation(9, "1.M2P3Q4.host,S=23", &buf);
  JournalRecord rec;
  size_t used = 0;
  REQUIRE(DecodeJournalRecord(buf, &rec, &used) == DecodeResult::kOk);
  CHECK(rec.revocation);
  CHECK_FALSE(rec.marker);
  CHECK(rec.generation == 9);
  CHECK(rec.final_name == "1.M2P3Q4.host,S=23");
  CHECK(rec.mailboxes.empty());
  CHECK(rec.content.empty());
  CHECK(used == buf.size());
  // Torn anywhere, it is not a revocation.
  for (size_t cut = 0; cut < buf.size(); ++cut) {
    CHECK(DecodeJournalRecord(std::string_view(buf).substr(0, cut), &rec, &used) != DecodeResult::kOk);
  }
}

TEST_CASE("a torn record asks for more; a damaged one is corrupt", "[store][journal]") {
  std::string buf;
  EncodeJournalRecord(1, {"alice"}, "1.M1P1Q1.h,S=5", "hello", &buf);
  JournalRecord rec;
  size_t used = 0;
  for (size_t cut : {size_t{1}, size_t{4}, kJournalHeaderSize, buf.size() - 1}) {
    CAPTURE(cut);
    CHECK(DecodeJournalRecord(std::string_view(buf).substr(0, cut), &rec, &used) == DecodeResult::kNeedMore);
  }
  SECTION("a flipped payload bit fails the checksum") {
    buf[buf.size() - 2] ^= 0x01;
    CHECK(DecodeJournalRecord(buf, &rec, &used) == DecodeResult::kCorrupt);
  }
  SECTION("zero fill (a preallocated, unused journal) is not a record") {
    CHECK(DecodeJournalRecord(std::string(64, '\0'), &rec, &used) == DecodeResult::kCorrupt);
  }
  SECTION("an absurd length is refused before anything is allocated") {
    buf[4] = buf[5] = buf[6] = buf[7] = '\xff';
    CHECK(DecodeJournalRecord(buf, &rec, &used) == DecodeResult::kCorrupt);
  }
}

TEST_CASE("a damaged payload with a matching checksum is corrupt, never misread", "[store][journal]") {
  // The checksum catches a torn or flipped record; this covers what is left:
  // a payload whose fields disagree with each other (a bug, or a record from
  // another version). Damage fields, re-seal the header so the checksum
  // matches, and the decoder must either refuse it or read back exactly
  // those octets: it never reads past a field or drops a byte.
  std::string good;
  EncodeJournalRecord(3, {"alice", "bob"}, "1.M2P3Q4.h,S=5", "hello", &good);
  const std::string one = good.substr(kJournalHeaderSize);
  EncodeJournalMarker(4, &good);  // trailing octets, so a length that overruns lands in them
  const std::string two = good.substr(kJournalHeaderSize);
  auto seal = [](const std::string& p) {
    std::string rec = "MNJ1";
    for (uint32_t v : {static_cast<uint32_t>(p.size()), Crc32c(p)})
      for (int i = 0; i < 4; ++i) rec.push_back(static_cast<char>(v >> (8 * i)));
    return rec + p;
  };
  OctetDice dice(3720);
  size_t refused = 0, read = 0;
  for (int round = 0; round < 3000; ++round) {
    const std::string& base = dice.Below(2) ? one : two;
    std::string p = base.substr(0, base.size() - (dice.Below(3) == 0 ? dice.Below(base.size()) : 0));
    // Small values mostly, so counts and lengths stay plausible and reach the field checks.
    for (size_t k = 1 + dice.Below(3); k > 0 && !p.empty(); --k)
      p[dice.Below(p.size())] = static_cast<char>(dice.Below(4) == 0 ? dice.Below(256) : dice.Below(8));
    const std::string sealed = seal(p);
    JournalRecord rec;
    size_t used = 0;
    const DecodeResult r = DecodeJournalRecord(sealed, &rec, &used);
    CAPTURE(round);
    REQUIRE(r != DecodeResult::kNeedMore);  // the whole record is there
    if (r == DecodeResult::kCorrupt) {
      ++refused;
      continue;
    }
    ++read;
    CHECK(used == sealed.size());
    std::string again;
    if (rec.marker) {
      EncodeJournalMarker(rec.generation, &again);
    } else {
      CHECK_FALSE(rec.final_name.empty());
      EncodeJournalRecord(rec.generation, rec.mailboxes, rec.final_name, rec.content, &again);
    }
    CHECK(again == sealed);
  }
  CHECK(refused > 0);  // the damage reached the field checks
  CHECK(read > 0);     // and some damage (in content or names) still decodes
}

}  // namespace
}  // namespace mailnest
