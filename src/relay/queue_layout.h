// The relay queue's file names and how one message's envelope is read from
// them (docs/RELAY.md "Queue files"). Two layouts live side by side:
//   <id>.qf            envelope as first written, then the message: one
//                      file, one fsync per queued message (the layout
//                      written now)
//   <id>.qe            the current envelope of a .qf once it changed (the
//                      .qf's own head is then stale)
//   <id>.msg + <id>.env  the message and its envelope as two files (the
//                      layout of earlier releases, still read, rewritten
//                      and removed as such)
// Shared by queue_store.cc (writes) and queue_scan.cc (the start, listing).
// Blocking: pool threads only.
#pragma once

#include <string>
#include <string_view>

#include "base/status.h"
#include "relay/queue_record.h"
#include "relay/queue_store.h"

namespace mailnest {

class FsEnv;

inline constexpr std::string_view kQueueFile = ".qf";
inline constexpr std::string_view kQueueFileEnvelope = ".qe";
inline constexpr std::string_view kOldMessage = ".msg";
inline constexpr std::string_view kOldEnvelope = ".env";

FsEnv* QueueEnv(const QueueFiles& q);
std::string QueuePath(const QueueFiles& q, const std::string& id, std::string_view suffix);
bool QueueFileExists(const QueueFiles& q, const std::string& path);
bool NameEndsWith(const std::string& s, std::string_view suffix);

// A whole envelope file (.env, .qe), at most 64 MiB.
Status ReadEnvelopeFile(FsEnv* env, const std::string& path, QueueEnvelope* out);
// The envelope at the head of a .qf (up to its "end" line). *head_size: the
// octets before the message (may be null).
Status ReadQueueFileHead(FsEnv* env, const std::string& path, QueueEnvelope* out, size_t* head_size);

// Where the message's current envelope lives: the .qe when the .qf has one,
// else the .qf's head, or the .env of the old layout.
struct EnvelopeSource {
  bool one_file = false;  // .qf layout
  std::string path;       // the file the envelope was (to be) read from
};
EnvelopeSource FindEnvelope(const QueueFiles& q, const std::string& id);
Status ReadEnvelopeAt(FsEnv* env, const EnvelopeSource& src, QueueEnvelope* out);

}  // namespace mailnest
