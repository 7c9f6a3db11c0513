// Reads one stored message file for GET /api/v1/messages/{id}/raw, on the
// thread pool. The path is built from the index entry (a mailbox name the
// index validated and a file name it listed), never from the request.
#pragma once

#include <uv.h>

#include <cstdint>
#include <functional>
#include <string>

#include "http/message_index.h"

namespace mailnest {

constexpr uint64_t kMaxRawBytes = uint64_t{64} << 20;  // larger files: 500, not served

struct RawResult {
  enum Code { kOk, kGone, kTooLarge, kError } code = kError;
  std::string data;
  std::string error;  // for the log only
};

// done runs on the loop thread. If the file moved between new/ and cur/
// since the index saw it, the other directory is searched for its unique
// part.
void ReadRawMessage(uv_loop_t* loop, const std::string& mail_root, const IndexedMessage& m,
                    std::function<void(RawResult&)> done);

}  // namespace mailnest
