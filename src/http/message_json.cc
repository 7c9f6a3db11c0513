#include "http/message_json.h"

#include "http/message_index.h"
#include "http/message_summary.h"

namespace mailnest {

namespace {

nlohmann::json OrNull(const std::string& s) { return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s); }

}  // namespace

nlohmann::json MessageIndexFields(const IndexedMessage& m) {
  return {{"id", m.id()},       {"mailbox", m.mailbox()}, {"size", m.size}, {"time", m.time},
          {"flags", m.flags()}, {"unseen", m.in_new},     {"seq", m.seq}};
}

nlohmann::json MessageListItem(const IndexedMessage& m) {
  nlohmann::json j = MessageIndexFields(m);
  for (const char* k : {"from", "to", "cc", "subject", "date", "message_id", "return_path", "snippet", "attachments"}) {
    j[k] = nullptr;
  }
  const MessageSummary* s = m.summary.get();
  if (!s) return j;
  j["from"] = s->from;
  j["to"] = s->to;
  j["cc"] = s->cc;
  j["subject"] = s->subject;
  j["date"] = OrNull(s->date);
  j["message_id"] = OrNull(s->message_id);
  j["return_path"] = OrNull(s->return_path);
  j["snippet"] = s->snippet;
  j["attachments"] = s->attachments;
  if (s->truncated) j["truncated"] = true;
  if (!s->error.empty()) j["parse_error"] = s->error;
  return j;
}

}  // namespace mailnest
