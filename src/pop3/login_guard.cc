#include "pop3/login_guard.h"

#include <algorithm>

namespace mailnest {

bool LoginGuard::Begin(const std::string& address) {
  auto now = Clock::now();
  auto it = table_.find(address);
  if (it == table_.end()) {
    if (table_.size() >= kMaxAddresses && !MakeRoom()) return false;
    it = table_.emplace(address, Entry{}).first;
  } else if (it->second.active == 0 && now - it->second.last >= kForgetAfter) {
    it->second.failures = 0;
  }
  if (it->second.active >= max_active_) return false;
  ++it->second.active;
  it->second.last = now;
  return true;
}

uint64_t LoginGuard::Failed(const std::string& address) {
  auto it = table_.find(address);
  if (it == table_.end()) return base_delay_ms_;
  Entry& e = it->second;
  e.last = Clock::now();
  uint32_t factor = 1;
  for (uint32_t i = kFreeFailures; i < e.failures + 1 && factor < kMaxDelayFactor; ++i) factor *= 2;
  ++e.failures;
  return base_delay_ms_ * factor;
}

void LoginGuard::Succeeded(const std::string& address) {
  auto it = table_.find(address);
  if (it != table_.end()) it->second.failures = 0;
}

void LoginGuard::End(const std::string& address) {
  auto it = table_.find(address);
  if (it == table_.end() || it->second.active == 0) return;
  --it->second.active;
  // An address with nothing to remember leaves the table.
  if (it->second.active == 0 && it->second.failures == 0) table_.erase(it);
}

// Drops the idle entry used longest ago. O(n), only when the table is full.
bool LoginGuard::MakeRoom() {
  auto victim = table_.end();
  for (auto it = table_.begin(); it != table_.end(); ++it) {
    if (it->second.active > 0) continue;
    if (victim == table_.end() || it->second.last < victim->second.last) victim = it;
  }
  if (victim == table_.end()) return false;
  table_.erase(victim);
  return true;
}

}  // namespace mailnest
