// The on-disk record of the delivery journal (store/delivery_journal.h):
// one accepted message and where it must land, self-checking so that a
// record torn by a crash is recognised and ignored.
//
// Layout (integers little-endian):
//   "MNJ1"  u32 payload_len  u32 crc32c(payload)  payload
//   payload = u8 kind, u64 generation, then for a message:
//             u16 n_mailboxes, n × (u16 len, mailbox name),
//             u16 len, final file name ("<id>.<host>,S=<size>"),
//             u32 len, message octets (exactly what goes into the file)
//             or, for a revocation, u16 len, final file name: the message
//             of that name was refused (451) after its record was synced,
//             so recovery must not deliver it
//
// A journal file is reused in place (overwriting is much cheaper to sync
// than appending): it starts with a marker record of generation G and only
// the message records of generation G that follow it without a gap are
// live. Each checkpoint writes a new marker (G+1) at offset 0, which
// retires everything after it at once, however much old data remains.
// Limits (kMax*) bound what a reader allocates from a corrupt length.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace mailnest {

struct JournalRecord {
  bool marker = false;                 // a generation marker, no message
  bool revocation = false;             // cancels the live record named final_name
  uint64_t generation = 0;
  std::vector<std::string> mailboxes;  // validated mailbox names, first = primary
  std::string final_name;              // the file name in new/ (unique per message)
  std::string content;                 // the whole message file
};

constexpr size_t kJournalHeaderSize = 12;
constexpr size_t kJournalMaxMailboxes = 10000;
constexpr size_t kJournalMaxContent = 64u * 1024 * 1024;

// CRC-32C (Castagnoli), as in iSCSI/ext4/LevelDB; table-driven.
uint32_t Crc32c(std::string_view data);
// The table-driven version Crc32c falls back to without SSE4.2 (tests
// compare the two).
uint32_t Crc32cPortable(std::string_view data);

// Append the encoded record to *out.
void EncodeJournalRecord(uint64_t generation, const std::vector<std::string>& mailboxes,
                         std::string_view final_name, std::string_view content, std::string* out);
void EncodeJournalMarker(uint64_t generation, std::string* out);
// A record of `generation` saying that the message record named
// final_name (same file, same generation) must not be replayed.
void EncodeJournalRevocation(uint64_t generation, std::string_view final_name, std::string* out);

enum class DecodeResult {
  kOk,         // *rec filled, *used = octets consumed
  kNeedMore,   // `data` ends inside the record (a torn tail if at end of file)
  kCorrupt,    // bad magic, length, checksum or field: stop reading here
};

// Decodes the record at the start of `data`.
DecodeResult DecodeJournalRecord(std::string_view data, JournalRecord* rec, size_t* used);

}  // namespace mailnest
