#include "http/basic_auth.h"

#include <algorithm>
#include <cstdint>

namespace mailnest {

namespace {

int Sextet(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

bool HasControl(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) { return static_cast<unsigned char>(c) < 0x20 || c == 0x7f; });
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

}  // namespace

bool DecodeBase64(std::string_view in, std::string* out) {
  out->clear();
  size_t pad = 0;
  while (pad < 2 && !in.empty() && in.back() == '=') {
    in.remove_suffix(1);
    ++pad;
  }
  if (pad > 0 && (in.size() + pad) % 4 != 0) return false;
  if (in.size() % 4 == 1) return false;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v = Sextet(c);
    if (v < 0) return false;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out->push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  // Leftover bits must be zero (a canonical encoding).
  return (acc & ((1u << bits) - 1)) == 0;
}

bool ParseBasicAuth(std::string_view header, std::string* user, std::string* password) {
  size_t sp = header.find(' ');
  if (sp == std::string_view::npos || !EqualsNoCase(header.substr(0, sp), "basic")) return false;
  std::string_view b64 = header.substr(sp + 1);
  while (!b64.empty() && b64.front() == ' ') b64.remove_prefix(1);
  while (!b64.empty() && b64.back() == ' ') b64.remove_suffix(1);
  std::string plain;
  if (b64.empty() || !DecodeBase64(b64, &plain)) return false;
  size_t colon = plain.find(':');
  if (colon == std::string::npos) return false;
  std::string_view u = std::string_view(plain).substr(0, colon), p = std::string_view(plain).substr(colon + 1);
  if (u.empty() || HasControl(u) || HasControl(p)) return false;
  *user = std::string(u);
  *password = std::string(p);
  return true;
}

bool OriginAllowed(const std::vector<std::string>& origins, std::string_view origin) {
  return std::find(origins.begin(), origins.end(), origin) != origins.end();
}

bool IsValidOrigin(std::string_view o) {
  std::string_view rest;
  if (o.substr(0, 7) == "http://") {
    rest = o.substr(7);
  } else if (o.substr(0, 8) == "https://") {
    rest = o.substr(8);
  } else {
    return false;
  }
  if (rest.empty() || rest.size() > 261) return false;
  std::string_view host = rest, port;
  if (rest.front() == '[') {
    size_t close = rest.find(']');
    if (close == std::string_view::npos || close < 3) return false;
    for (char c : rest.substr(1, close - 1)) {
      if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || c == ':' || c == '.')) return false;
    }
    host = rest.substr(0, close + 1);
    rest = rest.substr(close + 1);
    if (!rest.empty() && rest.front() != ':') return false;
    port = rest.empty() ? "" : rest.substr(1);
    if (!rest.empty() && port.empty()) return false;
  } else {
    size_t colon = rest.find(':');
    host = rest.substr(0, colon);
    if (colon != std::string_view::npos) {
      port = rest.substr(colon + 1);
      if (port.empty()) return false;
    }
    if (host.empty()) return false;
    for (char c : host) {
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
    }
  }
  if (port.size() > 5) return false;
  uint32_t n = 0;
  for (char c : port) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint32_t>(c - '0');
  }
  return port.empty() || (n >= 1 && n <= 65535);
}

}  // namespace mailnest
