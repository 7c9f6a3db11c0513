// The header summary of one message, as the index caches it: only these
// fields, each at most kMaxSummaryField octets, all valid UTF-8 (RFC 2047
// decoded). Filled by Summarize (http/mime_message.h) on a pool thread;
// immutable once shared.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace mailnest {

constexpr size_t kMaxSummaryField = 1024;  // octets of each cached header field
constexpr size_t kSnippetChars = 200;      // UTF-8 characters of the text snippet

struct MessageSummary {
  std::string from, to, cc, subject, date, message_id, return_path;
  std::string snippet;        // first kSnippetChars of the text part, whitespace collapsed
  uint32_t attachments = 0;
  bool truncated = false;     // parsed from the first http.max_parse_bytes only
  std::string error;          // the file could not be parsed (fields empty)
};

}  // namespace mailnest
