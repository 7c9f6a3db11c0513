#include "http/session_mask.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>

namespace mailnest {

namespace {

std::string Upper(std::string_view s) {
  std::string out(s.substr(0, 16));
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// The verbs of both protocols (RFC 5321, RFC 1939/2449, and the SASL and
// TLS verbs clients try); the arguments of others are not kept.
bool KnownVerb(std::string_view upper) {
  static constexpr std::array<std::string_view, 24> kVerbs = {
      "APOP", "AUTH", "CAPA", "DATA", "DELE", "EHLO", "EXPN", "HELO", "HELP", "LIST", "MAIL", "NOOP",
      "PASS", "QUIT", "RCPT", "RETR", "RSET", "STAT", "STLS", "STARTTLS", "TOP", "UIDL", "USER", "VRFY",
  };
  return std::find(kVerbs.begin(), kVerbs.end(), upper) != kVerbs.end();
}

}  // namespace

std::string TraceSafe(std::string_view text) {
  bool cut = text.size() > kMaxTraceText;
  if (cut) text = text.substr(0, kMaxTraceText - 3);
  std::string out(text);
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7f) c = '?';
  }
  if (cut) out += "...";
  return out;
}

std::string MaskCommand(std::string_view line) {
  size_t sp = line.find(' ');
  std::string_view verb = line.substr(0, sp);
  std::string_view rest = sp == std::string_view::npos ? std::string_view() : line.substr(sp + 1);
  while (!rest.empty() && rest.front() == ' ') rest.remove_prefix(1);
  std::string upper = Upper(verb);
  if (!KnownVerb(upper)) return fmt::format("<{} octets>", line.size());
  std::string shown_verb = TraceSafe(verb.substr(0, 16));
  if (rest.empty()) return shown_verb;
  if (upper == "PASS") return shown_verb + " ****";
  if (upper == "AUTH" || upper == "APOP") {
    size_t end = rest.find(' ');
    std::string first = TraceSafe(rest.substr(0, std::min<size_t>(end, 64)));
    if (end == std::string_view::npos && upper == "AUTH") return shown_verb + " " + first;
    return shown_verb + " " + first + " ****";
  }
  return TraceSafe(line);
}

}  // namespace mailnest
