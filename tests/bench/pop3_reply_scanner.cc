#include "pop3_reply_scanner.h"

#include <cstring>

namespace mailnest::bench {
namespace {

// Counts "\r\n.." in [begin, end): each is a body line the server stuffed.
size_t CountStuffed(const char* begin, const char* end) {
  size_t n = 0;
  const char* p = begin;
  while (end - p >= 4) {
    const void* hit = memmem(p, static_cast<size_t>(end - p), "\r\n..", 4);
    if (hit == nullptr) break;
    ++n;
    p = static_cast<const char*>(hit) + 3;
  }
  return n;
}

}  // namespace

size_t ReplyScanner::Scan(const char* data, size_t len, bool multiline, Pop3Reply* out) {
  // Status line first.
  const void* crlf = memmem(data, len, "\r\n", 2);
  if (crlf == nullptr) {
    scanned_ = len;
    return 0;
  }
  size_t status_end = static_cast<size_t>(static_cast<const char*>(crlf) - data);
  *out = Pop3Reply{};
  out->status = std::string_view(data, status_end);
  out->ok = out->status.substr(0, 3) == "+OK";
  if (!multiline || !out->ok) {
    scanned_ = 0;
    return status_end + 2;
  }
  // The terminator "\r\n.\r\n" may start at the status line's own CRLF
  // (empty body), so the search starts there; resume a little before where
  // the last call stopped in case the terminator straddled two reads.
  size_t from = status_end;
  if (scanned_ > from + 4) from = scanned_ - 4;
  const void* term = len > from ? memmem(data + from, len - from, "\r\n.\r\n", 5) : nullptr;
  if (term == nullptr) {
    scanned_ = len;
    return 0;
  }
  size_t t = static_cast<size_t>(static_cast<const char*>(term) - data);
  size_t body_begin = status_end + 2;
  size_t body_end = t + 2;  // keeps the last line's CRLF; == body_begin when empty
  out->body = std::string_view(data + body_begin, body_end - body_begin);
  out->body_octets = out->body.size() - CountStuffed(data + status_end, data + t);
  scanned_ = 0;
  return t + 5;
}

bool ParseListBody(std::string_view body, std::vector<std::pair<uint32_t, uint64_t>>* out) {
  out->clear();
  size_t pos = 0;
  while (pos < body.size()) {
    size_t eol = body.find("\r\n", pos);
    if (eol == std::string_view::npos) return false;
    std::string_view line = body.substr(pos, eol - pos);
    pos = eol + 2;
    uint64_t num = 0, size = 0;
    size_t i = 0;
    if (i >= line.size() || line[i] < '0' || line[i] > '9') return false;
    while (i < line.size() && line[i] >= '0' && line[i] <= '9') num = num * 10 + static_cast<uint64_t>(line[i++] - '0');
    if (i >= line.size() || line[i] != ' ') return false;
    ++i;
    if (i >= line.size() || line[i] < '0' || line[i] > '9') return false;
    while (i < line.size() && line[i] >= '0' && line[i] <= '9') size = size * 10 + static_cast<uint64_t>(line[i++] - '0');
    // RFC 1939 allows more after the size; nothing we send asks for it.
    if (num == 0 || num > UINT32_MAX) return false;
    out->emplace_back(static_cast<uint32_t>(num), size);
  }
  return true;
}

}  // namespace mailnest::bench
