#include "net/dot_codec.h"

#include <cstring>

namespace mailnest {

void DataDecoder::EmitRun(const char* p, size_t n, std::string* out) {
  size_ += n;
  line_len_ += n;
  if (line_len_ > max_line_) line_too_long_ = true;
  if (too_large_) return;  // keep counting, stop storing: memory stays bounded
  if (size_ > max_size_) {
    too_large_ = true;
    n -= static_cast<size_t>(size_ - max_size_);  // store up to the limit
  }
  out->append(p, n);
}

void DataDecoder::EndLine(size_t wire_octets, bool crlf, std::string* out) {
  line_len_ += wire_octets;
  if (line_len_ > max_line_) line_too_long_ = true;
  size_ += 2;  // sent as CR LF by POP3, whatever arrived
  if (!too_large_) {
    if (size_ > max_size_) {
      too_large_ = true;
    } else {
      out->push_back('\n');
    }
  }
  if (!crlf) {
    ++bare_lf_lines_;
    if (mode_ == BareNewline::kReject) bare_newline_ = true;
  }
  prev_crlf_ = crlf;
  state_ = State::kLineStart;
}

void DataDecoder::BareCR() {
  bare_newline_ = true;  // in both modes: no stored message holds a bare CR
  ++line_len_;           // it was on the wire
  if (line_len_ > max_line_) line_too_long_ = true;
  state_ = State::kInLine;
}

size_t DataDecoder::Feed(const char* data, size_t len, std::string* out) {
  size_t i = 0;
  while (i < len && state_ != State::kDone) {
    if (state_ == State::kInLine) {
      // Fast path: the bytes up to the next CR or LF are content as they are.
      size_t j = i;
      while (j < len && data[j] != '\r' && data[j] != '\n') ++j;
      if (j > i) {
        EmitRun(data + i, j - i, out);
        i = j;
        continue;
      }
    }
    char c = data[i++];
    switch (state_) {
      case State::kLineStart:
        line_len_ = 0;
        if (c == '.') {
          state_ = State::kDot;
          ++line_len_;  // the stuffed dot counts towards the line on the wire
          break;
        }
        [[fallthrough]];
      case State::kInLine:
        if (c == '\r') {
          state_ = State::kSawCR;
        } else if (c == '\n') {
          EndLine(1, false, out);  // a bare LF: normalized, or flagged in reject mode
        } else {
          EmitRun(&c, 1, out);
          state_ = State::kInLine;
        }
        break;
      case State::kSawCR:
        if (c == '\n') {
          EndLine(2, true, out);
        } else {
          BareCR();
          --i;  // judge c again as an ordinary in-line byte
        }
        break;
      case State::kDot:
        if (c == '\r') {
          state_ = State::kDotCR;
        } else {
          // "..x" → ".x", ".x" → "x": the leading dot is always removed.
          --i;
          state_ = State::kInLine;
        }
        break;
      case State::kDotCR:
        if (c == '\n') {
          if (prev_crlf_) {
            state_ = State::kDone;  // CRLF . CRLF: the one real end of data
          } else {
            EndLine(2, true, out);  // "\n.\r\n": an empty line, never the end
          }
        } else {
          BareCR();  // ".\r" + not LF: a smuggling attempt
          --i;
        }
        break;
      case State::kDone:
        break;
    }
  }
  return i;
}

void DotStuffer::Feed(const char* data, size_t len, std::string* out) {
  if (len == 0) return;
  out->reserve(out->size() + len + 64);
  const char* const end = data + len;
  const char* run = data;  // start of the not yet copied run
  if (at_line_start_ && *data == '.') out->push_back('.');
  const char* p = data;
  for (;;) {
    const char* lf = static_cast<const char*>(std::memchr(p, '\n', static_cast<size_t>(end - p)));
    if (!lf) break;
    bool cr_before = lf > data ? lf[-1] == '\r' : last_cr_;
    if (!cr_before) {  // an LF line end (the Maildir convention): send CR LF
      out->append(run, static_cast<size_t>(lf - run));
      out->push_back('\r');
      run = lf;
    }
    p = lf + 1;
    if (p == end) break;
    if (*p == '.') {
      out->append(run, static_cast<size_t>(p - run));
      out->push_back('.');
      run = p;
    }
  }
  out->append(run, static_cast<size_t>(end - run));
  at_line_start_ = end[-1] == '\n';
  last_cr_ = end[-1] == '\r';
}

void DotStuffer::Finish(std::string* out) {
  if (!at_line_start_) out->append("\r\n");
  out->append(".\r\n");
  at_line_start_ = true;
  last_cr_ = false;
}

}  // namespace mailnest
