// The search language of GET /api/v1/messages?query= and /api/v1/wait
// (docs/HTTP_API.md): whitespace-separated terms, all of which must match.
//
//   from:x  to:x (To or Cc)  subject:x  body:x    substring, case-insensitive (ASCII)
//   has:attachment                                 at least one attachment
//   before:YYYY-MM-DD  after:YYYY-MM-DD            delivery time (UTC): before that day / on or after it
//   larger:N  smaller:N                            size (octets; suffix k, M, G = 1024^n)
//   mailbox:name                                   exactly that mailbox
//   x  "a phrase"                                  free text: From, To, Cc or Subject contains it
//
// Values may be quoted ("…", no escapes). A malformed query is an error
// that names the problem ("unknown field 'frm:'"). Pure: no I/O, usable
// from any thread once parsed.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "http/message_summary.h"

namespace mailnest {

constexpr size_t kMaxQueryTerms = 32;

class Query {
 public:
  // "" is the empty query (matches everything). err names the problem.
  static bool Parse(std::string_view text, Query* out, std::string* err);

  bool empty() const { return terms_.empty(); }
  bool needs_body() const { return needs_body_; }

  // The terms that need only the index entry (no file read).
  bool MatchesName(const std::string& mailbox, int64_t time, uint64_t size) const;
  // The terms over the cached header summary.
  bool MatchesHeaders(const MessageSummary& s) const;
  // The body: terms over the decoded text (pool thread).
  bool MatchesBody(std::string_view text) const;

 private:
  enum class Field { kText, kFrom, kTo, kSubject, kBody, kMailbox, kHasAttachment, kBefore, kAfter, kLarger, kSmaller };
  struct Term {
    Field field;
    std::string text;  // lower case for substring fields
    int64_t number = 0;
  };
  std::vector<Term> terms_;
  bool needs_body_ = false;
};

// Exposed for tests: "10k" → 10240; "2M", "1G", "500". false if malformed.
bool ParseSizeValue(std::string_view text, uint64_t* out);
// "2024-03-01" → seconds since the epoch at 00:00 UTC. false if malformed.
bool ParseDayValue(std::string_view text, int64_t* out);
// ASCII case-insensitive substring test; needle must be lower case.
bool ContainsFolded(std::string_view hay, std::string_view needle_lower);

}  // namespace mailnest
