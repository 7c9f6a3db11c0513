#include "smtp/smtp_address.h"

#include <arpa/inet.h>

#include <cstring>
#include <limits>

namespace mailnest {

namespace {

constexpr size_t kMaxLocalPart = 64;
constexpr size_t kMaxDomain = 255;
constexpr size_t kMaxPath = 256;  // including "<" and ">"
constexpr size_t kMaxLabel = 63;

bool IsAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLetDig(char c) { return IsAlpha(c) || IsDigit(c); }

// RFC 5322 atext.
bool IsAtext(char c) {
  if (IsLetDig(c)) return true;
  return c != '\0' && std::strchr("!#$%&'*+-/=?^_`{|}~", c) != nullptr;
}

// qtextSMTP = %d32-33 / %d35-91 / %d93-126
bool IsQtext(char c) { return c >= 32 && c <= 126 && c != '"' && c != '\\'; }

char Upper(char c) { return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c; }

bool StartsWithNoCase(std::string_view s, std::string_view prefix) {
  if (s.size() < prefix.size()) return false;
  for (size_t i = 0; i < prefix.size(); ++i) {
    if (Upper(s[i]) != Upper(prefix[i])) return false;
  }
  return true;
}

bool EqualsNoCase(std::string_view a, std::string_view b) {
  return a.size() == b.size() && StartsWithNoCase(a, b);
}

bool IsValidDomainName(std::string_view s) {
  if (s.empty() || s.size() > kMaxDomain) return false;
  size_t start = 0;
  for (;;) {
    size_t dot = s.find('.', start);
    std::string_view label = s.substr(start, dot == std::string_view::npos ? std::string_view::npos : dot - start);
    if (label.empty() || label.size() > kMaxLabel) return false;
    if (!IsLetDig(label.front()) || !IsLetDig(label.back())) return false;
    for (char c : label) {
      if (!IsLetDig(c) && c != '-') return false;
    }
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

// Snum = 1*3DIGIT with value 0..255, four of them joined by ".".
bool IsIpv4Literal(std::string_view s) {
  int parts = 0;
  size_t i = 0;
  while (i <= s.size()) {
    size_t digits = 0;
    int value = 0;
    while (i < s.size() && IsDigit(s[i]) && digits < 4) {
      value = value * 10 + (s[i] - '0');
      ++i;
      ++digits;
    }
    if (digits == 0 || digits > 3 || value > 255) return false;
    ++parts;
    if (i == s.size()) break;
    if (s[i] != '.' || parts == 4) return false;
    ++i;
  }
  return parts == 4;
}

bool IsAddressLiteral(std::string_view s) {
  if (s.size() < 3 || s.front() != '[' || s.back() != ']') return false;
  std::string_view in = s.substr(1, s.size() - 2);
  if (StartsWithNoCase(in, "IPv6:")) {
    std::string v6(in.substr(5));
    unsigned char buf[16];
    return !v6.empty() && v6.size() < 64 && inet_pton(AF_INET6, v6.c_str(), buf) == 1;
  }
  if (IsIpv4Literal(in)) return true;
  // General-address-literal = Standardized-tag ":" 1*dcontent
  size_t colon = in.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == in.size()) return false;
  std::string_view tag = in.substr(0, colon);
  if (!IsLetDig(tag.front()) || !IsLetDig(tag.back())) return false;
  for (char c : tag) {
    if (!IsLetDig(c) && c != '-') return false;
  }
  for (char c : in.substr(colon + 1)) {
    // dcontent = %d33-90 / %d94-126
    if (!(c >= 33 && c <= 126) || c == '[' || c == '\\' || c == ']') return false;
  }
  return true;
}

// Finds the ">" that closes the path starting at s[0] == '<', skipping
// quoted strings (a quoted local part may contain ">"). npos if none.
size_t FindPathEnd(std::string_view s) {
  bool quoted = false;
  for (size_t i = 1; i < s.size(); ++i) {
    char c = s[i];
    if (quoted) {
      if (c == '\\') {
        ++i;  // quoted-pair: the next octet is literal
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == '>') {
      return i;
    }
  }
  return std::string_view::npos;
}

// A-d-l = At-domain *( "," At-domain ), At-domain = "@" Domain
bool IsValidSourceRoute(std::string_view s) {
  size_t start = 0;
  for (;;) {
    size_t comma = s.find(',', start);
    std::string_view hop = s.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    if (hop.size() < 2 || hop[0] != '@' || !IsValidDomainName(hop.substr(1))) return false;
    if (comma == std::string_view::npos) return true;
    start = comma + 1;
  }
}

// Parses "Local-part@Domain" (the whole of s). On success fills *out.
SmtpArgError ParseMailbox(std::string_view s, SmtpMailbox* out) {
  std::string local;
  size_t i = 0;
  if (!s.empty() && s[0] == '"') {
    // Quoted-string = DQUOTE *QcontentSMTP DQUOTE
    i = 1;
    bool closed = false;
    while (i < s.size()) {
      char c = s[i];
      if (c == '"') {
        closed = true;
        ++i;
        break;
      }
      if (c == '\\') {
        // quoted-pairSMTP = %d92 %d32-126
        if (i + 1 >= s.size() || s[i + 1] < 32 || s[i + 1] > 126) return SmtpArgError::kBadAddress;
        local.push_back(s[i + 1]);
        i += 2;
        continue;
      }
      if (!IsQtext(c)) return SmtpArgError::kBadAddress;
      local.push_back(c);
      ++i;
    }
    if (!closed) return SmtpArgError::kBadAddress;
  } else {
    while (i < s.size() && s[i] != '@') {
      char c = s[i];
      if (!IsAtext(c) && c != '.') return SmtpArgError::kBadAddress;
      local.push_back(c);
      ++i;
    }
    if (local.empty()) return SmtpArgError::kBadAddress;
  }
  if (i >= s.size() || s[i] != '@') return SmtpArgError::kBadAddress;
  size_t local_wire = i;
  std::string_view domain = s.substr(i + 1);
  if (local_wire > kMaxLocalPart || domain.size() > kMaxDomain) return SmtpArgError::kPathTooLong;
  if (!IsValidSmtpDomain(domain)) return SmtpArgError::kBadAddress;
  out->local = std::move(local);
  out->domain = std::string(domain);
  out->text = std::string(s);
  return SmtpArgError::kOk;
}

struct PathResult {
  SmtpArgError error = SmtpArgError::kOk;
  bool null = false;
  bool postmaster = false;
  SmtpMailbox mailbox;
  std::string_view rest;  // what follows the ">"
};

// Everything between "<" and ">" (or the whole bare address): "" (the null
// path), "Postmaster", an optional source route, then a Mailbox.
void ParsePathBody(std::string_view inner, bool allow_null, bool allow_postmaster, PathResult* r) {
  if (inner.empty()) {
    if (allow_null) {
      r->null = true;
    } else {
      r->error = SmtpArgError::kBadAddress;
    }
    return;
  }
  if (allow_postmaster && EqualsNoCase(inner, "postmaster")) {
    r->postmaster = true;
    r->mailbox.local = "postmaster";
    r->mailbox.text = std::string(inner);
    return;
  }
  if (inner.front() == '@') {
    size_t colon = inner.find(':');
    if (colon == std::string_view::npos || !IsValidSourceRoute(inner.substr(0, colon))) {
      r->error = SmtpArgError::kBadAddress;
      return;
    }
    inner.remove_prefix(colon + 1);  // RFC 5321 §4.1.2: MUST accept, SHOULD ignore
  }
  r->error = ParseMailbox(inner, &r->mailbox);
}

// Length of a bare (unbracketed) address at the start of s: up to the
// first space outside a quoted string.
size_t BareAddressEnd(std::string_view s) {
  bool quoted = false;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (quoted) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        quoted = false;
      }
    } else if (c == '"') {
      quoted = true;
    } else if (c == ' ') {
      return i;
    }
  }
  return s.size();
}

// s starts right after "FROM:" / "TO:".
PathResult ParsePath(std::string_view s, bool allow_null, bool allow_postmaster, SmtpEnvelopeSyntax syntax) {
  PathResult r;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  if (!s.empty() && s.front() != '<' && syntax == SmtpEnvelopeSyntax::kLenient) {
    // "MAIL FROM: a@b" as hand-typed: the same Mailbox grammar, only the
    // brackets are implied. The null path still needs "<>".
    size_t end = BareAddressEnd(s);
    if (end + 2 > kMaxPath) {
      r.error = SmtpArgError::kPathTooLong;
      return r;
    }
    r.rest = s.substr(end);
    ParsePathBody(s.substr(0, end), /*allow_null=*/false, allow_postmaster, &r);
    return r;
  }
  if (s.empty() || s.front() != '<') {
    r.error = SmtpArgError::kSyntax;
    return r;
  }
  size_t end = FindPathEnd(s);
  if (end == std::string_view::npos) {
    r.error = s.size() > kMaxPath ? SmtpArgError::kPathTooLong : SmtpArgError::kBadAddress;
    return r;
  }
  if (end + 1 > kMaxPath) {
    r.error = SmtpArgError::kPathTooLong;
    return r;
  }
  r.rest = s.substr(end + 1);
  ParsePathBody(s.substr(1, end - 1), allow_null, allow_postmaster, &r);
  return r;
}

// esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-")
bool IsEsmtpKeyword(std::string_view k) {
  if (k.empty() || !IsLetDig(k.front())) return false;
  for (char c : k) {
    if (!IsLetDig(c) && c != '-') return false;
  }
  return true;
}

// esmtp-value = 1*(%d33-60 / %d62-126)
bool IsEsmtpValue(std::string_view v) {
  if (v.empty()) return false;
  for (char c : v) {
    if (c < 33 || c > 126 || c == '=') return false;
  }
  return true;
}

// Calls on_param(keyword, value, has_value) for each SP-separated
// parameter in rest (which must be empty or start with SP). Stops at the
// first error.
template <typename F>
SmtpArgError ForEachParam(std::string_view rest, bool esmtp, F&& on_param) {
  if (rest.empty()) return SmtpArgError::kOk;
  if (rest.front() != ' ') return SmtpArgError::kSyntax;
  while (!rest.empty()) {
    while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
    if (rest.empty()) break;
    size_t sp = rest.find(' ');
    std::string_view param = rest.substr(0, sp);
    rest = sp == std::string_view::npos ? std::string_view() : rest.substr(sp);
    size_t eq = param.find('=');
    std::string_view key = param.substr(0, eq);
    std::string_view value = eq == std::string_view::npos ? std::string_view() : param.substr(eq + 1);
    if (!IsEsmtpKeyword(key) || (eq != std::string_view::npos && !IsEsmtpValue(value))) {
      return SmtpArgError::kBadParameter;
    }
    if (!esmtp) return SmtpArgError::kUnknownParameter;  // nothing was negotiated
    SmtpArgError e = on_param(key, value, eq != std::string_view::npos);
    if (e != SmtpArgError::kOk) return e;
  }
  return SmtpArgError::kOk;
}

// SIZE value = 1*20DIGIT (RFC 1870); larger numbers saturate so that they
// are refused as too big rather than as malformed.
bool ParseSize(std::string_view v, uint64_t* out) {
  if (v.empty() || v.size() > 20) return false;
  uint64_t n = 0;
  for (char c : v) {
    if (!IsDigit(c)) return false;
    uint64_t d = static_cast<uint64_t>(c - '0');
    if (n > (std::numeric_limits<uint64_t>::max() - d) / 10) {
      n = std::numeric_limits<uint64_t>::max();
    } else {
      n = n * 10 + d;
    }
  }
  *out = n;
  return true;
}

}  // namespace

bool IsValidSmtpDomain(std::string_view s) {
  if (s.empty() || s.size() > kMaxDomain) return false;
  if (s.front() == '[') return IsAddressLiteral(s);
  return IsValidDomainName(s);
}

bool IsValidHeloName(std::string_view s) {
  if (s.empty() || s.size() > kMaxDomain) return false;
  for (char c : s) {
    if (c < 33 || c > 126) return false;
  }
  return true;
}

SmtpArgError ParseMailArgs(std::string_view arg, bool esmtp, SmtpEnvelopeSyntax syntax, SmtpMailArgs* out) {
  if (!StartsWithNoCase(arg, "FROM:")) return SmtpArgError::kSyntax;
  PathResult p = ParsePath(arg.substr(5), /*allow_null=*/true, /*allow_postmaster=*/false, syntax);
  if (p.error != SmtpArgError::kOk) return p.error;
  SmtpMailArgs args;
  args.null_sender = p.null;
  args.sender = std::move(p.mailbox);
  SmtpArgError e = ForEachParam(p.rest, esmtp, [&](std::string_view key, std::string_view value, bool has_value) {
    if (EqualsNoCase(key, "SIZE")) {
      uint64_t n = 0;
      if (args.size || !has_value || !ParseSize(value, &n)) return SmtpArgError::kBadParameter;
      args.size = n;
      return SmtpArgError::kOk;
    }
    if (EqualsNoCase(key, "BODY")) {
      if (args.body != SmtpBodyType::kUnspecified || !has_value) return SmtpArgError::kBadParameter;
      if (EqualsNoCase(value, "7BIT")) {
        args.body = SmtpBodyType::k7Bit;
      } else if (EqualsNoCase(value, "8BITMIME")) {
        args.body = SmtpBodyType::k8BitMime;
      } else {
        return SmtpArgError::kBadParameter;
      }
      return SmtpArgError::kOk;
    }
    return SmtpArgError::kUnknownParameter;
  });
  if (e != SmtpArgError::kOk) return e;
  *out = std::move(args);
  return SmtpArgError::kOk;
}

SmtpArgError ParseRcptArgs(std::string_view arg, bool esmtp, SmtpEnvelopeSyntax syntax, SmtpRcptArgs* out) {
  if (!StartsWithNoCase(arg, "TO:")) return SmtpArgError::kSyntax;
  PathResult p = ParsePath(arg.substr(3), /*allow_null=*/false, /*allow_postmaster=*/true, syntax);
  if (p.error != SmtpArgError::kOk) return p.error;
  SmtpArgError e = ForEachParam(p.rest, esmtp, [](std::string_view, std::string_view, bool) {
    return SmtpArgError::kUnknownParameter;  // no RCPT extensions (e.g. DSN) offered
  });
  if (e != SmtpArgError::kOk) return e;
  out->recipient = std::move(p.mailbox);
  out->postmaster = p.postmaster;
  return SmtpArgError::kOk;
}

}  // namespace mailnest
