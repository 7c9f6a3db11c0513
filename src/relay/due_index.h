// The scheduler's order (docs/RELAY.md "Scheduler"): queued messages by
// their earliest next try, ties in arrival order, so a timer pass takes only
// what is due from the front instead of walking the whole queue. O(log n)
// per change; an item knows its own key (fields `due` and `seq`), so it is
// removed without a search. Header-only and pure (unit-tested with a plain
// struct).
#pragma once

#include <climits>
#include <cstdint>
#include <optional>
#include <set>
#include <tuple>

namespace mailnest {

template <typename T>  // T has int64_t due (kNotIndexed when out) and uint64_t seq
class DueIndex {
 public:
  static constexpr int64_t kNotIndexed = INT64_MIN;

  // (Re)places item at `due`.
  void Put(T* item, int64_t due) {
    Remove(item);
    item->due = due;
    set_.emplace(due, item->seq, item);
  }
  void Remove(T* item) {
    if (item->due == kNotIndexed) return;
    set_.erase({item->due, item->seq, item});
    item->due = kNotIndexed;
  }
  // The first item due at or before now, taken out; nullptr when none.
  T* PopDue(int64_t now) {
    if (set_.empty() || std::get<0>(*set_.begin()) > now) return nullptr;
    T* item = std::get<2>(*set_.begin());
    set_.erase(set_.begin());
    item->due = kNotIndexed;
    return item;
  }
  // Visits items due at or before now, soonest first, at most max of them,
  // until fn returns false. fn must not change the index.
  template <typename Fn>
  void ForEachDue(int64_t now, size_t max, Fn fn) const {
    for (auto it = set_.begin(); it != set_.end() && max-- > 0 && std::get<0>(*it) <= now; ++it) {
      if (!fn(std::get<2>(*it))) return;
    }
  }
  // When the first item is due (nullopt: empty).
  std::optional<int64_t> NextDue() const {
    if (set_.empty()) return std::nullopt;
    return std::get<0>(*set_.begin());
  }
  size_t size() const { return set_.size(); }

 private:
  std::set<std::tuple<int64_t, uint64_t, T*>> set_;
};

}  // namespace mailnest
