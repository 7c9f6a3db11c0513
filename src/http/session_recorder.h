// The session recorder behind GET /api/v1/sessions and the session.*
// events: every SMTP and POP3 conversation, live and the last
// http.session_ring ended ones, each with its state transitions and every
// command and reply line, timestamped. Secrets are masked on the way in
// (http/session_mask.h); message bodies appear only as "<N octets>".
//
// Bounds: a session keeps at most http.session_max_lines lines of at most
// kMaxTraceText octets (later ones are counted, not kept); live sessions
// are bounded by the servers' max_connections, ended ones by the ring.
// Events are formatted only while someone subscribes. Loop-thread only.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "base/config.h"
#include "base/live_hooks.h"

namespace mailnest {

class EventHub;

struct SessionLine {
  int64_t t_ms = 0;  // wall clock, Unix milliseconds
  enum Kind : uint8_t { kIn, kOut, kState } kind = kIn;
  std::string text;
};

struct SessionRecord {
  uint64_t id = 0;
  std::string protocol;  // "smtp" | "pop3"
  std::string log_id;    // the id in the server's log lines
  std::string peer, local;
  int64_t start_ms = 0, end_ms = 0;  // end_ms 0 while live
  std::string state;
  std::vector<SessionLine> lines;
  uint64_t dropped_lines = 0;
};

class SessionRecorder : public SessionTracer {
 public:
  // hub may be null (no events).
  SessionRecorder(const HttpConfig& config, EventHub* hub);
  ~SessionRecorder() override;

  SessionRecord* Open(std::string_view protocol, std::string_view log_id, std::string_view peer,
                      std::string_view local, std::string_view state) override;
  void Command(SessionRecord* r, std::string_view line) override;
  void Reply(SessionRecord* r, std::string_view text) override;
  void Data(SessionRecord* r, uint64_t octets) override;
  void State(SessionRecord* r, std::string_view state) override;
  void Close(SessionRecord* r) override;

  // Newest first: every live session, then the ended ones kept.
  nlohmann::json List(size_t limit) const;
  const SessionRecord* Find(uint64_t id) const;
  size_t live() const { return live_.size(); }

  static nlohmann::json Summary(const SessionRecord& r);
  static nlohmann::json Transcript(const SessionRecord& r);
  static const char* KindName(SessionLine::Kind k);

 private:
  void Add(SessionRecord* r, SessionLine::Kind kind, std::string text);
  // Past the line cap with nobody subscribed: counts `lines` as dropped.
  bool Full(SessionRecord* r, uint64_t lines);
  bool events() const;

  const HttpConfig& config_;
  EventHub* hub_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::unique_ptr<SessionRecord>> live_;
  std::deque<std::unique_ptr<SessionRecord>> ended_;  // oldest first
};

}  // namespace mailnest
