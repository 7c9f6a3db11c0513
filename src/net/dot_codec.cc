#include "net/dot_codec.h"

namespace mailnest {

void DataDecoder::EmitRun(const char* p, size_t n, std::string* out) {
  // Emit() for n ordinary in-line bytes at once.
  size_ += n;
  line_len_ += n;
  if (line_len_ > max_line_) line_too_long_ = true;
  if (too_large_) return;
  if (size_ > max_size_) {
    too_large_ = true;
    n -= static_cast<size_t>(size_ - max_size_);  // store up to the limit, as Emit() would
  }
  out->append(p, n);
}

void DataDecoder::Emit(char c, std::string* out) {
  ++size_;
  ++line_len_;
  if (line_len_ > max_line_) line_too_long_ = true;
  if (size_ > max_size_) {
    too_large_ = true;
    return;  // keep counting, stop storing: memory stays bounded
  }
  out->push_back(c);
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
        } else {
          if (c == '\n') bare_newline_ = true;  // only CRLF ends a line
          Emit(c, out);
          state_ = State::kInLine;
        }
        break;
      case State::kSawCR:
        if (c == '\n') {
          Emit('\r', out);
          Emit('\n', out);
          state_ = State::kLineStart;
        } else {
          bare_newline_ = true;  // CR not followed by LF
          Emit('\r', out);
          --i;  // judge c again as an ordinary in-line byte
          state_ = State::kInLine;
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
          state_ = State::kDone;  // CRLF . CRLF: the one real end of data
        } else {
          bare_newline_ = true;  // ".\r" + not LF: a smuggling attempt
          Emit('\r', out);
          --i;
          state_ = State::kInLine;
        }
        break;
      case State::kDone:
        break;
    }
  }
  return i;
}

void DotStuffer::Feed(const char* data, size_t len, std::string* out) {
  out->reserve(out->size() + len + 16);
  size_t run = 0;  // start of the not yet copied run
  for (size_t i = 0; i < len; ++i) {
    char c = data[i];
    if (at_line_start_ && c == '.') {
      out->append(data + run, i - run);
      out->push_back('.');
      run = i;
    }
    at_line_start_ = (c == '\n');
  }
  out->append(data + run, len - run);
}

void DotStuffer::Finish(std::string* out) {
  if (!at_line_start_) out->append("\r\n");
  out->append(".\r\n");
  at_line_start_ = true;
}

}  // namespace mailnest
