// The two directions of the "dot" transparency of RFC 5321 §4.5.2 / RFC 1939.
//
// DataDecoder (SMTP DATA in): removes dot-stuffing, finds the only real end
// of data — CR LF . CR LF, where the CR LF before the dot really ended a
// line with CR LF — and flags, without stopping, everything that makes the
// message unacceptable: a bare CR anywhere, a bare LF in reject mode (the
// SMTP smuggling defence), a text line longer than the limit, a body larger
// than the size limit. The caller keeps feeding until Done(), then decides
// the reply from the flags. Output beyond the size limit is not produced, so
// the caller's memory stays bounded.
//
// Output is the Maildir storage form: every line ends in exactly one LF and
// no CR is ever produced (a CR LF line end becomes LF; a bare CR is flagged
// and dropped). In normalize mode (Postfix 3.9's smtpd_forbid_bare_newline
// = normalize) a line ended by a bare LF is taken as if it ended in CR LF,
// except that it can never be the line before the terminator: "\n.\r\n",
// "\r\n.\n" and "\n.\n" are content (the dot line un-stuffed to an empty
// line), so a smuggled second message stays text inside the first. In
// reject mode the same bytes are decoded the same way and the bare LF is
// flagged. size() counts the message as it is on the wire (un-stuffed,
// every line end as CR LF): what POP3 will send for these lines, and what
// max_message_size limits.
//
// DotStuffer (POP3 RETR/TOP out): adds a '.' before every line that starts
// with '.', sends every line end as CR LF whatever the file holds (LF,
// CR LF or a mix; a lone CR is content and passes unchanged), and Finish()
// closes the multi-line reply with CRLF . CRLF (adding a CRLF first if the
// content did not end with a line end).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace mailnest {

enum class BareNewline { kReject, kNormalize };

class DataDecoder {
 public:
  DataDecoder(uint64_t max_size, size_t max_line, BareNewline mode = BareNewline::kReject)
      : max_size_(max_size), max_line_(max_line), mode_(mode) {}

  // Consumes bytes from data[0..len) and appends un-stuffed content to *out.
  // Returns how many bytes were consumed: all of them, or fewer when the
  // terminator was found (the rest belongs to the next command).
  size_t Feed(const char* data, size_t len, std::string* out);

  bool done() const { return state_ == State::kDone; }
  // The message must be refused: a bare CR, or a bare LF in reject mode.
  bool bare_newline() const { return bare_newline_; }
  uint64_t bare_lf_lines() const { return bare_lf_lines_; }  // normalized (or refused) LF-only line ends
  bool line_too_long() const { return line_too_long_; }
  bool too_large() const { return too_large_; }
  uint64_t size() const { return size_; }  // content octets seen (un-stuffed, line ends as CR LF)

 private:
  enum class State { kLineStart, kInLine, kSawCR, kDot, kDotCR, kDone };
  void EmitRun(const char* p, size_t n, std::string* out);  // n ordinary bytes, no CR/LF
  // Ends the current line: wire_octets of line end seen (1 for a bare LF,
  // 2 for CR LF); one LF is produced, counted as CR LF in size().
  void EndLine(size_t wire_octets, bool crlf, std::string* out);
  void BareCR();  // a CR not followed by LF: flagged, not produced

  uint64_t max_size_;
  size_t max_line_;
  BareNewline mode_;
  State state_ = State::kLineStart;
  bool prev_crlf_ = true;  // the last line ended in CR LF (DATA's own line counts)
  uint64_t bare_lf_lines_ = 0;
  uint64_t size_ = 0;
  size_t line_len_ = 0;
  bool bare_newline_ = false;
  bool line_too_long_ = false;
  bool too_large_ = false;
};

class DotStuffer {
 public:
  // Appends the stuffed form of data to *out, every line end as CR LF.
  void Feed(const char* data, size_t len, std::string* out);
  // Appends the terminator (CRLF first if the content did not end in a
  // line end).
  void Finish(std::string* out);

 private:
  bool at_line_start_ = true;
  bool last_cr_ = false;  // the previous byte fed was CR
};

}  // namespace mailnest
