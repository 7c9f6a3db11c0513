#include "store/journal_record.h"

#include <array>
#include <cstring>

#if defined(__x86_64__)
#include <nmmintrin.h>
#endif

namespace mailnest {

namespace {

constexpr char kMagic[4] = {'M', 'N', 'J', '1'};

enum class Kind : uint8_t { kMessage = 1, kMarker = 2, kRevocation = 3 };

std::array<uint32_t, 256> MakeCrcTable() {
  std::array<uint32_t, 256> t{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;  // reflected Castagnoli
    t[i] = c;
  }
  return t;
}

void PutU16(std::string* out, uint16_t v) {
  out->push_back(static_cast<char>(v & 0xff));
  out->push_back(static_cast<char>(v >> 8));
}

void PutU32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

uint32_t GetU32(const char* p) {
  uint32_t v = 0;
  for (int i = 3; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  return v;
}

// Bounds-checked reader over a payload whose checksum already matched.
struct Cursor {
  std::string_view rest;
  bool ok = true;

  uint32_t Int(int width) {
    if (!ok || rest.size() < static_cast<size_t>(width)) {
      ok = false;
      return 0;
    }
    uint32_t v = 0;
    for (int i = width - 1; i >= 0; --i) v = (v << 8) | static_cast<unsigned char>(rest[i]);
    rest.remove_prefix(width);
    return v;
  }
  std::string Bytes(size_t n) {
    if (!ok || rest.size() < n) {
      ok = false;
      return {};
    }
    std::string s(rest.substr(0, n));
    rest.remove_prefix(n);
    return s;
  }
};

}  // namespace

uint32_t Crc32cPortable(std::string_view data) {
  static const std::array<uint32_t, 256> table = MakeCrcTable();
  uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data) c = table[(c ^ b) & 0xff] ^ (c >> 8);
  return c ^ 0xFFFFFFFFu;
}

#if defined(__x86_64__)
namespace {
// SSE4.2's crc32 instruction computes exactly this polynomial, 8 octets per
// step: about a tenth of the table loop's cost for a 1 KiB record, which
// the journal thread pays for every message.
__attribute__((target("sse4.2"))) uint32_t Crc32cSse42(std::string_view data) {
  uint64_t c = 0xFFFFFFFFu;
  const char* p = data.data();
  size_t n = data.size();
  for (; n >= 8; p += 8, n -= 8) {
    uint64_t v;
    std::memcpy(&v, p, 8);
    c = _mm_crc32_u64(c, v);
  }
  uint32_t c32 = static_cast<uint32_t>(c);
  for (; n > 0; ++p, --n) c32 = _mm_crc32_u8(c32, static_cast<unsigned char>(*p));
  return c32 ^ 0xFFFFFFFFu;
}
}  // namespace
#endif

uint32_t Crc32c(std::string_view data) {
#if defined(__x86_64__)
  static const bool hw = __builtin_cpu_supports("sse4.2");
  if (hw) return Crc32cSse42(data);
#endif
  return Crc32cPortable(data);
}

namespace {

// Header and kind/generation; returns where the payload starts.
size_t BeginRecord(Kind kind, uint64_t generation, std::string* out) {
  out->append(kMagic, 4);
  PutU32(out, 0);  // payload length, patched by EndRecord
  PutU32(out, 0);  // checksum, patched by EndRecord
  const size_t payload_at = out->size();
  out->push_back(static_cast<char>(kind));
  PutU32(out, static_cast<uint32_t>(generation));
  PutU32(out, static_cast<uint32_t>(generation >> 32));
  return payload_at;
}

void EndRecord(size_t payload_at, std::string* out) {
  const size_t start = payload_at - kJournalHeaderSize;
  const uint32_t len = static_cast<uint32_t>(out->size() - payload_at);
  const uint32_t crc = Crc32c(std::string_view(*out).substr(payload_at));
  std::string hdr;
  PutU32(&hdr, len);
  PutU32(&hdr, crc);
  out->replace(start + 4, 8, hdr);
}

}  // namespace

void EncodeJournalRecord(uint64_t generation, const std::vector<std::string>& mailboxes,
                         std::string_view final_name, std::string_view content, std::string* out) {
  const size_t payload_at = BeginRecord(Kind::kMessage, generation, out);
  PutU16(out, static_cast<uint16_t>(mailboxes.size()));
  for (const std::string& m : mailboxes) {
    PutU16(out, static_cast<uint16_t>(m.size()));
    out->append(m);
  }
  PutU16(out, static_cast<uint16_t>(final_name.size()));
  out->append(final_name);
  PutU32(out, static_cast<uint32_t>(content.size()));
  out->append(content);
  EndRecord(payload_at, out);
}

void EncodeJournalMarker(uint64_t generation, std::string* out) {
  EndRecord(BeginRecord(Kind::kMarker, generation, out), out);
}

void EncodeJournalRevocation(uint64_t generation, std::string_view final_name, std::string* out) {
  const size_t payload_at = BeginRecord(Kind::kRevocation, generation, out);
  PutU16(out, static_cast<uint16_t>(final_name.size()));
  out->append(final_name);
  EndRecord(payload_at, out);
}

DecodeResult DecodeJournalRecord(std::string_view data, JournalRecord* rec, size_t* used) {
  if (data.size() < kJournalHeaderSize) {
    // A prefix of the magic may be a torn tail; anything else is garbage.
    return std::memcmp(data.data(), kMagic, std::min<size_t>(4, data.size())) == 0
               ? DecodeResult::kNeedMore
               : DecodeResult::kCorrupt;
  }
  if (std::memcmp(data.data(), kMagic, 4) != 0) return DecodeResult::kCorrupt;
  const uint32_t len = GetU32(data.data() + 4);
  const uint32_t crc = GetU32(data.data() + 8);
  // 2 + n*(2+255) + 2+255 + 4 + content: anything bigger cannot be ours.
  if (len > kJournalMaxContent + kJournalMaxMailboxes * 257 + 263) return DecodeResult::kCorrupt;
  if (data.size() - kJournalHeaderSize < len) return DecodeResult::kNeedMore;
  std::string_view payload = data.substr(kJournalHeaderSize, len);
  if (Crc32c(payload) != crc) return DecodeResult::kCorrupt;

  Cursor c{payload};
  JournalRecord r;
  const uint32_t kind = c.Int(1);
  r.generation = c.Int(4);
  r.generation |= uint64_t{c.Int(4)} << 32;
  if (!c.ok || kind < static_cast<uint32_t>(Kind::kMessage) || kind > static_cast<uint32_t>(Kind::kRevocation)) {
    return DecodeResult::kCorrupt;
  }
  if (kind == static_cast<uint32_t>(Kind::kRevocation)) {
    r.revocation = true;
    r.final_name = c.Bytes(c.Int(2));
    if (!c.ok || !c.rest.empty() || r.final_name.empty()) return DecodeResult::kCorrupt;
    *rec = std::move(r);
    *used = kJournalHeaderSize + len;
    return DecodeResult::kOk;
  }
  if (kind == static_cast<uint32_t>(Kind::kMarker)) {
    if (!c.rest.empty()) return DecodeResult::kCorrupt;
    r.marker = true;
    *rec = std::move(r);
    *used = kJournalHeaderSize + len;
    return DecodeResult::kOk;
  }
  const uint32_t n = c.Int(2);
  if (n == 0 || n > kJournalMaxMailboxes) return DecodeResult::kCorrupt;
  for (uint32_t i = 0; i < n && c.ok; ++i) r.mailboxes.push_back(c.Bytes(c.Int(2)));
  r.final_name = c.Bytes(c.Int(2));
  const uint32_t content_len = c.Int(4);
  if (content_len > kJournalMaxContent) return DecodeResult::kCorrupt;
  r.content = c.Bytes(content_len);
  if (!c.ok || !c.rest.empty() || r.final_name.empty()) return DecodeResult::kCorrupt;
  *rec = std::move(r);
  *used = kJournalHeaderSize + len;
  return DecodeResult::kOk;
}

}  // namespace mailnest
