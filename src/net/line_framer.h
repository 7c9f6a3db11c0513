// CRLF line framer for command channels (SMTP, POP3).
//
// Contract (after MPD's BufferedSocket InputResult): Feed() appends bytes;
// Next() hands out one event at a time until it returns false ("need more").
// The string_view in an event is valid until the next Feed()/Next() call.
//
//  - kLine: a line, without its CRLF. Only CR LF ends a line, unless the
//    framer accepts bare LF (normalize mode, Postfix 3.9's
//    smtpd_forbid_bare_newline=normalize): then a LF alone ends one too.
//  - kTooLong: the line exceeded max_line octets (CRLF included). Emitted once;
//    the framer then discards input up to and including the next LF, so the
//    session stays in sync with the client.
//  - kBareNewline: a CR not followed by LF, or (reject mode) a LF not
//    preceded by CR. The
//    framer's buffer is left untouched after this; callers are expected to
//    reply and close (Postfix smtpd_forbid_bare_newline=reject).
//
// Memory is bounded by max_line plus one read buffer: Feed() compacts.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace mailnest {

class LineFramer {
 public:
  enum class Kind { kLine, kTooLong, kBareNewline };
  struct Event {
    Kind kind;
    std::string_view line;
  };

  explicit LineFramer(size_t max_line, bool accept_bare_lf = false)
      : max_line_(max_line), accept_bare_lf_(accept_bare_lf) {}

  void Feed(const char* data, size_t len);
  bool Next(Event* ev);

  // Bytes received but not yet framed (used when a session switches to a
  // different decoder, e.g. after SMTP DATA's 354). Clears the buffer.
  std::string TakeBuffered();
  size_t buffered() const { return buf_.size() - pos_; }

 private:
  size_t max_line_;
  bool accept_bare_lf_;
  std::string buf_;
  size_t pos_ = 0;          // start of the unconsumed part of buf_
  bool discarding_ = false; // inside an over-long line, skipping to LF
};

}  // namespace mailnest
