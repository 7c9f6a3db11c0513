#include "http/message_index.h"

#include <fmt/format.h>

#include <algorithm>
#include <unordered_set>

#include "http/query_string.h"
#include "store/maildir_name.h"

namespace mailnest {

namespace {

int64_t LeadingSeconds(std::string_view name) {
  int64_t t = 0;
  size_t i = 0;
  for (; i < name.size() && i < 18 && name[i] >= '0' && name[i] <= '9'; ++i) t = t * 10 + (name[i] - '0');
  return i > 0 && i < name.size() && name[i] == '.' ? t : 0;
}

}  // namespace

std::string ListCursor::Encode() const { return fmt::format("{}.{}", time, seq); }

bool ListCursor::Decode(std::string_view text, ListCursor* out) {
  size_t dot = text.find('.');
  if (dot == std::string_view::npos) return false;
  uint64_t t = 0, s = 0;
  if (!ParseBoundedUint(text.substr(0, dot), 0, INT64_MAX, &t) ||
      !ParseBoundedUint(text.substr(dot + 1), 0, UINT64_MAX, &s)) {
    return false;
  }
  out->time = static_cast<int64_t>(t);
  out->seq = s;
  return true;
}

namespace {

uint64_t MakeKey(std::string_view mailbox, std::string_view unique) {
  // FNV-1a, 64 bits: a collision among 100,000 messages has odds ~3e-10,
  // and would only hide one message from the API (Upsert keeps the first).
  uint64_t h = 14695981039346656037ull;
  auto mix = [&h](std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ull;
    }
  };
  mix(mailbox);
  mix(std::string_view("\0", 1));
  mix(unique);
  return h;
}

bool ParseKey(std::string_view id, uint64_t* key) {
  if (!MessageIndex::LooksLikeId(id)) return false;
  uint64_t k = 0;
  for (char c : id) k = k << 4 | static_cast<uint64_t>(c <= '9' ? c - '0' : c - 'a' + 10);
  *key = k;
  return true;
}

}  // namespace

std::string IndexedMessage::id() const { return fmt::format("{:016x}", key); }

std::string MessageIndex::MakeId(std::string_view mailbox, std::string_view unique) {
  return fmt::format("{:016x}", MakeKey(mailbox, unique));
}

bool MessageIndex::LooksLikeId(std::string_view text) {
  if (text.size() != 16) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

void MessageIndex::SeqLog::Remove(uint64_t seq) {
  auto it = std::lower_bound(slots_.begin(), slots_.end(), seq,
                             [](const Slot& s, uint64_t q) { return s.seq < q; });
  if (it == slots_.end() || it->seq != seq || !it->m) return;
  it->m = nullptr;
  // Compact once half the slots are holes: amortised O(1) per removal.
  if (++holes_ * 2 > slots_.size()) {
    std::erase_if(slots_, [](const Slot& s) { return s.m == nullptr; });
    holes_ = 0;
    if (slots_.capacity() > 2 * slots_.size() + 64) slots_.shrink_to_fit();
  }
}

const IndexedMessage* MessageIndex::SeqLog::FirstAfter(uint64_t seq) const {
  auto it = std::upper_bound(slots_.begin(), slots_.end(), seq,
                             [](uint64_t q, const Slot& s) { return q < s.seq; });
  for (; it != slots_.end(); ++it) {
    if (it->m) return it->m;
  }
  return nullptr;
}

MessageIndex::Box& MessageIndex::BoxOf(const std::string& mailbox) {
  auto it = boxes_.find(mailbox);
  if (it == boxes_.end()) {
    it = boxes_.emplace(mailbox, Box{}).first;
    it->second.summary.name = mailbox;
  }
  return it->second;
}

void MessageIndex::AddMailbox(const std::string& mailbox) { BoxOf(mailbox); }

void MessageIndex::Count(IndexedMessage* m, int sign) {
  MailboxSummary& sum = boxes_.find(*m->box)->second.summary;
  if (sign > 0) {
    sum.messages += 1;
    sum.octets += m->size;
    sum.unseen += m->in_new ? 1 : 0;
  } else {
    sum.messages -= 1;
    sum.octets -= m->size;
    sum.unseen -= m->in_new ? 1 : 0;
  }
}

bool MessageIndex::Upsert(const std::string& mailbox, bool in_new, std::string_view file_name) {
  MaildirNameParts parts;
  if (!ParseMaildirName(file_name, &parts)) return false;
  const uint64_t key = MakeKey(mailbox, parts.unique);
  auto it = by_key_.find(key);
  if (it != by_key_.end()) {
    IndexedMessage* m = &it->second;
    if (m->mailbox() != mailbox || m->unique() != parts.unique) return false;  // hash collision: keep the first
    // Moved or re-flagged: the same message, its place in both orders kept.
    Count(m, -1);
    m->in_new = in_new;
    m->file_name.assign(file_name);
    Count(m, +1);
    return false;
  }
  auto b = boxes_.find(mailbox);
  if (b == boxes_.end()) {
    AddMailbox(mailbox);
    b = boxes_.find(mailbox);
  }
  IndexedMessage& m = by_key_[key];
  m.key = key;
  m.box = &b->first;
  m.file_name.assign(file_name);
  m.unique_len = static_cast<uint32_t>(parts.unique.size());
  m.in_new = in_new;
  m.size = parts.wire.value_or(parts.size.value_or(0));
  m.time = LeadingSeconds(file_name);
  m.seq = next_seq_++;
  Count(&m, +1);
  b->second.newest_first.insert(&m);
  b->second.by_seq.Append(&m);
  all_by_seq_.Append(&m);
  return true;
}

bool MessageIndex::RemoveFile(const std::string& mailbox, bool in_new, std::string_view file_name) {
  MaildirNameParts parts;
  if (!ParseMaildirName(file_name, &parts)) return false;
  auto it = by_key_.find(MakeKey(mailbox, parts.unique));
  if (it == by_key_.end()) return false;
  IndexedMessage* m = &it->second;
  if (m->mailbox() != mailbox || m->in_new != in_new || m->file_name != file_name) return false;
  Box& b = boxes_.find(mailbox)->second;
  Count(m, -1);
  b.newest_first.erase(m);
  b.by_seq.Remove(m->seq);
  all_by_seq_.Remove(m->seq);
  if (on_remove_) on_remove_(*m);
  by_key_.erase(it);
  return true;
}

void MessageIndex::ReplaceSubdir(const std::string& mailbox, bool in_new, const std::vector<std::string>& names,
                                 uint64_t listed_at_seq) {
  Box& b = BoxOf(mailbox);
  if (b.summary.messages > 0) {
    std::unordered_set<std::string_view> listed(names.begin(), names.end());
    std::vector<std::string> gone;  // files the listing lacks
    b.by_seq.ForEach([&](const IndexedMessage* m) {
      if (m->in_new == in_new && m->seq <= listed_at_seq && !listed.count(m->file_name)) gone.push_back(m->file_name);
    });
    for (const auto& file : gone) RemoveFile(mailbox, in_new, file);
  }
  for (const auto& n : names) Upsert(mailbox, in_new, n);
}

const IndexedMessage* MessageIndex::Find(std::string_view id) const {
  uint64_t key = 0;
  if (!ParseKey(id, &key)) return nullptr;
  auto it = by_key_.find(key);
  return it == by_key_.end() ? nullptr : &it->second;
}

std::vector<MailboxSummary> MessageIndex::Mailboxes() const {
  std::vector<MailboxSummary> out;
  out.reserve(boxes_.size());
  for (const auto& [name, b] : boxes_) out.push_back(b.summary);
  return out;
}

MessageIndex::Page MessageIndex::List(const std::string& mailbox, size_t limit, const ListCursor* after) const {
  Page page;
  IndexedMessage probe;
  if (after) {
    probe.time = after->time;
    probe.seq = after->seq;
  }
  // Every mailbox's newest-first set, merged: one tree node per message
  // instead of two (a global order besides the per-mailbox ones).
  using Iter = std::set<const IndexedMessage*, Order>::const_iterator;
  struct Head {
    Iter it, end;
  };
  std::vector<Head> heads;
  for (const auto& [name, b] : boxes_) {
    if (!mailbox.empty() && name != mailbox) continue;
    Iter it = after ? b.newest_first.upper_bound(&probe) : b.newest_first.begin();
    if (it != b.newest_first.end()) heads.push_back({it, b.newest_first.end()});
  }
  auto older = [](const Head& a, const Head& b) { return Order()(*b.it, *a.it); };  // heap top: newest
  std::make_heap(heads.begin(), heads.end(), older);
  while (!heads.empty() && page.items.size() < limit) {
    std::pop_heap(heads.begin(), heads.end(), older);
    Head& h = heads.back();
    page.items.push_back(*h.it);
    if (++h.it == h.end) {
      heads.pop_back();
    } else {
      std::push_heap(heads.begin(), heads.end(), older);
    }
  }
  if (!heads.empty() && !page.items.empty()) {
    page.next = ListCursor{page.items.back()->time, page.items.back()->seq};
  }
  return page;
}

const IndexedMessage* MessageIndex::FirstAfter(const std::string& mailbox, uint64_t after_seq) const {
  if (mailbox.empty()) return all_by_seq_.FirstAfter(after_seq);
  auto b = boxes_.find(mailbox);
  return b == boxes_.end() ? nullptr : b->second.by_seq.FirstAfter(after_seq);
}

}  // namespace mailnest
