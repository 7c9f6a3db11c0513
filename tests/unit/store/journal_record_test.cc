#include "store/journal_record.h"

#include <catch2/catch.hpp>

#include <string>

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

}  // namespace
}  // namespace mailnest
