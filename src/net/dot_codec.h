// The two directions of the "dot" transparency of RFC 5321 §4.5.2 / RFC 1939.
//
// DataDecoder (SMTP DATA in): removes dot-stuffing, finds the only real end
// of data — CR LF . CR LF — and flags, without stopping, everything that
// makes the message unacceptable: a bare CR or LF anywhere (the SMTP
// smuggling defence), a text line longer than the limit, a body larger than
// the size limit. The caller keeps feeding until Done(), then decides the
// reply from the flags. Output beyond the size limit is not produced, so the
// caller's memory stays bounded.
//
// DotStuffer (POP3 RETR/TOP out): adds a '.' before every line that starts
// with '.', and Finish() closes the multi-line reply with CRLF . CRLF
// (adding a CRLF first if the content did not end with one).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace mailnest {

class DataDecoder {
 public:
  DataDecoder(uint64_t max_size, size_t max_line) : max_size_(max_size), max_line_(max_line) {}

  // Consumes bytes from data[0..len) and appends un-stuffed content to *out.
  // Returns how many bytes were consumed: all of them, or fewer when the
  // terminator was found (the rest belongs to the next command).
  size_t Feed(const char* data, size_t len, std::string* out);

  bool done() const { return state_ == State::kDone; }
  bool bare_newline() const { return bare_newline_; }
  bool line_too_long() const { return line_too_long_; }
  bool too_large() const { return too_large_; }
  uint64_t size() const { return size_; }  // content octets seen (un-stuffed)

 private:
  enum class State { kLineStart, kInLine, kSawCR, kDot, kDotCR, kDone };
  void Emit(char c, std::string* out);
  void EmitRun(const char* p, size_t n, std::string* out);  // n ordinary bytes, no CR/LF

  uint64_t max_size_;
  size_t max_line_;
  State state_ = State::kLineStart;
  uint64_t size_ = 0;
  size_t line_len_ = 0;
  bool bare_newline_ = false;
  bool line_too_long_ = false;
  bool too_large_ = false;
};

class DotStuffer {
 public:
  // Appends the stuffed form of data to *out.
  void Feed(const char* data, size_t len, std::string* out);
  // Appends the terminator (CRLF first if the content did not end in CRLF).
  void Finish(std::string* out);

 private:
  bool at_line_start_ = true;
};

}  // namespace mailnest
