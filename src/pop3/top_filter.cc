#include "pop3/top_filter.h"

namespace mailnest {

size_t TopFilter::Accept(const char* data, size_t len) {
  if (done_) return 0;
  for (size_t i = 0; i < len; ++i) {
    char c = data[i];
    if (c != '\n') {
      ++line_len_;
      last_cr_ = (c == '\r');
      continue;
    }
    bool empty = line_len_ == 0 || (line_len_ == 1 && last_cr_);
    line_len_ = 0;
    last_cr_ = false;
    if (in_header_) {
      if (!empty) continue;
      in_header_ = false;  // the blank separator line is always sent
    } else {
      --lines_left_;
    }
    if (lines_left_ == 0) {
      done_ = true;
      return i + 1;
    }
  }
  return len;
}

}  // namespace mailnest
