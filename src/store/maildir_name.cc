#include "store/maildir_name.h"

#include <sys/time.h>
#include <unistd.h>

#include <atomic>

#include <fmt/format.h>

namespace mailnest {

namespace {
std::atomic<uint64_t> g_sequence{0};
}  // namespace

std::string MakeUniqueBase() {
  struct timeval tv;
  ::gettimeofday(&tv, nullptr);
  uint64_t seq = g_sequence.fetch_add(1, std::memory_order_relaxed);
  // mailnest never forks, so the pid is read once (a syscall per message otherwise).
  static const int64_t pid = ::getpid();
  return fmt::format("{}.M{}P{}Q{}", static_cast<int64_t>(tv.tv_sec), static_cast<int64_t>(tv.tv_usec), pid, seq);
}

std::string SanitizeMaildirHost(std::string_view host) {
  std::string out;
  out.reserve(host.size());
  for (char c : host) {
    switch (c) {
      case '/': out += "\\057"; break;
      case ':': out += "\\072"; break;
      case ',': out += "\\054"; break;
      default: out += c;
    }
  }
  return out;
}

std::string MakeMaildirFileName(const std::string& base, std::string_view sanitized_host,
                                uint64_t size, uint64_t wire) {
  return fmt::format("{}.{},S={},W={}", base, sanitized_host, size, wire);
}

namespace {

// ",<tag>=<digits>" in a unique part, ending at ',' or at its end.
std::optional<uint64_t> SizeField(std::string_view unique, std::string_view tag) {
  size_t pos = unique.find(tag);
  if (pos == std::string_view::npos) return std::nullopt;
  size_t i = pos + tag.size();
  uint64_t v = 0;
  bool any = false;
  while (i < unique.size() && unique[i] >= '0' && unique[i] <= '9') {
    uint64_t d = static_cast<uint64_t>(unique[i] - '0');
    if (v > (UINT64_MAX - d) / 10) return std::nullopt;
    v = v * 10 + d;
    any = true;
    ++i;
  }
  if (!any || (i != unique.size() && unique[i] != ',')) return std::nullopt;
  return v;
}

}  // namespace

bool ParseMaildirName(std::string_view name, MaildirNameParts* out) {
  if (name.empty() || name[0] == '.') return false;
  if (name.find('/') != std::string_view::npos || name.find('\0') != std::string_view::npos) {
    return false;
  }
  std::string_view unique = name;
  std::string_view info;
  size_t colon = name.find(":2,");
  if (colon != std::string_view::npos) {
    unique = name.substr(0, colon);
    info = name.substr(colon + 3);
  }
  if (unique.empty()) return false;
  out->unique.assign(unique);
  out->info.assign(info);

  out->size = SizeField(unique, ",S=");
  out->wire = SizeField(unique, ",W=");
  return true;
}

}  // namespace mailnest
