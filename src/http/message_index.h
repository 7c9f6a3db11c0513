// What the HTTP API knows about the messages under mail_root, from Maildir
// file names alone (store/maildir_name.h): no message file is read to
// build it. Loop-thread only; http/index_watcher.h keeps it current.
//
// A message is identified by (mailbox, unique part): the name part that
// stays the same when it moves from new/ to cur/ or gains flags. Its id is
// a hash of that pair: opaque, stable across restarts, and only ever used
// to look an entry up here (never joined into a path).
// seq numbers entries in the order this process first saw them: the
// cursor of GET /api/v1/wait.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace mailnest {

struct MessageSummary;  // http/message_summary.h

// One message, kept small: 100,000 of them must fit the index's memory
// budget (docs/PERFORMANCE.md), so the id is a number, the mailbox name is
// shared with its Box, and the unique part and flags are views into the
// file name.
struct IndexedMessage {
  uint64_t key = 0;       // the id as a number (MessageIndex::MakeId)
  const std::string* box = nullptr;  // the mailbox name, owned by the index
  std::string file_name;  // its current name in new/ or cur/
  uint32_t unique_len = 0;  // file_name's first unique_len octets: the unique part
  bool in_new = true;     // in new/: not yet seen by any reader
  uint64_t size = 0;      // W= (what POP3 counts), else S=, else 0 (unknown)
  int64_t time = 0;       // the name's leading seconds (delivery time), else 0
  uint64_t seq = 0;

  std::string id() const;  // 16 lowercase hex digits
  const std::string& mailbox() const { return *box; }
  // The Maildir unique part (POP3's UIDL) and the flags after ":2,".
  std::string_view unique() const { return std::string_view(file_name).substr(0, unique_len); }
  std::string_view flags() const {
    return file_name.size() > unique_len + 3 ? std::string_view(file_name).substr(unique_len + 3) : std::string_view();
  }
  // The header summary once parsed (off the loop, on first need); a cache
  // the loop thread fills, so const entries may gain it. Freed with the entry.
  mutable std::shared_ptr<const MessageSummary> summary;
};

struct MailboxSummary {
  std::string name;
  uint64_t messages = 0;
  uint64_t octets = 0;
  uint64_t unseen = 0;  // in new/
};

// A position in the newest-first order (time, seq), exclusive.
struct ListCursor {
  int64_t time = 0;
  uint64_t seq = 0;
  std::string Encode() const;                  // "<time>.<seq>"
  static bool Decode(std::string_view text, ListCursor* out);
};

class MessageIndex {
 public:
  // The id a message in `mailbox` with this unique part has.
  static std::string MakeId(std::string_view mailbox, std::string_view unique);
  static bool LooksLikeId(std::string_view text);  // 16 lowercase hex digits

  // A file named file_name exists in mailbox's new/ (in_new) or cur/.
  // Adds the message or moves it there. Returns true if it was not known.
  // Names that are not messages (store/maildir_name.h) are ignored.
  bool Upsert(const std::string& mailbox, bool in_new, std::string_view file_name);
  // The file mailbox/{new,cur}/file_name is gone: the message is removed
  // if that is where the index has it (a move is an add elsewhere first).
  bool RemoveFile(const std::string& mailbox, bool in_new, std::string_view file_name);
  // A full listing of one subdirectory: adds what is listed, removes what
  // the index has there but the listing lacks, unless it was added after the
  // listing began (seq > listed_at_seq: a delivery the listing, taken on a
  // pool thread, may have missed; its removal would be a false
  // message.deleted and its return a second message.new).
  void ReplaceSubdir(const std::string& mailbox, bool in_new, const std::vector<std::string>& names,
                     uint64_t listed_at_seq = UINT64_MAX);
  // A mailbox directory exists (it is listed even while empty).
  void AddMailbox(const std::string& mailbox);

  const IndexedMessage* Find(std::string_view id) const;
  bool HasMailbox(const std::string& name) const { return boxes_.count(name) != 0; }
  std::vector<MailboxSummary> Mailboxes() const;  // sorted by name

  struct Page {
    std::vector<const IndexedMessage*> items;
    std::optional<ListCursor> next;  // set when more follow
  };
  // Newest first (time, then seq, descending); mailbox "" = every mailbox.
  Page List(const std::string& mailbox, size_t limit, const ListCursor* after) const;
  // The first message (lowest seq) with seq > after_seq; nullptr if none.
  const IndexedMessage* FirstAfter(const std::string& mailbox, uint64_t after_seq) const;

  // Runs for every message RemoveFile (or ReplaceSubdir) takes out, just
  // before it is freed (GET /api/v1/events' message.deleted).
  void set_on_remove(std::function<void(const IndexedMessage&)> cb) { on_remove_ = std::move(cb); }

  uint64_t last_seq() const { return next_seq_ - 1; }
  size_t size() const { return by_key_.size(); }

 private:
  struct Order {
    bool operator()(const IndexedMessage* a, const IndexedMessage* b) const {
      if (a->time != b->time) return a->time > b->time;
      return a->seq > b->seq;
    }
  };
  // Entries in seq order, appended as seen (seq only grows); a removed
  // entry leaves a null until the log is compacted. A 16-octet slot instead
  // of a tree node per message.
  class SeqLog {
   public:
    void Append(const IndexedMessage* m) { slots_.push_back({m->seq, m}); }
    void Remove(uint64_t seq);
    const IndexedMessage* FirstAfter(uint64_t seq) const;
    template <typename Fn>
    void ForEach(Fn fn) const {
      for (const Slot& s : slots_) {
        if (s.m) fn(s.m);
      }
    }

   private:
    struct Slot {
      uint64_t seq;
      const IndexedMessage* m;
    };
    std::vector<Slot> slots_;
    size_t holes_ = 0;
  };
  struct Box {
    MailboxSummary summary;
    std::set<const IndexedMessage*, Order> newest_first;
    SeqLog by_seq;
  };
  Box& BoxOf(const std::string& mailbox);
  void Count(IndexedMessage* m, int sign);

  // Node-based: an entry's address stays valid until it is erased.
  std::unordered_map<uint64_t, IndexedMessage> by_key_;
  std::map<std::string, Box> boxes_;
  SeqLog all_by_seq_;
  uint64_t next_seq_ = 1;
  std::function<void(const IndexedMessage&)> on_remove_;
};

}  // namespace mailnest
