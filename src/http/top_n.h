// The most frequent keys of an unbounded stream in bounded memory: the
// Space-Saving algorithm (Metwally, Agrawal, El Abbadi, 2005). At most
// `capacity` keys are counted; a new key when full replaces the one with
// the smallest count and inherits that count as its possible overcount
// (`error`). Every key whose true count exceeds total/capacity is kept, and
// count - error <= true count <= count. For GET /api/v1/stats' top senders
// and recipients. Loop-thread only.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mailnest {

class TopN {
 public:
  struct Entry {
    std::string key;
    uint64_t count = 0;
    uint64_t error = 0;  // count may overstate the truth by this much
  };

  explicit TopN(size_t capacity);

  void Add(std::string_view key, uint64_t n = 1);
  // The n largest counts, largest first (ties: key order).
  std::vector<Entry> Top(size_t n) const;
  size_t tracked() const { return by_key_.size(); }
  uint64_t total() const { return total_; }

 private:
  struct Slot {
    uint64_t count = 0;
    uint64_t error = 0;
  };
  size_t capacity_;
  uint64_t total_ = 0;
  std::unordered_map<std::string, Slot> by_key_;
  std::set<std::pair<uint64_t, std::string>> by_count_;  // (count, key), smallest first
};

}  // namespace mailnest
