// The size of a Maildir message as POP3 sends it (RFC 1939 counts octets
// as sent, before dot-stuffing): every line end as CR LF, whatever the file
// holds. Files mailnest writes store LF line ends and carry this number in
// their name (",W=", Dovecot's convention); a file without a trustworthy
// W= is counted once, off the loop, and the count remembered.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace mailnest {

// Feed a file's bytes in order; wire() = octets + LFs not preceded by CR
// (exactly what DotStuffer sends before its terminator).
class WireSizeCounter {
 public:
  void Add(std::string_view data);
  uint64_t disk() const { return disk_; }
  uint64_t wire() const { return disk_ + bare_lf_; }

 private:
  uint64_t disk_ = 0;
  uint64_t bare_lf_ = 0;
  bool last_cr_ = false;
};

// The POP3 size of a message whose name carried disk (S=) and wire (W=)
// fields, when they can be trusted without reading the file: both present
// and consistent (S <= W <= 2 S, every extra octet a CR added before a LF).
bool TrustedWireSize(const std::optional<uint64_t>& disk, const std::optional<uint64_t>& wire,
                     uint64_t* out);

// Reads the regular file at path (O_NOFOLLOW) and counts its wire size.
// Blocking: pool threads and the CLI only. Results are remembered
// process-wide by (device, inode, size, mtime), so a maildrop reopened
// later does not read the file again; at most kMaxRememberedWireSizes entries are
// kept (the table is emptied when full). Thread-safe. NotFound when the
// file is gone, IoError otherwise.
Status CountWireSize(const std::string& path, uint64_t* wire);
constexpr size_t kMaxRememberedWireSizes = 100000;

}  // namespace mailnest
