#include "http/session_recorder.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "http/event_hub.h"
#include "http/session_mask.h"

namespace mailnest {

namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

SessionRecorder::SessionRecorder(const HttpConfig& config, EventHub* hub) : config_(config), hub_(hub) {}

SessionRecorder::~SessionRecorder() = default;

bool SessionRecorder::events() const { return hub_ && hub_->has_subscribers(); }

const char* SessionRecorder::KindName(SessionLine::Kind k) {
  switch (k) {
    case SessionLine::kIn: return "in";
    case SessionLine::kOut: return "out";
    case SessionLine::kState: return "state";
  }
  return "?";
}

SessionRecord* SessionRecorder::Open(std::string_view protocol, std::string_view log_id, std::string_view peer,
                                     std::string_view local, std::string_view state) {
  auto r = std::make_unique<SessionRecord>();
  r->id = next_id_++;
  r->protocol = std::string(protocol);
  r->log_id = std::string(log_id);
  r->peer = std::string(peer);
  r->local = std::string(local);
  r->start_ms = NowMs();
  r->state = std::string(state);
  r->lines.reserve(16);
  SessionRecord* raw = r.get();
  live_.emplace(raw->id, std::move(r));
  if (events()) hub_->Publish("session.open", Summary(*raw).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  return raw;
}

void SessionRecorder::Add(SessionRecord* r, SessionLine::Kind kind, std::string text) {
  int64_t now = NowMs();
  if (events()) {
    // Formatted directly: one event per SMTP or POP3 line while anyone
    // listens, so building a JSON object for each cost more than the rest of
    // the event path. Only the text needs escaping (bytes that are not UTF-8
    // become U+FFFD, as everywhere else).
    std::string quoted = nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (kind == SessionLine::kState) {
      hub_->Publish("session.state", fmt::format(R"({{"session":{},"state":{},"t":{}}})", r->id, quoted, now));
    } else {
      hub_->Publish("session.line",
                    fmt::format(R"({{"dir":"{}","session":{},"t":{},"text":{}}})", KindName(kind), r->id, now, quoted));
    }
  }
  if (r->lines.size() >= config_.session_max_lines) {
    ++r->dropped_lines;
    return;
  }
  r->lines.push_back({now, kind, std::move(text)});
}

bool SessionRecorder::Full(SessionRecord* r, uint64_t lines) {
  if (r->lines.size() < config_.session_max_lines || events()) return false;
  r->dropped_lines += lines;  // nothing to build: a long session costs a count
  return true;
}

void SessionRecorder::Command(SessionRecord* r, std::string_view line) {
  if (Full(r, 1)) return;
  Add(r, SessionLine::kIn, MaskCommand(line));
}

void SessionRecorder::Reply(SessionRecord* r, std::string_view text) {
  if (Full(r, std::count(text.begin(), text.end(), '\n'))) return;
  while (!text.empty()) {
    size_t end = text.find("\r\n");
    std::string_view line = text.substr(0, end);
    Add(r, SessionLine::kOut, TraceSafe(line));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 2);
  }
}

void SessionRecorder::Data(SessionRecord* r, uint64_t octets) {
  if (Full(r, 1)) return;
  Add(r, SessionLine::kIn, fmt::format("<{} octets>", octets));
}

void SessionRecorder::State(SessionRecord* r, std::string_view state) {
  r->state = std::string(state);
  if (Full(r, 1)) return;
  Add(r, SessionLine::kState, std::string(state));
}

void SessionRecorder::Close(SessionRecord* r) {
  auto it = live_.find(r->id);
  if (it == live_.end()) return;
  std::unique_ptr<SessionRecord> rec = std::move(it->second);
  live_.erase(it);
  rec->end_ms = NowMs();
  if (events()) hub_->Publish("session.close", Summary(*rec).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  if (config_.session_ring == 0) return;
  ended_.push_back(std::move(rec));
  while (ended_.size() > config_.session_ring) ended_.pop_front();
}

nlohmann::json SessionRecorder::Summary(const SessionRecord& r) {
  nlohmann::json j = {{"id", r.id},
                      {"protocol", r.protocol},
                      {"log_id", r.log_id},
                      {"peer", r.peer},
                      {"local", r.local},
                      {"start_ms", r.start_ms},
                      {"end_ms", nullptr},
                      {"live", r.end_ms == 0},
                      {"state", r.state},
                      {"lines", r.lines.size() + r.dropped_lines}};
  if (r.end_ms != 0) j["end_ms"] = r.end_ms;
  return j;
}

nlohmann::json SessionRecorder::Transcript(const SessionRecord& r) {
  nlohmann::json j = Summary(r);
  nlohmann::json lines = nlohmann::json::array();
  for (const SessionLine& l : r.lines) {
    if (l.kind == SessionLine::kState) {
      lines.push_back({{"t", l.t_ms}, {"dir", "state"}, {"state", l.text}});
    } else {
      lines.push_back({{"t", l.t_ms}, {"dir", KindName(l.kind)}, {"text", l.text}});
    }
  }
  j["transcript"] = std::move(lines);
  j["dropped_lines"] = r.dropped_lines;
  return j;
}

nlohmann::json SessionRecorder::List(size_t limit) const {
  std::vector<const SessionRecord*> all;
  all.reserve(live_.size() + ended_.size());
  for (const auto& [id, r] : live_) all.push_back(r.get());
  for (const auto& r : ended_) all.push_back(r.get());
  std::sort(all.begin(), all.end(), [](const SessionRecord* a, const SessionRecord* b) { return a->id > b->id; });
  nlohmann::json out = nlohmann::json::array();
  for (size_t i = 0; i < all.size() && i < limit; ++i) out.push_back(Summary(*all[i]));
  return out;
}

const SessionRecord* SessionRecorder::Find(uint64_t id) const {
  if (auto it = live_.find(id); it != live_.end()) return it->second.get();
  for (const auto& r : ended_) {
    if (r->id == id) return r.get();
  }
  return nullptr;
}

}  // namespace mailnest
