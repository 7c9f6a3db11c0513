#include "http/top_n.h"

#include <algorithm>

namespace mailnest {

TopN::TopN(size_t capacity) : capacity_(std::max<size_t>(1, capacity)) {}

void TopN::Add(std::string_view key, uint64_t n) {
  total_ += n;
  std::string k(key);
  auto it = by_key_.find(k);
  if (it != by_key_.end()) {
    by_count_.erase({it->second.count, k});
    it->second.count += n;
    by_count_.emplace(it->second.count, std::move(k));
    return;
  }
  Slot slot{n, 0};
  if (by_key_.size() >= capacity_) {
    auto smallest = by_count_.begin();
    slot.error = smallest->first;
    slot.count += smallest->first;
    by_key_.erase(smallest->second);
    by_count_.erase(smallest);
  }
  by_count_.emplace(slot.count, k);
  by_key_.emplace(std::move(k), slot);
}

std::vector<TopN::Entry> TopN::Top(size_t n) const {
  std::vector<Entry> out;
  for (auto it = by_count_.rbegin(); it != by_count_.rend() && out.size() < n; ++it) {
    out.push_back({it->second, it->first, by_key_.at(it->second).error});
  }
  std::stable_sort(out.begin(), out.end(), [](const Entry& a, const Entry& b) {
    return a.count != b.count ? a.count > b.count : a.key < b.key;
  });
  return out;
}

}  // namespace mailnest
