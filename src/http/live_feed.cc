#include "http/live_feed.h"

#include <nlohmann/json.hpp>

#include "http/event_hub.h"
#include "http/index_watcher.h"
#include "http/message_index.h"
#include "http/message_json.h"

namespace mailnest {

// Flags come from file names other programs may have made: bytes that are
// not UTF-8 become U+FFFD instead of making dump() throw.
std::string MessageSummaryJson(const IndexedMessage& m) {
  return MessageIndexFields(m).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

LiveFeed::LiveFeed(MessageIndex* index, IndexWatcher* watcher, EventHub* hub, std::function<void()> on_changed)
    : index_(index), watcher_(watcher), hub_(hub), on_changed_(std::move(on_changed)) {
  index_->set_on_remove([this](const IndexedMessage& m) {
    if (!ready_) return;
    nlohmann::json j = {{"id", m.id()}, {"mailbox", m.mailbox()}, {"seq", m.seq}};
    hub_->Publish("message.deleted", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  });
}

void LiveFeed::OnDelivered(const DeliveredMessage& m) {
  if (!m.file_name.empty()) {
    bool added = false;
    for (const std::string& box : m.mailboxes) {
      // Known already: inotify was quicker and its event is used up.
      if (!index_->Upsert(box, true, m.file_name)) continue;
      added = true;
      watcher_->Expect(box, m.file_name);
    }
    if (added) OnIndexChanged();
  }
  if (on_delivered_) on_delivered_(m);
}

void LiveFeed::OnIndexChanged() {
  AnnounceNew();
  if (on_changed_) on_changed_();
}

void LiveFeed::OnReady() {
  ready_ = true;
  announced_seq_ = index_->last_seq();
}

void LiveFeed::AnnounceNew() {
  if (!ready_) return;
  while (const IndexedMessage* m = index_->FirstAfter("", announced_seq_)) {
    announced_seq_ = m->seq;
    hub_->Publish("message.new", MessageSummaryJson(*m));
  }
}

}  // namespace mailnest
