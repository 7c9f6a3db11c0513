// Incremental POP3 reply scanner for the load client.
//
// The load client pipelines commands, so its input buffer holds a stream of
// replies; it asks for the next one with the kind it expects (single-line,
// or multi-line when +OK). Scanning resumes where the last call stopped, so
// a reply that arrives in many reads is not searched from the start again
// (that matters for large RETRs at tens of thousands per second).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>
#include <vector>

namespace mailnest::bench {

struct Pop3Reply {
  bool ok = false;
  std::string_view status;  // first line without CRLF
  // Multi-line +OK only: the body as sent (still dot-stuffed), from after the
  // status line up to and including the CRLF before the terminating ".".
  std::string_view body;
  size_t body_octets = 0;   // body length after removing dot-stuffing
};

class ReplyScanner {
 public:
  // Looks for one complete reply at the start of data[0, len). Returns the
  // octets it spans (consume them), or 0 if more input is needed.
  // `multiline`: the command expects a multi-line reply when it succeeds;
  // a "-ERR" reply is single-line either way (RFC 1939 section 3).
  size_t Scan(const char* data, size_t len, bool multiline, Pop3Reply* out);

  // Forget the resume point (after the caller consumed a reply or dropped
  // the buffer).
  void Reset() { scanned_ = 0; }

 private:
  size_t scanned_ = 0;  // prefix of the buffer already searched in vain
};

// Parses a LIST body ("N SIZE\r\n" lines) into (number, size) pairs.
// Returns false on a malformed line.
bool ParseListBody(std::string_view body, std::vector<std::pair<uint32_t, uint64_t>>* out);

}  // namespace mailnest::bench
