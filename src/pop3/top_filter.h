// Cuts a message stream down to what POP3 TOP n m sends (RFC 1939 §7): the
// header, the blank line that ends it, and the first m body lines.
//
// Feed chunks in order; Accept() says how many leading bytes of the chunk
// belong to the output. Once done() the rest of the message is not needed
// (the caller stops reading the file). Lines end at LF; a message without a
// blank line is all header and is sent whole.
#pragma once

#include <cstddef>
#include <cstdint>

namespace mailnest {

class TopFilter {
 public:
  explicit TopFilter(uint64_t body_lines) : lines_left_(body_lines) {}

  size_t Accept(const char* data, size_t len);
  bool done() const { return done_; }

 private:
  uint64_t lines_left_;
  bool in_header_ = true;
  bool done_ = false;
  size_t line_len_ = 0;  // bytes of the current line so far
  bool last_cr_ = false;  // the previous byte of this line was CR
};

}  // namespace mailnest
