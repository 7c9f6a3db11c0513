// The on-disk envelope of one queued message (format version 1,
// docs/RELAY.md): a small text file you can read with cat, rewritten
// whole (tmp → fsync → rename → directory fsync) on every state change.
//
//   mailnest-queue 1
//   id <queue id>
//   arrival <unix seconds>
//   sender <reverse-path, empty for <>>
//   size <octets of the message file>
//   warned <unix seconds>   only once a delay warning was sent (optional)
//   rcpt <state>\t<attempts>\t<next try>\t<last attempt>\t<address>\t<remote mta>\t<last reply>
//   ... one rcpt line per recipient ...
//   end
//
// state is queued | sent | bounced. Fields are separated by one TAB; an
// address never holds TAB, CR or LF (RFC 5321 syntax), and remote text is
// cleaned (CleanReplyText) before it is stored. The "end" line proves the
// file is complete. Encode/Decode are pure: no I/O, any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace mailnest {

constexpr int kQueueFormatVersion = 1;

enum class RcptState : uint8_t { kQueued, kSent, kBounced };
std::string_view RcptStateName(RcptState s);

struct QueueRecipient {
  std::string address;      // forward-path text as accepted
  RcptState state = RcptState::kQueued;
  uint32_t attempts = 0;
  int64_t next_try = 0;      // unix seconds; 0 = at once
  int64_t last_attempt = 0;  // unix seconds; 0 = never
  std::string remote_mta;   // host that gave last_reply ("" = none)
  std::string last_reply;   // e.g. "450 4.2.0 mailbox busy" or a local reason
};

struct QueueEnvelope {
  std::string id;
  int64_t arrival = 0;
  std::string sender;  // "" = the null reverse-path (a bounce: never bounced)
  uint64_t size = 0;
  int64_t warned = 0;  // when the delay warning went to the sender (0 = not yet)
  std::vector<QueueRecipient> recipients;
};

std::string EncodeEnvelope(const QueueEnvelope& env);
// Invalid (naming the line) on a wrong version, a missing "end", a bad field.
Status DecodeEnvelope(std::string_view text, QueueEnvelope* out);

// Text from a remote server made safe to store, log and put in a DSN:
// printable ASCII only (others → '?'; TAB, CR, LF → ' '), at most max octets.
std::string CleanReplyText(std::string_view text, size_t max = 512);

// A queue id is MakeUniqueBase()'s "<sec>.M<usec>P<pid>Q<seq>": only
// [0-9A-Za-z.], so it is safe as a file name; anything else is refused.
bool IsValidQueueId(std::string_view id);

}  // namespace mailnest
