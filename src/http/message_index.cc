#include "http/message_index.h"

#include <fmt/format.h>

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

std::string MessageIndex::MakeId(std::string_view mailbox, std::string_view unique) {
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
  return fmt::format("{:016x}", h);
}

bool MessageIndex::LooksLikeId(std::string_view text) {
  if (text.size() != 16) return false;
  for (char c : text) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

void MessageIndex::AddMailbox(const std::string& mailbox) { boxes_[mailbox].summary.name = mailbox; }

void MessageIndex::Link(IndexedMessage* m) {
  Box& b = boxes_[m->mailbox];
  b.summary.name = m->mailbox;
  b.summary.messages += 1;
  b.summary.octets += m->size;
  if (m->in_new) b.summary.unseen += 1;
  b.newest_first.insert(m);
  b.by_seq.emplace(m->seq, m);
  all_newest_first_.insert(m);
  all_by_seq_.emplace(m->seq, m);
}

void MessageIndex::Unlink(IndexedMessage* m) {
  Box& b = boxes_[m->mailbox];
  b.summary.messages -= 1;
  b.summary.octets -= m->size;
  if (m->in_new) b.summary.unseen -= 1;
  b.newest_first.erase(m);
  b.by_seq.erase(m->seq);
  all_newest_first_.erase(m);
  all_by_seq_.erase(m->seq);
}

bool MessageIndex::Upsert(const std::string& mailbox, bool in_new, std::string_view file_name) {
  MaildirNameParts parts;
  if (!ParseMaildirName(file_name, &parts)) return false;
  std::string id = MakeId(mailbox, parts.unique);
  auto it = by_id_.find(id);
  if (it != by_id_.end()) {
    IndexedMessage* m = it->second.get();
    if (m->mailbox != mailbox || m->unique != parts.unique) return false;  // hash collision: keep the first
    Unlink(m);
    m->in_new = in_new;
    m->file_name = std::string(file_name);
    m->flags = parts.info;
    Link(m);
    return false;
  }
  auto m = std::make_unique<IndexedMessage>();
  m->id = id;
  m->mailbox = mailbox;
  m->unique = parts.unique;
  m->file_name = std::string(file_name);
  m->in_new = in_new;
  m->size = parts.wire.value_or(parts.size.value_or(0));
  m->time = LeadingSeconds(file_name);
  m->flags = parts.info;
  m->seq = next_seq_++;
  Link(m.get());
  by_id_.emplace(std::move(id), std::move(m));
  return true;
}

bool MessageIndex::RemoveFile(const std::string& mailbox, bool in_new, std::string_view file_name) {
  MaildirNameParts parts;
  if (!ParseMaildirName(file_name, &parts)) return false;
  auto it = by_id_.find(MakeId(mailbox, parts.unique));
  if (it == by_id_.end()) return false;
  IndexedMessage* m = it->second.get();
  if (m->mailbox != mailbox || m->in_new != in_new || m->file_name != file_name) return false;
  Unlink(m);
  if (on_remove_) on_remove_(*m);
  by_id_.erase(it);
  return true;
}

void MessageIndex::ReplaceSubdir(const std::string& mailbox, bool in_new, const std::vector<std::string>& names) {
  AddMailbox(mailbox);
  std::unordered_set<std::string_view> listed(names.begin(), names.end());
  std::vector<std::pair<std::string, std::string>> gone;  // (mailbox, file) the listing lacks
  for (const auto& [seq, m] : boxes_[mailbox].by_seq) {
    if (m->in_new == in_new && !listed.count(m->file_name)) gone.emplace_back(m->mailbox, m->file_name);
  }
  for (const auto& [box, file] : gone) RemoveFile(box, in_new, file);
  for (const auto& n : names) Upsert(mailbox, in_new, n);
}

const IndexedMessage* MessageIndex::Find(std::string_view id) const {
  auto it = by_id_.find(std::string(id));
  return it == by_id_.end() ? nullptr : it->second.get();
}

std::vector<MailboxSummary> MessageIndex::Mailboxes() const {
  std::vector<MailboxSummary> out;
  out.reserve(boxes_.size());
  for (const auto& [name, b] : boxes_) out.push_back(b.summary);
  return out;
}

MessageIndex::Page MessageIndex::List(const std::string& mailbox, size_t limit, const ListCursor* after) const {
  Page page;
  const std::set<const IndexedMessage*, Order>* order = &all_newest_first_;
  if (!mailbox.empty()) {
    auto b = boxes_.find(mailbox);
    if (b == boxes_.end()) return page;
    order = &b->second.newest_first;
  }
  auto it = order->begin();
  if (after) {
    IndexedMessage probe;
    probe.time = after->time;
    probe.seq = after->seq;
    it = order->upper_bound(&probe);
  }
  for (; it != order->end() && page.items.size() < limit; ++it) page.items.push_back(*it);
  if (it != order->end() && !page.items.empty()) {
    page.next = ListCursor{page.items.back()->time, page.items.back()->seq};
  }
  return page;
}

const IndexedMessage* MessageIndex::FirstAfter(const std::string& mailbox, uint64_t after_seq) const {
  const std::map<uint64_t, const IndexedMessage*>* by_seq = &all_by_seq_;
  if (!mailbox.empty()) {
    auto b = boxes_.find(mailbox);
    if (b == boxes_.end()) return nullptr;
    by_seq = &b->second.by_seq;
  }
  auto it = by_seq->upper_bound(after_seq);
  return it == by_seq->end() ? nullptr : it->second;
}

}  // namespace mailnest
