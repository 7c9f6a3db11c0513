#include "http/query_string.h"

#include <fmt/format.h>

namespace mailnest {

namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool Decode(std::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      c = ' ';
    } else if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = HexValue(in[i + 1]), lo = HexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      c = static_cast<char>(hi * 16 + lo);
      i += 2;
    }
    if (c == '\0') return false;
    out->push_back(c);
  }
  return true;
}

}  // namespace

bool ParseQueryString(std::string_view query, std::map<std::string, std::string>* out, std::string* err) {
  out->clear();
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view pair = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
    if (pair.empty()) continue;
    size_t eq = pair.find('=');
    std::string name, value;
    if (!Decode(pair.substr(0, eq), &name)) {
      *err = "query: bad %-escape in a parameter name";
      return false;
    }
    if (!Decode(eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1), &value)) {
      *err = fmt::format("{}: bad %-escape", name);
      return false;
    }
    if (out->size() >= kMaxQueryParams) {
      *err = fmt::format("query: more than {} parameters", kMaxQueryParams);
      return false;
    }
    if (!out->emplace(std::move(name), std::move(value)).second) {
      *err = fmt::format("{}: given more than once", std::string(pair.substr(0, eq)));
      return false;
    }
  }
  return true;
}

bool ParseBoundedUint(std::string_view text, uint64_t min, uint64_t max, uint64_t* out) {
  if (text.empty() || text.size() > 20) return false;
  uint64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (n > (UINT64_MAX - d) / 10) return false;
    n = n * 10 + d;
  }
  if (n < min || n > max) return false;
  *out = n;
  return true;
}

}  // namespace mailnest
