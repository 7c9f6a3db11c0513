// The relay queue's files (docs/RELAY.md "Queue layout"; the names and
// the two layouts in relay/queue_layout.h): one flat directory, a message
// per <id>.qf (envelope, then message), its envelope rewritten to <id>.qe;
// queues of earlier releases (<id>.msg + <id>.env) are read and handled in
// their own layout. A message is queued exactly when its .qf (old: .env)
// exists; everything else is removed at start when that file is missing.
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
// <id>.qf.new (envelope, then message) → fsync → rename to <id>.qf, then a
// directory fsync (shared with concurrent callers): OK means the message
// is queued durably.
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
// "<file>.bad" and reported in *problems (never silently dropped).
Status LoadQueue(const QueueFiles& q, std::vector<QueueEnvelope>* out, std::vector<std::string>* problems);

// One envelope by id (NotFound when it is not queued).
Status ReadQueuedEnvelope(const QueueFiles& q, const std::string& id, QueueEnvelope* out);

// The start, in steps a scheduler can run as pool jobs (RelayQueue loads in
// batches off the loop while it already serves). ScanQueue lists the ids
// queued (a .qf, or an .env; each marked with its layout), removes
// half-written files and orphans, except those of `own` ids (MakeUniqueBase's "P<pid>Q" of this
// process, whose leading seconds are >= since, its start: a message being
// queued right now is not debris, and is not listed: the scheduler has it). LoadEnvelopes
// decodes ids[from, to): a bad envelope's file is renamed "<file>.bad" and
// reported.
Status ScanQueue(const QueueFiles& q, std::string_view own, int64_t since, std::vector<std::string>* ids);
void LoadEnvelopes(const QueueFiles& q, const std::vector<std::string>& ids, size_t from, size_t to,
                   std::vector<QueueEnvelope>* out, std::vector<std::string>* problems);

}  // namespace mailnest
