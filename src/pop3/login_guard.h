// Per-address login limits for POP3 (one table per server, loop thread).
//
// A login is "active" from PASS until its reply (the password check and,
// after a failure, the delay). An address may have max_active at once; a
// PASS beyond that is refused at once with no check. The first
// kFreeFailures failures of an address wait the base delay (a user who
// mistypes is not punished); each further one doubles it (2x, 4x ... up to
// kMaxDelayFactor x base). A success, or kForgetAfter without a login,
// forgets them. The table holds at most kMaxAddresses; when full, the
// address idle longest is dropped (one with active logins never is), and if
// every entry is active the login is refused like one over max_active.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mailnest {

class LoginGuard {
 public:
  static constexpr size_t kMaxAddresses = 10000;
  static constexpr uint32_t kFreeFailures = 3;
  static constexpr uint32_t kMaxDelayFactor = 16;
  static constexpr std::chrono::minutes kForgetAfter{15};

  LoginGuard(uint32_t max_active, uint64_t base_delay_ms) : max_active_(max_active), base_delay_ms_(base_delay_ms) {}

  // false: too many logins from this address right now (nothing counted).
  bool Begin(const std::string& address);
  // The login failed: counts it; returns the delay before its -ERR.
  uint64_t Failed(const std::string& address);
  // The login succeeded: the address's failures are forgotten.
  void Succeeded(const std::string& address);
  // Ends a login started by Begin (after its reply, or when the session is
  // gone).
  void End(const std::string& address);

  size_t size() const { return table_.size(); }

 private:
  using Clock = std::chrono::steady_clock;
  struct Entry {
    uint32_t active = 0;
    uint32_t failures = 0;
    Clock::time_point last;  // last Begin or failure
  };
  bool MakeRoom();

  uint32_t max_active_;
  uint64_t base_delay_ms_;
  std::unordered_map<std::string, Entry> table_;
};

}  // namespace mailnest
