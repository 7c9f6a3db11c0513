#include "net/line_framer.h"

#include <cstring>

namespace mailnest {

void LineFramer::Feed(const char* data, size_t len) {
  if (pos_ > 0 && pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > 4096 && pos_ > buf_.size() / 2) {
    buf_.erase(0, pos_);
    pos_ = 0;
  }
  buf_.append(data, len);
}

bool LineFramer::Next(Event* ev) {
  for (;;) {
    const char* start = buf_.data() + pos_;
    size_t avail = buf_.size() - pos_;
    if (avail == 0) return false;

    if (discarding_) {
      const void* lf = memchr(start, '\n', avail);
      if (!lf) {
        pos_ = buf_.size();
        return false;
      }
      pos_ += static_cast<size_t>(static_cast<const char*>(lf) - start) + 1;
      discarding_ = false;
      continue;
    }

    // Scan for the first CR or LF within the allowed window.
    size_t limit = avail < max_line_ ? avail : max_line_;
    size_t i = 0;
    for (; i < limit; ++i) {
      char c = start[i];
      if (c == '\n') {
        ev->line = std::string_view(start, i);
        if (accept_bare_lf_) {  // normalize: as if it ended in CR LF
          ev->kind = Kind::kLine;
          pos_ += i + 1;
        } else {
          ev->kind = Kind::kBareNewline;  // LF without CR before it
        }
        return true;
      }
      if (c == '\r') break;
    }
    if (i < limit) {  // found CR at i
      if (i + 1 >= avail) return false;  // need the next byte to judge
      if (start[i + 1] != '\n') {
        ev->kind = Kind::kBareNewline;
        ev->line = std::string_view(start, i);
        return true;
      }
      if (i + 2 > max_line_) {
        // CRLF itself crosses the limit: the line is too long.
        pos_ += i + 2;
        ev->kind = Kind::kTooLong;
        ev->line = {};
        return true;
      }
      ev->kind = Kind::kLine;
      ev->line = std::string_view(start, i);
      pos_ += i + 2;
      return true;
    }
    if (avail >= max_line_) {
      // No line end within max_line octets: report once, skip to LF.
      ev->kind = Kind::kTooLong;
      ev->line = {};
      pos_ += limit;
      discarding_ = true;
      return true;
    }
    return false;
  }
}

std::string LineFramer::TakeBuffered() {
  std::string rest = buf_.substr(pos_);
  buf_.clear();
  pos_ = 0;
  return rest;
}

}  // namespace mailnest
