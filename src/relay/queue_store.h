// The relay queue's files (docs/RELAY.md), one flat directory:
//   <queue_dir>/<id>.msg   the message, once (LF line ends, trace headers first)
//   <id>.env               its envelope (relay/queue_record.h)
//   <id>.env.new           being written; removed at start
// A message is queued exactly when its .env exists: the .msg (written in
// place) is made durable first, so a .env never points at a missing
// message, and the .env is unlinked first when the message leaves, so a
// crash leaves at worst an orphan .msg (removed at start). The directory
// syncs are shared by the pool jobs that ask at about the same time
// (store/dir_sync_group.h).
//
// Every function blocks: call them on the thread pool, never on the loop.
// With fsync false (store.fsync) the syncs are skipped.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "relay/queue_record.h"

namespace mailnest {

class FsEnv;

struct QueueFiles {
  FsEnv* env = nullptr;  // null = DefaultFsEnv()
  std::string dir;
  bool fsync = true;
};

// mkdir the queue directory (0700 by store.dir_mode) and sync its parent.
Status EnsureQueueDir(const QueueFiles& q);
// message (in place → fsync), then envelope (tmp → fsync → rename), then a
// directory fsync: OK means the message is queued durably.
Status WriteQueued(const QueueFiles& q, const QueueEnvelope& env, const std::string& message);
// Replaces the envelope atomically.
Status RewriteEnvelope(const QueueFiles& q, const QueueEnvelope& env);
// The message leaves the queue (envelope first).
Status RemoveQueued(const QueueFiles& q, const std::string& id);
Status ReadQueuedMessage(const QueueFiles& q, const std::string& id, uint64_t max_size, std::string* out);

// Read-only listing for `mailnest queue` (safe beside a running instance:
// it changes nothing; an envelope being replaced is read whole or skipped).
Status ListQueued(const QueueFiles& q, std::vector<QueueEnvelope>* out);

// Everything queued, for the start. Half-written files and orphan
// messages are removed; an envelope that does not decode is renamed to
// "<id>.env.bad" and reported in *problems (never silently dropped).
Status LoadQueue(const QueueFiles& q, std::vector<QueueEnvelope>* out, std::vector<std::string>* problems);

// One envelope by id (NotFound when it is not queued).
Status ReadQueuedEnvelope(const QueueFiles& q, const std::string& id, QueueEnvelope* out);

// The start, in steps a scheduler can run as pool jobs (RelayQueue loads in
// batches off the loop while it already serves). ScanQueue lists the ids
// queued (an .env and a .msg), removes half-written files and orphan
// messages, except those of `own` ids (MakeUniqueBase's "P<pid>Q" of this
// process, whose leading seconds are >= since, its start: a message being
// queued right now is not debris, and is not listed: the scheduler has it). LoadEnvelopes
// decodes ids[from, to): a bad envelope is renamed "<id>.env.bad" and
// reported.
Status ScanQueue(const QueueFiles& q, std::string_view own, int64_t since, std::vector<std::string>* ids);
void LoadEnvelopes(const QueueFiles& q, const std::vector<std::string>& ids, size_t from, size_t to,
                   std::vector<QueueEnvelope>* out, std::vector<std::string>* problems);

}  // namespace mailnest
